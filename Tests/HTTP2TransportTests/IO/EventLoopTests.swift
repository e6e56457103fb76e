import Synchronization
import Testing

@testable import HTTP2Transport

#if canImport(Glibc)
    import Glibc
#endif

/// The transport's event loops: work handed over from any thread, timers, and
/// descriptors whose numbers are reused.
@Suite struct EventLoopTests {
    /// Work from many threads runs on the loop's thread, each sender's in its order.
    @Test func workFromManyThreadsRunsOnTheLoopInOrder() async {
        let loop = EventLoop.next()
        let seen = Shared<[Int: [Int]]>([:])
        let offLoop = Shared(0)
        let senders = 4
        let perSender = 2_000
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    for i in 0..<perSender {
                        loop.execute {
                            if !loop.inLoop { offLoop.withLock { $0 += 1 } }
                            seen.withLock { $0[sender, default: []].append(i) }
                        }
                    }
                }
            }
        }
        await withCheckedContinuation { c in loop.execute { c.resume() } }
        #expect(offLoop.withLock { $0 } == 0)
        for sender in 0..<senders {
            #expect(seen.withLock { $0[sender] } == Array(0..<perSender))
        }
    }

    /// Timers fire in the order of their deadlines, whatever the order they were set
    /// in, and a cancelled one never fires.
    @Test func timersFireByDeadlineAndCancelledOnesDoNot() async {
        let loop = EventLoop.next()
        let fired = Shared<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.schedule(after: .milliseconds(30)) {
                    fired.withLock { $0.append("c") }
                    done.resume()
                }
                loop.schedule(after: .milliseconds(10)) { fired.withLock { $0.append("a") } }
                let cancelled = loop.schedule(after: .milliseconds(15)) { fired.withLock { $0.append("x") } }
                loop.schedule(after: .milliseconds(20)) { fired.withLock { $0.append("b") } }
                loop.cancelTimer(cancelled)
            }
        }
        #expect(fired.withLock { $0 } == ["a", "b", "c"])
    }

    /// Two descriptors ready in the same `epoll_wait`: the first handler called closes
    /// the other and a new socket takes its number. The event already read for the
    /// old socket must not reach the new one's handler.
    @Test func anEventForAClosedDescriptorDoesNotReachTheNextUserOfItsNumber() async throws {
        let loop = EventLoop.next()
        // Other tests open descriptors meanwhile and may take the number first: tried
        // until the number is reused (nearly always at once).
        var reused = false
        for _ in 0..<50 where !reused {
            let outcome = await withCheckedContinuation { (c: CheckedContinuation<Recorder.Outcome, Never>) in
                loop.execute { Recorder(loop: loop, done: c).start() }
            }
            reused = outcome.reusedNumber
            #expect(outcome.staleCalls == 0, "readable() called on the new socket for the old one's event")
        }
        #expect(reused, "the new socket took the closed one's number")
    }

    /// A value several closures share (a Mutex cannot be captured: it is not copyable).
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    }

    /// Registers two ready socket pairs; whichever handler runs first swaps the other
    /// for a fresh socket of the same number and reports once the batch is done.
    final class Recorder: @unchecked Sendable {
        struct Outcome {
            var reusedNumber = false
            var staleCalls = 0
        }

        final class Handler: EventLoopHandler, @unchecked Sendable {
            let onReadable: () -> Void
            init(_ onReadable: @escaping () -> Void) { self.onReadable = onReadable }
            func readable() { onReadable() }
            func writable() {}
        }

        let loop: EventLoop
        let done: CheckedContinuation<Outcome, Never>
        var pairs: [[Int32]] = []
        var handlers: [Handler] = []
        var swapped = false
        var outcome = Outcome()
        var fresh: [Int32] = []

        init(loop: EventLoop, done: CheckedContinuation<Outcome, Never>) {
            self.loop = loop
            self.done = done
        }

        func start() {
            for index in 0..<2 {
                var fds: [Int32] = [-1, -1]
                let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                precondition(socketpair(AF_UNIX, type, 0, &fds) == 0)
                var byte: UInt8 = 1
                _ = write(fds[1], &byte, 1)
                pairs.append(fds)
                handlers.append(Handler { [self] in self.first(index) })
            }
            // Both ready before the loop next waits: one batch reports both.
            for index in 0..<2 { loop.register(pairs[index][0], handlers[index]) }
        }

        func first(_ index: Int) {
            guard !swapped else { return }
            swapped = true
            let other = pairs[1 - index]
            loop.deregister(other[0])
            close(other[0])
            var fds: [Int32] = [-1, -1]
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            precondition(socketpair(AF_UNIX, type, 0, &fds) == 0)
            fresh = fds
            outcome.reusedNumber = fds[0] == other[0]
            let stale = Handler { [self] in self.outcome.staleCalls += 1 }
            handlers.append(stale)
            loop.register(fds[0], stale)
            // Work runs after the whole batch of events is handled.
            loop.execute { [self] in finish(closing: index) }
        }

        func finish(closing index: Int) {
            loop.deregister(pairs[index][0])
            loop.deregister(fresh[0])
            for fd in [pairs[index][0], pairs[index][1], pairs[1 - index][1], fresh[0], fresh[1]] { close(fd) }
            handlers.removeAll()  // they hold this recorder (alive while the loop works)
            done.resume(returning: outcome)
        }
    }
}
