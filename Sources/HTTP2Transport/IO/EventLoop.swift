import CLinux
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Something a loop tells when its descriptor is ready. Called on the loop's thread.
protocol EventLoopHandler: AnyObject, Sendable {
    /// Input, end of input or an error is waiting (a read says which).
    func readable()
    /// The socket takes output again (only while `setWritable(true)`).
    func writable()
}

/// One epoll loop on a thread of its own: the descriptors registered with it, work
/// handed to it from any thread (`execute`), and timers. Everything a connection owns
/// runs here, so a connection needs no lock and the process has one I/O thread per
/// core whatever the number of connections.
///
/// Why not Dispatch's read and write sources: under connection churn (thousands of
/// connections opened and reset by the peer) they lost the reset of some sockets,
/// whose descriptors then stayed open for good, and crashed in
/// `_dispatch_event_loop_drain` (a use-after-free in libdispatch's epoll backend).
/// Here a descriptor is removed from epoll before it is closed, on the thread that
/// reads epoll's events, and an event for an earlier user of the same number is
/// recognised by its generation and dropped.
final class EventLoop: @unchecked Sendable {
    typealias TimerID = Int

    /// The process's loops, one per core, started on first use.
    static let all: [EventLoop] = (0..<max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))).map {
        EventLoop(name: "h2-loop-\($0)")
    }

    private static let nextIndex = Atomic<Int>(0)

    /// The loop for a new connection: round-robin over `all`.
    static func next() -> EventLoop {
        all[nextIndex.add(1, ordering: .relaxed).oldValue % all.count]
    }

    private struct Inbox {
        var work: [@Sendable () -> Void] = []
        /// The loop is in (or about to enter) a blocking `epoll_wait`: new work must wake it.
        var sleeping = false
    }

    private struct Registration {
        var generation: UInt32
        var handler: any EventLoopHandler
        var writable: Bool
        var readable = true
    }

    private struct Timer {
        var deadline: UInt64
        var id: TimerID
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Mutex(Inbox())
    private var thread = pthread_t()
    private let name: String

    // Loop-thread state.
    private var running: [@Sendable () -> Void] = []
    private var registrations: [Int32: Registration] = [:]
    private var generation: UInt32 = 0
    /// A min-heap by deadline; cancelled timers stay until they reach the top.
    private var heap: [Timer] = []
    private var timers: [TimerID: () -> Void] = [:]
    private var nextTimer = 0
    private var events = [epoll_event](repeating: epoll_event(), count: 256)

    private init(name: String) {
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "cannot create an event loop: \(String(cString: strerror(errno)))")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt32.max)
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let unmanaged = Unmanaged.passRetained(self)
        let created = pthread_create(
            &thread, nil,
            { argument in
                let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
                loop.run()
                return nil
            }, unmanaged.toOpaque())
        precondition(created == 0, "cannot start an event loop thread: \(String(cString: strerror(created)))")
    }

    /// True on the loop's own thread.
    var inLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Runs `work` on the loop, after the work handed to it before. Any thread.
    func execute(_ work: @escaping @Sendable () -> Void) {
        let wake = inbox.withLock { inbox in
            inbox.work.append(work)
            defer { inbox.sleeping = false }
            return inbox.sleeping
        }
        if wake {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    // MARK: Descriptors (on the loop's thread)

    /// Watches `fd` for input (and, with `setWritable`, for room to write).
    func register(_ fd: Int32, _ handler: any EventLoopHandler) {
        generation &+= 1
        if generation == UInt32.max { generation = 1 }  // UInt32.max marks the wake descriptor
        registrations[fd] = Registration(generation: generation, handler: handler, writable: false)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 {
            // Cannot watch it (out of memory): the handler reads once, sees nothing
            // usable and closes; never a connection nobody watches.
            registrations[fd] = nil
            execute { [handler] in handler.readable() }
        }
    }

    /// Asks for (or stops asking for) `writable` calls.
    func setWritable(_ fd: Int32, _ on: Bool) {
        guard var registration = registrations[fd], registration.writable != on else { return }
        registration.writable = on
        registrations[fd] = registration
        setInterest(fd, registration)
    }

    /// Stops and resumes input events (a listener pausing `accept`, a connection whose
    /// reader is behind). A hang-up, the peer's close or an error is still reported, as
    /// `readable`.
    func setReadable(_ fd: Int32, _ on: Bool) {
        guard var registration = registrations[fd], registration.readable != on else { return }
        registration.readable = on
        registrations[fd] = registration
        setInterest(fd, registration)
    }

    private func setInterest(_ fd: Int32, _ registration: Registration) {
        var event = epoll_event()
        // EPOLLRDHUP even with input off: a peer that closes while its connection is not
        // being read (its reader is behind) is still noticed, as `readable`.
        event.events =
            (registration.readable ? EPOLLIN.rawValue : 0) | (registration.writable ? EPOLLOUT.rawValue : 0)
            | EPOLLRDHUP.rawValue
        event.data.u64 = UInt64(registration.generation) << 32 | UInt64(UInt32(bitPattern: fd))
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd`; call before closing it, so that its number can be reused.
    func deregister(_ fd: Int32) {
        guard registrations.removeValue(forKey: fd) != nil else { return }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    // MARK: Timers (on the loop's thread)

    /// Runs `work` after `delay`, unless cancelled first.
    @discardableResult
    func schedule(after delay: Duration, _ work: @escaping () -> Void) -> TimerID {
        let id = nextTimer
        nextTimer += 1
        timers[id] = work
        push(Timer(deadline: Self.now() &+ Self.nanoseconds(delay), id: id))
        // Cancelled timers wait in the heap until their deadline; rebuilt when they
        // outnumber the live ones (many connections closing long before their keepalive).
        if heap.count > 64 && heap.count > 2 * timers.count {
            heap = heap.filter { timers[$0.id] != nil }
            heap.sort { $0.deadline < $1.deadline }  // a sorted array is a valid heap
        }
        return id
    }

    func cancelTimer(_ id: TimerID) {
        timers[id] = nil
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        guard s >= 0 else { return 0 }
        let (total, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : min(UInt64.max / 2, total + UInt64(atto / 1_000_000_000))
    }

    private func push(_ timer: Timer) {
        heap.append(timer)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].deadline < heap[parent].deadline else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < heap.count && heap[l].deadline < heap[smallest].deadline { smallest = l }
            if r < heap.count && heap[r].deadline < heap[smallest].deadline { smallest = r }
            guard smallest != i else { break }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }

    /// Fires due timers; returns the milliseconds until the next (-1: none).
    private func fireTimers() -> Int32 {
        var now = Self.now()
        while let top = heap.first {
            guard timers[top.id] != nil else {
                popTop()
                continue
            }
            if top.deadline > now {
                let ms = (top.deadline - now + 999_999) / 1_000_000
                return Int32(clamping: ms)
            }
            popTop()
            if let work = timers.removeValue(forKey: top.id) { work() }
            now = Self.now()
        }
        return -1
    }

    // MARK: The loop

    private func run() {
        name.withCString { backtest_set_thread_name($0) }
        while true {
            let timeout = fireTimers()
            let idle = inbox.withLock { inbox in
                if inbox.work.isEmpty { inbox.sleeping = true }
                return inbox.sleeping
            }
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), idle ? timeout : 0)
            }
            if idle { inbox.withLock { $0.sleeping = false } }
            if count > 0 {
                for i in 0..<Int(count) { dispatch(events[i]) }
            }
            runWork()
        }
    }

    private func dispatch(_ event: epoll_event) {
        let data = event.data.u64
        let tag = UInt32(truncatingIfNeeded: data >> 32)
        if data == UInt64(UInt32.max) {
            var value: UInt64 = 0
            _ = Glibc.read(wakeFD, &value, 8)
            return
        }
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
        // An event for a descriptor closed earlier in this batch (whose number a new
        // registration may already hold) is dropped.
        guard let registration = registrations[fd], registration.generation == tag else { return }
        let flags = event.events
        if flags & (EPOLLOUT.rawValue | EPOLLERR.rawValue) != 0 && registration.writable {
            registration.handler.writable()
        }
        if flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0 {
            // The writable call may have closed and deregistered it.
            guard let current = registrations[fd], current.generation == tag else { return }
            current.handler.readable()
        }
    }

    private func runWork() {
        inbox.withLock { swap(&$0.work, &running) }
        guard !running.isEmpty else { return }
        for work in running { work() }
        running.removeAll(keepingCapacity: running.count <= 1024)
    }
}
