import Synchronization

/// The registry's handle on a run: a stop request, checked by the run between slices
/// of work and while it sleeps.
final class RunControl: Sendable {
    private let reason = Mutex<String?>(nil)

    /// Records the reason; the first request wins. Returns whether this call set it.
    @discardableResult
    func requestStop(_ why: String) -> Bool {
        reason.withLock { r in
            guard r == nil else { return false }
            r = why
            return true
        }
    }

    var stopReason: String? { reason.withLock { $0 } }
}
