import Synchronization

/// What a hub publishes: a session's `RunProgress` or a sweep's `SweepProgress`. The
/// hub numbers events and marks the watch's snapshot; the terminal one ends the stream.
public protocol HubEvent: Sendable {
    var sequence: UInt64 { get set }
    var kind: RunProgress.Kind { get set }
}

/// One session's (or sweep's) progress, fanned out to any number of watchers. The hub
/// keeps only the latest event; each watcher's stream holds at most one wake-up, so a
/// watcher that does not read costs nothing and never slows the run (latest wins).
public final class ProgressHub<Event: HubEvent>: Sendable {
    struct Subscription: Sendable {
        /// The state when the watch began, as a SNAPSHOT event.
        var snapshot: Event
        /// Wakes the watcher when a newer event exists; ends after the terminal one.
        var wakeups: AsyncStream<Void>
        var id: Int
    }

    private struct State {
        var latest: Event
        var watchers: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextWatcher = 0
        var ended = false
    }

    private let state: Mutex<State>

    private let clock: any ServiceClock

    init(initial: Event, clock: any ServiceClock) {
        state = Mutex(State(latest: initial))
        self.clock = clock
    }

    /// The newest event published.
    public var latest: Event { state.withLock { $0.latest } }

    /// Publishes an update (or, with kind TERMINAL, the last event); the sequence
    /// number is assigned here. Events after the terminal one are dropped.
    func publish(_ event: Event) {
        let targets = state.withLock { s -> [AsyncStream<Void>.Continuation] in
            guard !s.ended else { return [] }
            var e = event
            e.sequence = s.latest.sequence + 1
            s.latest = e
            if e.kind == .terminal { s.ended = true }
            return Array(s.watchers.values)
        }
        let terminal = event.kind == .terminal
        for t in targets {
            t.yield()
            if terminal { t.finish() }
        }
    }

    func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        return state.withLock { s in
            var snapshot = s.latest
            snapshot.kind = .snapshot
            let id = s.nextWatcher
            s.nextWatcher += 1
            if s.ended {
                // The terminal event is already the latest: the snapshot shows that state
                // just before it (sequences keep increasing for this watcher), and the
                // terminal event follows at once.
                snapshot.sequence = s.latest.sequence &- 1
                continuation.yield()
                continuation.finish()
            } else {
                s.watchers[id] = continuation
            }
            return Subscription(snapshot: snapshot, wakeups: stream, id: id)
        }
    }

    func unsubscribe(_ id: Int) {
        let c = state.withLock { $0.watchers.removeValue(forKey: id) }
        c?.finish()
    }

    var watcherCount: Int { state.withLock { $0.watchers.count } }

    /// One watch: the snapshot, then the newest event at most once per `minInterval` (a
    /// slow watcher skips to the latest), then the terminal event, exactly once, however
    /// the watch and the terminal publish interleave (a watch that begins after the end
    /// gets the terminal state as its snapshot and then the terminal event itself).
    nonisolated(nonsending) public func watch(minInterval: Duration, _ emit: (Event) async throws -> Void)
        async throws
    {
        let subscription = subscribe()
        defer { unsubscribe(subscription.id) }
        try await emit(subscription.snapshot)
        var lastSequence = subscription.snapshot.sequence
        var lastSent = clock.now
        for await _ in subscription.wakeups {
            var event = latest
            if event.kind != .terminal {
                let due = lastSent + minInterval
                if clock.now < due {
                    try await clock.sleep(until: due)
                    event = latest
                }
            }
            if event.kind == .terminal {
                try await emit(event)
                return
            }
            guard event.sequence > lastSequence else { continue }
            try await emit(event)
            lastSequence = event.sequence
            lastSent = clock.now
        }
        // The wake-ups end only after the terminal publish (or an unsubscribe at the
        // watch's own end, which returns above).
        let event = latest
        if event.kind == .terminal { try await emit(event) }
    }
}
