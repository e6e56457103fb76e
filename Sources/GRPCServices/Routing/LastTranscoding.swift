import Synchronization

/// A method's last response converted to JSON, kept for the next identical one: a
/// progress event goes to every watcher of a session as the same bytes, and a hundred
/// dashboards would otherwise convert it a hundred times (the most expensive part of
/// a JSON watch). Only small messages are kept; a result stream's batches are
/// converted each time.
final class LastTranscoding: Sendable {
    private let last = Mutex<(input: [UInt8], output: [UInt8])?>(nil)

    /// Messages larger than this are not kept (nor compared).
    static let maxBytes = 16 << 10

    func output(for input: [UInt8]) -> [UInt8]? {
        guard input.count <= Self.maxBytes else { return nil }
        return last.withLock { entry in
            guard let entry, entry.input == input else { return nil }
            return entry.output
        }
    }

    func remember(_ input: [UInt8], _ output: [UInt8]) {
        guard input.count <= Self.maxBytes else { return }
        last.withLock { $0 = (input, output) }
    }
}
