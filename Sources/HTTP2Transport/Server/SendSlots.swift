import Synchronization

/// The server's producers: how many handlers may build a reserved message at once,
/// over every connection. Building one (reading a store, encoding thousands of
/// rows) is CPU work on the shared pool; without a bound, a hundred bulk readers
/// queue so much of it that a small call from another client waits seconds for a
/// thread.
///
/// Connections take slots on their own queues without waiting (`tryAcquire`); one
/// that finds none is called back when a slot comes free, and tries again then.
final class SendSlots: Sendable {
    private struct State {
        var available: Int
        /// Connections to call back when a slot comes free, in the order they asked.
        var waiting: [(ObjectIdentifier, @Sendable () -> Void)] = []
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(available: max(1, count)))
    }

    /// Takes a slot if one is free; otherwise `onFree` is called (once, on any
    /// thread) when one comes free, and then the caller asks again.
    func tryAcquire(for owner: ObjectIdentifier, onFree: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { s in
            if s.available > 0 {
                s.available -= 1
                return true
            }
            if !s.waiting.contains(where: { $0.0 == owner }) { s.waiting.append((owner, onFree)) }
            return false
        }
    }

    /// Gives a slot back and calls back everyone waiting: each tries again, and those
    /// that find none again ask again (a waiter that left would otherwise keep the
    /// slot from the others).
    func release() {
        let callbacks = state.withLock { s in
            s.available += 1
            defer { s.waiting.removeAll() }
            return s.waiting.map(\.1)
        }
        for callback in callbacks { callback() }
    }

    /// Slots free now (for tests and metrics).
    var available: Int { state.withLock { $0.available } }
}
