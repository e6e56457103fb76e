import Foundation
import Synchronization

/// A loop on a thread of its own, for the broker work that blocks (hiredis waits) or
/// must not wait for Swift's task pool: it runs while `isRunning`; `stop` ends it and
/// waits until the loop has returned.
final class BrokerThread: @unchecked Sendable {
    private let name: String
    private let running = Mutex(true)
    private let done = DispatchSemaphore(value: 0)
    // Set once, by `start`, before the thread runs.
    private var thread: Thread?

    init(name: String) {
        self.name = name
    }

    var isRunning: Bool { running.withLock { $0 } }

    /// Runs `loop` on the thread; `loop` returns once `isRunning` is false.
    func start(_ loop: @escaping @Sendable () -> Void) {
        let thread = Thread { [done] in
            loop()
            done.signal()
        }
        thread.name = name
        self.thread = thread
        thread.start()
    }

    /// Ends the loop (within one of its waits) and waits for it; again: at once.
    func stop() {
        let wasRunning = running.withLock { r in
            defer { r = false }
            return r
        }
        if wasRunning, thread != nil { done.wait() }
    }
}
