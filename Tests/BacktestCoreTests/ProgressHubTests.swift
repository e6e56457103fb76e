import Testing

@testable import BacktestCore

@Suite struct ProgressHubTests {
    func event(_ pct: Double, _ kind: RunProgress.Kind = .update) -> RunProgress {
        var e = RunProgress(sessionId: "s", kind: kind, state: kind == .terminal ? .completed : .running)
        e.progressPct = pct
        return e
    }

    @Test func sequencesIncreaseAndASlowWatcherSeesOnlyTheLatest() async {
        let hub = ProgressHub(initial: event(0), clock: VirtualClock())
        let sub = hub.subscribe()
        #expect(sub.snapshot.kind == .snapshot)
        for i in 1...1000 { hub.publish(event(Double(i) / 100)) }
        #expect(hub.latest.sequence == 1000)
        var it = sub.wakeups.makeAsyncIterator()
        #expect(await it.next() != nil)
        #expect(hub.latest.progressPct == 10)
        hub.publish(event(100, .terminal))
        hub.publish(event(50))
        #expect(hub.latest.kind == .terminal, "nothing after the terminal event")
        #expect(await it.next() != nil)
        #expect(await it.next() == nil, "the stream ends after the terminal event")
    }

    @Test func subscribingAfterTheEndDeliversTheTerminalAtOnce() async {
        let hub = ProgressHub(initial: event(0), clock: VirtualClock())
        hub.publish(event(100, .terminal))
        let sub = hub.subscribe()
        var it = sub.wakeups.makeAsyncIterator()
        #expect(await it.next() != nil)
        #expect(await it.next() == nil)
        #expect(hub.watcherCount == 0)
    }

    /// Every watch ends with exactly one TERMINAL event, whether it begins before, during
    /// or after the terminal publish (issue 16: 1.5% of fast watches ended without one).
    @Test func everyWatchGetsExactlyOneTerminalEvent() async throws {
        for round in 0..<400 {
            let hub = ProgressHub(initial: event(0), clock: VirtualClock())
            for pct in stride(from: 10.0, through: 50, by: 10) { hub.publish(event(pct)) }
            let watcher = Task {
                var seen: [RunProgress] = []
                try await hub.watch(minInterval: .zero) { seen.append($0) }
                return seen
            }
            // The terminal publish lands anywhere around the watcher's subscribe.
            if round % 3 == 1 { await Task.yield() }
            if round % 3 == 2 { try await Task.sleep(for: .microseconds(round % 50)) }
            hub.publish(event(100, .terminal))
            let seen = try await watcher.value
            #expect(seen.first?.kind == .snapshot, "round \(round)")
            #expect(
                seen.filter { $0.kind == .terminal }.count == 1 && seen.last?.kind == .terminal,
                "round \(round): \(seen.map(\.kind))")
            #expect(
                zip(seen, seen.dropFirst()).allSatisfy { $0.sequence < $1.sequence },
                "round \(round): \(seen.map(\.sequence))")
        }
        // And a watch that begins well after the end.
        let ended = ProgressHub(initial: event(0), clock: VirtualClock())
        ended.publish(event(100, .terminal))
        var seen: [RunProgress] = []
        try await ended.watch(minInterval: .seconds(1)) { seen.append($0) }
        #expect(seen.map(\.kind) == [.snapshot, .terminal])
        #expect(seen[0].sequence < seen[1].sequence)
    }
}
