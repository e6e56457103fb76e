import BacktestProto
@testable import BacktestService
import Testing

@Suite struct ProgressHubTests {
    func event(_ pct: Double, _ kind: ProgressEventKind = .update) -> ProgressEvent {
        var e = ProgressEvent()
        e.kind = kind
        e.progressPct = pct
        return e
    }

    @Test func sequencesIncreaseAndASlowWatcherSeesOnlyTheLatest() async {
        let hub = ProgressHub(initial: event(0))
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
        let hub = ProgressHub(initial: event(0))
        hub.publish(event(100, .terminal))
        let sub = hub.subscribe()
        var it = sub.wakeups.makeAsyncIterator()
        #expect(await it.next() != nil)
        #expect(await it.next() == nil)
        #expect(hub.watcherCount == 0)
    }
}
