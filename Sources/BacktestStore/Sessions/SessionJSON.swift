import BacktestEngine
import Foundation

/// JSON text for the parts of a session record kept as documents: statistics (NaN and
/// infinities as strings, so undefined values round-trip) and labels.
enum SessionJSON {
    static func encode(_ statistics: BacktestStatistics) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return String(decoding: try encoder.encode(statistics), as: UTF8.self)
        } catch {
            throw StoreError.invalid("statistics cannot be encoded: \(error)")
        }
    }

    static func decodeStatistics(_ text: String) throws(StoreError) -> BacktestStatistics {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try decoder.decode(BacktestStatistics.self, from: Data(text.utf8))
        } catch {
            throw StoreError.failed("stored statistics cannot be decoded: \(error)")
        }
    }

    static func encode(_ labels: [String: String]) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(labels), as: UTF8.self)
        } catch {
            throw StoreError.invalid("labels cannot be encoded: \(error)")
        }
    }

    static func decodeLabels(_ text: String) throws(StoreError) -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.failed("stored labels cannot be decoded: \(error)")
        }
    }
}
