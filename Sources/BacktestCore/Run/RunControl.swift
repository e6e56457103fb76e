import BacktestStore
import Synchronization

/// The registry's handle on a run: a stop request, checked by the run between slices
/// of work, and one that ends its sleeps at once.
final class RunControl: Sendable {
    private struct State {
        var reason: String?
        var abandonedAs: SessionRecord?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// Records the reason and wakes a sleeping run; the first request wins. Returns
    /// whether this call set it.
    @discardableResult
    func requestStop(_ why: String) -> Bool {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
            guard s.reason == nil else { return nil }
            s.reason = why
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        guard let woken else { return false }
        for w in woken { w.resume() }
        return true
    }

    var stopReason: String? { state.withLock { $0.reason } }

    /// Set when another node ended the session while this one ran it (it took this node
    /// for lost): the run stops, stores nothing more, and ends as `record` says.
    var abandonedAs: SessionRecord? { state.withLock { $0.abandonedAs } }

    func abandon(endedAs record: SessionRecord) {
        state.withLock { $0.abandonedAs = record }
        requestStop(record.errorMessage.isEmpty ? "ended by another node" : record.errorMessage)
    }

    /// Sleeps on `clock` until `deadline` or until a stop is requested, whichever
    /// comes first.
    func sleep(until deadline: Duration, on clock: any ServiceClock) async throws {
        guard stopReason == nil else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: deadline) }
            group.addTask { await self.waitForStop() }
            try await group.next()
            group.cancelAll()
        }
    }

    private func waitForStop() async {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.reason != nil || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}
