import BacktestEngine
import BacktestStore
import TestSupport
import Testing

@testable import BacktestCore

/// A store that becomes unreachable mid-run: the session fails with the reason and is
/// never reported complete.
@Suite struct StoreFailureTests {
    @Test func aStoreLostMidRunFailsTheSessionWithTheReason() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(
            clock: clock, limits: .init(maxRunning: 1, maxQueued: 4, storeRetryBudget: .milliseconds(300)),
            store: { FaultyStore($0) })
        defer { fixture.remove() }
        let store = try #require(fixture.registry.store as? FaultyStore)
        let registry = fixture.registry
        let id = try await registry.start(CoreFixture.goog(seconds: 4)).sessionId
        _ = try await registry.waitFor(id, [.running])
        // A quarter of the run, then the store goes away, then the rest is due.
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(1))
        while clock.sleeperCount == 0 { await Task.yield() }
        store.breakNow()
        clock.advance(by: .seconds(10))

        let events = try await registry.events(id, minInterval: .zero)
        let terminal = try #require(events.last)
        #expect(terminal.kind == .terminal)
        #expect(terminal.state == .failed)
        #expect(terminal.errorMessage.contains("unavailable"), "\(terminal.errorMessage)")
        // The store never saw it completed: it still says running, and the next
        // start-up marks it failed as interrupted.
        let stored = try await fixture.store.session(id: id)
        #expect(stored?.state == .running)
        let memory = try await registry.record(id)
        #expect(memory?.state == .failed)
        let recovered = try await EngineRegistry(store: fixture.store).recoverInterrupted()
        #expect(recovered == 1)
        #expect(try await fixture.store.session(id: id)?.errorMessage == EngineRegistry.interruptedMessage)
    }
}
