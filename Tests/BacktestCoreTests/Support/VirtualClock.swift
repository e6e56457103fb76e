import BacktestCore
import Synchronization

/// Time that passes only when someone sleeps: a sleep moves the clock to its deadline
/// at once. Runs paced by it take no wall time, and what they compute from time
/// (progress intervals, rates, ETAs, timestamps) is exact.
final class VirtualClock: ServiceClock {
    private let current = Mutex<Duration>(.zero)
    /// The wall clock at virtual time zero, in microseconds.
    let wallOrigin: Int64

    init(wallOrigin: Int64 = 1_750_000_000_000_000) {
        self.wallOrigin = wallOrigin
    }

    var now: Duration { current.withLock { $0 } }

    func sleep(until deadline: Duration) async throws {
        try Task.checkCancellation()
        current.withLock { $0 = max($0, deadline) }
        // Others run between sleeps, as they would while time passes.
        await Task.yield()
    }

    var wallMicros: Int64 { wallOrigin + now.microseconds }
}

/// Time that passes only when the test says: sleepers wait for `advance`. For
/// sessions that must stay running until the test is done with them.
final class ManualClock: ServiceClock {
    private struct State {
        var now = Duration.zero
        var sleepers: [Int: (deadline: Duration, wake: CheckedContinuation<Void, any Error>)] = [:]
        var next = 0
    }

    private let state = Mutex(State())
    let wallOrigin: Int64 = 1_750_000_000_000_000

    var now: Duration { state.withLock { $0.now } }
    var wallMicros: Int64 { wallOrigin + now.microseconds }
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Duration) async throws {
        let id = state.withLock { s in
            defer { s.next += 1 }
            return s.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { s -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.now >= deadline { return .success(()) }
                    s.sleepers[id] = (deadline, c)
                    return nil
                }
                if let outcome { c.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.wake.resume(throwing: CancellationError())
        }
    }

    func advance(by d: Duration) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now += d
            let ready = s.sleepers.filter { $0.value.deadline <= s.now }
            for id in ready.keys { s.sleepers[id] = nil }
            return ready.values.map(\.wake)
        }
        for c in due { c.resume() }
    }
}

extension Duration {
    var microseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000 + a / 1_000_000_000_000
    }
}
