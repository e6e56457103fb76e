import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import BacktestCore

/// Deleting sweeps through the registry: an ended one goes with its rows, windows and
/// the sessions it stored (unless they are kept); live ones are refused; deletion never
/// races the job that hands a sweep back, nor another delete.
@Suite struct SweepRegistryDeleteTests {
    /// A sweep long enough (14,950 combinations on one worker) to be caught running.
    static func longSweep() -> SweepRequest {
        var request = SweepRegistryTests.smallSweep(workers: 1)
        request.axes = [
            SweepAxis(name: "n1", values: .range(start: 1, stop: 100, step: 1)),
            SweepAxis(name: "n2", values: .range(start: 1, stop: 200, step: 1)),
        ]
        return request
    }

    static func sessionsLabelled(_ store: any BacktestStore, _ sweepId: String) async throws -> [SessionRecord] {
        var query = SessionQuery()
        query.labels = ["sweep": sweepId]
        return try await store.listSessions(query).sessions
    }

    static func deleteError(
        _ sweeps: SweepRegistry, _ id: String, _ registry: EngineRegistry
    ) async -> ServiceError? {
        do {
            _ = try await sweeps.delete(id, keepSessions: false, sessions: registry)
            return nil
        } catch {
            return error
        }
    }

    @Test func anEndedSweepGoesWithItsRowsAndItsSessions() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let gone = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 3)).sweepId
        let kept = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 2)).sweepId
        for id in [gone, kept] { _ = try await SweepRegistryTests.events(sweeps, id) }
        let single = try await fixture.registry.start(CoreFixture.goog()).sessionId
        _ = try await fixture.registry.waitFor(single, [.completed])
        let best = try await Self.sessionsLabelled(fixture.store, gone)
        #expect(best.count == 3)

        let deleted = try await sweeps.delete(gone, keepSessions: false, sessions: fixture.registry)
        #expect(deleted.record.id == gone && deleted.record.state == .completed && deleted.record.done == 18)
        #expect(Set(deleted.sessionIds) == Set(best.map(\.id)))
        #expect(try await sweeps.record(gone) == nil)
        #expect(try await fixture.store.sweep(id: gone) == nil)
        #expect(try await sweeps.list(SweepQuery()).sweeps.map(\.id) == [kept])
        for session in best {
            #expect(try await fixture.registry.record(session.id) == nil)
            #expect(try await allRows(try await fixture.store.trades(sessionId: session.id, batchSize: 100)).isEmpty)
            let equity = try await fixture.store.equity(
                sessionId: session.id, range: TimeRange(start: .min, end: .max), batchSize: 100)
            #expect(try await allRows(equity).isEmpty)
        }
        let rows = try await fixture.store.sweepResults(
            SweepResultQuery(sweepId: gone, sortKey: "sharpeRatio", descending: true, pageSize: 100))
        #expect(rows.rows.isEmpty)
        for refused in [
            await Self.deleteError(sweeps, gone, fixture.registry),
            await Self.error {
                _ = try await sweeps.results(gone, sortBy: "", ascending: nil, pageSize: 5, pageToken: "")
            },
            await Self.error { try await sweeps.watch(gone, minInterval: .zero) { _ in } },
        ] {
            #expect(refused?.kind == .notFound && refused?.field == "sweep_id", "\(String(describing: refused))")
        }
        // The other sweep, its sessions and a plain session are untouched.
        #expect(try await SweepRegistryTests.allRows(sweeps, kept).count == 18)
        #expect(try await Self.sessionsLabelled(fixture.store, kept).count == 2)
        #expect(try await fixture.registry.record(single)?.state == .completed)
    }

    @Test func keepingTheSessionsKeepsThemWhole() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let id = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 2)).sweepId
        _ = try await SweepRegistryTests.events(sweeps, id)
        let best = try await Self.sessionsLabelled(fixture.store, id)
        var tradesBefore: [String: Int] = [:]
        for s in best {
            tradesBefore[s.id] = try await allRows(try await fixture.registry.trades(s.id, batchSize: 50)).count
        }

        let deleted = try await sweeps.delete(id, keepSessions: true, sessions: fixture.registry)
        #expect(deleted.sessionIds.isEmpty)
        #expect(try await sweeps.record(id) == nil)
        #expect(try await Self.sessionsLabelled(fixture.store, id).map(\.id).sorted() == best.map(\.id).sorted())
        for s in best {
            #expect(try await fixture.registry.record(s.id) == s)
            #expect(
                try await allRows(try await fixture.registry.trades(s.id, batchSize: 50)).count == tradesBefore[s.id])
        }
    }

    /// A walk-forward's stitched session and its windows go with it.
    @Test func aWalkForwardGoesWithItsWindowsAndStitchedSession() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let id = try await sweeps.start(WalkForwardTests.request(WalkForwardSpec(windows: 2, inSampleRatio: 3))).sweepId
        _ = try await SweepRegistryTests.events(sweeps, id)
        let stitched = try #require(try await sweeps.record(id)?.stitchedSessionId)
        #expect(!stitched.isEmpty)
        #expect(try await sweeps.walkForwardWindows(id).count == 2)

        let deleted = try await sweeps.delete(id, keepSessions: false, sessions: fixture.registry)
        #expect(deleted.sessionIds == [stitched])
        #expect(try await fixture.store.session(id: stitched) == nil)
        #expect(try await fixture.store.walkForwardWindows(sweepId: id).isEmpty)
    }

    @Test func runningAndWaitingSweepsAreRefusedUntilStopped() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store, limits: .init(maxRunning: 1))
        let running = try await sweeps.start(Self.longSweep()).sweepId
        let waiting = try await sweeps.start(SweepRegistryTests.smallSweep()).sweepId
        while (try await sweeps.record(running))?.done ?? 0 < 1 { try await Task.sleep(for: .milliseconds(5)) }
        for (id, state) in [(running, "running"), (waiting, "started")] {
            let refused = await Self.deleteError(sweeps, id, fixture.registry)
            #expect(refused?.kind == .failedPrecondition && refused?.field == "sweep_id")
            #expect(refused?.reason.contains("is \(state): stop it first") == true, "\(String(describing: refused))")
            #expect(try await sweeps.record(id)?.state.rawValue == state, "nothing of it is lost")
        }
        _ = try await sweeps.stop(waiting, reason: "")
        #expect(
            try await sweeps.delete(waiting, keepSessions: false, sessions: fixture.registry).record.state == .stopped)
        _ = try await sweeps.stop(running, reason: "")
        let stopped = try await sweeps.delete(running, keepSessions: false, sessions: fixture.registry)
        #expect(stopped.record.state == .stopped && stopped.record.done > 0)
        #expect(try await sweeps.list(SweepQuery()).sweeps.isEmpty)
    }

    /// A watcher that saw the terminal event deletes at once: the registry may not have
    /// taken the sweep back from its job yet, and the delete waits for that instead of
    /// refusing it.
    @Test func deletingRightAfterTheTerminalEventSucceeds() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store, limits: .init(maxRunning: 2))
        for _ in 0..<6 {
            let id = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 1)).sweepId
            var terminal: SweepProgress?
            try await sweeps.watch(id, minInterval: .zero) { if $0.kind == .terminal { terminal = $0 } }
            #expect(terminal?.state == .completed)
            let deleted = try await sweeps.delete(id, keepSessions: false, sessions: fixture.registry)
            #expect(deleted.record.state == .completed && deleted.sessionIds.count == 1)
            #expect(try await fixture.store.sweep(id: id) == nil)
        }
    }

    /// Deletes of one sweep at once: one deletes it, the others find it gone.
    @Test func concurrentDeletesDeleteOnce() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let id = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 2)).sweepId
        _ = try await SweepRegistryTests.events(sweeps, id)
        let registry = fixture.registry
        let outcomes = await withTaskGroup(of: ServiceError?.self) { group in
            for _ in 0..<8 { group.addTask { await Self.deleteError(sweeps, id, registry) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1)
        #expect(outcomes.compactMap { $0 }.allSatisfy { $0.kind == .notFound }, "\(outcomes)")
        #expect(try await Self.sessionsLabelled(fixture.store, id).isEmpty)
    }

    /// A best session deleted on its own leaves its row without a session, not with an
    /// id that is NOT_FOUND.
    @Test func aRowWhoseSessionWasDeletedShowsNone() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let id = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 2)).sweepId
        _ = try await SweepRegistryTests.events(sweeps, id)
        let linked = try await SweepRegistryTests.allRows(sweeps, id).map(\.sessionId).filter { !$0.isEmpty }
        #expect(linked.count == 2)
        _ = try await fixture.registry.delete(linked[0])
        let after = try await SweepRegistryTests.allRows(sweeps, id).map(\.sessionId).filter { !$0.isEmpty }
        #expect(after == [linked[1]])
        // The sweep's deletion then deletes what is left.
        #expect(try await sweeps.delete(id, keepSessions: false, sessions: fixture.registry).sessionIds == [linked[1]])
    }

    @Test func aStoreWithoutSweepsAnswersUnimplemented() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: FaultyStore(fixture.store))
        let refused = await Self.deleteError(sweeps, "any", fixture.registry)
        #expect(refused?.kind == .unimplemented, "\(String(describing: refused))")
        let batch = await Self.error { _ = try await sweeps.deleteEnded(["any"], sessions: fixture.registry) }
        #expect(batch?.kind == .unimplemented, "\(String(describing: batch))")
    }

    static func error(_ body: () async throws -> Void) async -> ServiceError? {
        do {
            try await body()
            return nil
        } catch let error as ServiceError {
            return error
        } catch {
            return ServiceError(.internal, "\(error)")
        }
    }
}
