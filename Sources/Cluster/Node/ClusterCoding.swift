import BacktestCore
import Foundation

/// What nodes say to each other through the broker, as JSON. Statistics hold NaN and
/// infinities (a win rate of no trades, a profit factor of no losses), which plain JSON
/// has no numbers for: they go as strings.
enum ClusterCoding {
    /// A StopBacktest relayed to the node that runs the session, or a StopSweep to the
    /// node that coordinates the sweep (then `sweep` is set and `session` empty).
    struct StopRequest: Codable {
        var session: String
        var reason: String
        var sweep: String?
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Every value here is made by this service and encodes.
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(type, from: Data(bytes))
    }
}
