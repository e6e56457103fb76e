import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import BacktestCore

/// Deleting sessions through the registry: ended ones go with everything stored for
/// them; live ones are refused; deletion never races a run, a watcher or a save.
@Suite struct EngineRegistryDeleteTests {
    @Test func anEndedSessionGoesWithEverythingStoredForIt() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let registry = fixture.registry
        let gone = try await registry.start(CoreFixture.goog(labels: ["desk": "a"])).sessionId
        let kept = try await registry.start(CoreFixture.goog(capital: 20_000, labels: ["desk": "a"])).sessionId
        for id in [gone, kept] { _ = try await registry.waitFor(id, [.completed]) }

        let record = try await registry.delete(gone)
        #expect(record.id == gone && record.state == .completed && record.statistics != nil)
        #expect(try await registry.record(gone) == nil)
        #expect(try await fixture.store.session(id: gone) == nil)
        #expect(try await allRows(try await fixture.store.trades(sessionId: gone, batchSize: 100)).isEmpty)
        await #expect(throws: ServiceError.self) { _ = try await registry.trades(gone, batchSize: 100) }
        await #expect(throws: ServiceError.self) {
            _ = try await registry.equity(gone, range: TimeRange(start: .min, end: .max), batchSize: 100)
        }
        await #expect(throws: ServiceError.self) { try await registry.watch(gone, minInterval: .zero) { _ in } }
        var byLabel = SessionQuery()
        byLabel.labels = ["desk": "a"]
        #expect(try await registry.listSessions(byLabel).sessions.map(\.id) == [kept])

        // Again: NOT_FOUND, naming the field.
        let again = await Self.deleteError(registry, gone)
        #expect(again?.kind == .notFound && again?.field == "session_id", "\(String(describing: again))")
        #expect(try await registry.record(kept)?.state == .completed)
        #expect(try await allRows(try await registry.trades(kept, batchSize: 100)).isEmpty == false)
    }

    @Test func liveSessionsAreRefusedUntilStopped() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock, limits: .init(maxRunning: 1, maxQueued: 4))
        defer { fixture.remove() }
        let registry = fixture.registry
        let running = try await registry.start(CoreFixture.goog(seconds: 3600)).sessionId
        _ = try await registry.waitFor(running, [.running])
        let refused = await Self.deleteError(registry, running)
        #expect(refused?.kind == .failedPrecondition && refused?.field == "session_id")
        #expect(refused?.reason.contains("running") == true, "\(String(describing: refused))")
        #expect(try await registry.record(running)?.state == .running)

        _ = try await registry.stop(running, reason: "")
        #expect(try await registry.delete(running).state == .stopped)
        #expect(try await registry.record(running) == nil)
    }

    @Test func aWaitingSessionIsRefusedToo() async throws {
        let fixture = try await CoreFixture(
            clock: VirtualClock(), limits: .init(maxRunning: 1, maxQueued: 4), store: { FaultyStore($0) })
        defer { fixture.remove() }
        let store = try #require(fixture.registry.store as? FaultyStore)
        store.holdReads()
        let registry = fixture.registry
        let first = try await registry.start(CoreFixture.goog()).sessionId
        let waiting = try await registry.start(CoreFixture.goog(capital: 5_000)).sessionId
        _ = try await registry.waitFor(first, [.running])
        let refused = await Self.deleteError(registry, waiting)
        #expect(refused?.kind == .failedPrecondition && refused?.field == "session_id")
        #expect(refused?.reason.contains("started") == true, "\(String(describing: refused))")
        store.releaseReads()
        for id in [first, waiting] { _ = try await registry.waitFor(id, [.completed]) }
        #expect(try await registry.deleteEnded([first, waiting]) == [first, waiting])
    }

    /// A watcher that saw the terminal event deletes at once: the registry may not have
    /// taken the session back from its run yet, and the delete waits for that instead
    /// of refusing it.
    @Test func deletingRightAfterTheTerminalEventSucceeds() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock(), limits: .init(maxRunning: 4, maxQueued: 16))
        defer { fixture.remove() }
        let registry = fixture.registry
        for i in 0..<12 {
            let id = try await registry.start(CoreFixture.goog(capital: Double(10_000 + i))).sessionId
            var terminal: RunProgress?
            try await registry.watch(id, minInterval: .zero) { if $0.kind == .terminal { terminal = $0 } }
            #expect(terminal?.state == .completed)
            #expect(try await registry.delete(id).state == .completed)
            #expect(try await fixture.store.session(id: id) == nil)
        }
    }

    /// A waiting session that was stopped is saved STOPPED in the background; a delete
    /// in that moment waits for the save, which would otherwise bring the session back.
    @Test func aDeleteWaitsForTheStopsSaveInFlight() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(
            clock: clock, limits: .init(maxRunning: 1, maxQueued: 4), store: { FaultyStore($0) })
        defer { fixture.remove() }
        let store = try #require(fixture.registry.store as? FaultyStore)
        let registry = fixture.registry
        // The run holds the one slot while its data read is held: the second waits.
        store.holdReads()
        let runner = try await registry.start(CoreFixture.goog(seconds: 3600)).sessionId
        let waiting = try await registry.start(CoreFixture.goog(capital: 5_000)).sessionId
        _ = try await registry.waitFor(runner, [.running])
        #expect(try await registry.record(waiting)?.state == .started)

        store.holdSaves()
        let stop = Task { try await registry.stop(waiting, reason: "") }
        // STOPPED in memory while the store still says STARTED: the save is in flight.
        while try await registry.record(waiting)?.state != .stopped { await Task.yield() }
        let delete = Task { try await registry.delete(waiting) }
        // Let the delete get as far as it can while the save is held.
        for _ in 0..<200 { await Task.yield() }
        store.releaseSaves()
        #expect(try await stop.value.state == .stopped)
        #expect(try await delete.value.state == .stopped)
        #expect(try await fixture.store.session(id: waiting) == nil, "the stop's save came after the delete")
        #expect(try await registry.record(waiting) == nil)

        store.releaseReads()
        _ = try await registry.stop(runner, reason: "")
    }

    @Test func retentionsBatchSkipsLiveSessions() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        let registry = fixture.registry
        let ended = try await registry.start(CoreFixture.goog()).sessionId
        _ = try await registry.waitFor(ended, [.completed])
        let live = try await registry.start(CoreFixture.goog(seconds: 3600)).sessionId
        _ = try await registry.waitFor(live, [.running])
        #expect(try await registry.deleteEnded([ended, live, "no-such"]) == [ended])
        #expect(try await registry.record(live)?.state == .running)
        _ = try await registry.stop(live, reason: "")
    }

    /// How a delete was refused, if it was.
    static func deleteError(_ registry: EngineRegistry, _ id: String) async -> ServiceError? {
        do {
            _ = try await registry.delete(id)
            return nil
        } catch {
            return error
        }
    }
}

func allRows<Row>(_ cursor: any RowCursor<Row>) async throws -> [Row] {
    var rows: [Row] = []
    while let batch = try await cursor.next() { rows += batch }
    return rows
}
