import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import BacktestCore

/// The session lifecycle in process, on a real SQLite store and an injected clock:
/// no daemon, no sockets, no sleeping for time to pass.
@Suite struct EngineRegistryTests {
    @Test func aCompletedSessionMatchesTheEngineRunDirectly() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let registry = fixture.registry
        let started = try await registry.start(CoreFixture.goog())
        #expect(started.state == .started && !started.deduplicated)
        let events = try await registry.events(started.sessionId)
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        let terminal = try #require(events.last)
        #expect(terminal.state == .completed)
        #expect(terminal.eventsProcessed == 2148, "the terminal event has the final figures")
        let pcts = events.map(\.progressPct)
        #expect(zip(pcts, pcts.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back: \(pcts)")
        #expect(events.allSatisfy { $0.progressPct < 100 || $0.state == .completed }, "100% only when completed")
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })

        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])))
        let bars = try await fixture.store.candles(
            symbol: "GOOG", timeframe: .candles(seconds: 86_400),
            range: TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd), batchSize: 4096)
        while let batch = try await bars.next() { try engine.process(candles: batch) }
        let expected = engine.finish()
        #expect(terminal.statistics == expected)
        let record = try #require(try await registry.record(started.sessionId))
        #expect(record.state == .completed && record.progressPct == 100 && record.statistics == expected)
        let cursor = try await registry.trades(started.sessionId, batchSize: 7)
        var trades: [TradeRecord] = []
        while let batch = try await cursor.next() { trades += batch }
        #expect(trades == engine.takeTrades())
    }

    @Test func accelerationReplaysAtTheFactorOnTheClock() async throws {
        let clock = VirtualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        // The whole sample at 3117 days per 4 s of the clock.
        let id = try await fixture.registry.start(CoreFixture.goog(seconds: 4)).sessionId
        let events = try await fixture.registry.events(id, minInterval: .milliseconds(100))
        let record = try #require(try await fixture.registry.record(id))
        #expect(record.state == .completed)
        let took = Double((record.completedAt ?? 0) - (record.startedAt ?? 0)) / 1e6
        // Not before the last bar is due; at most two watch intervals late (the watcher's
        // own sleeps move this clock too).
        #expect(
            took >= 3.999 && took <= 4.21,
            "started \(record.startedAt ?? 0), ended \(record.completedAt ?? 0), now \(clock.wallMicros): 3117 days at 3117 days per 4 s took \(took) s"
        )
        // Progress was published along the way, every 100 ms of the clock (what a watcher
        // sees of it depends on when it is scheduled: a slow one skips to the latest).
        #expect((events.last?.sequence ?? 0) >= 35, "updates published: \(events.last?.sequence ?? 0)")
        let middle = events.filter { $0.kind == .update && $0.progressPct > 0 && $0.progressPct < 100 }
        // Paced: the ETA is the simulated time left over the factor.
        let factor = 3117.0 * 86_400 / 4
        for e in middle {
            let left = Double(CoreFixture.googEnd - (e.simTime ?? 0)) / factor / 1e6
            #expect(
                abs(
                    (e.eta.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 } ?? -1)
                        - left) < 0.001)
        }
    }

    @Test func aStopKeepsTheReasonAndTheResultsSoFarAndIsIdempotent() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        let registry = fixture.registry
        let id = try await registry.start(CoreFixture.goog(seconds: 30)).sessionId
        _ = try await registry.waitFor(id, [.running])
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(10))
        while clock.sleeperCount == 0 { await Task.yield() }
        let stop = try await registry.stop(id, reason: "enough; said \"the trader\"")
        #expect(stop.state == .stopped && !stop.alreadyEnded)
        let record = try #require(try await registry.record(id))
        #expect(record.state == .stopped && record.stopReason == "enough; said \"the trader\"")
        #expect(record.progressPct > 30 && record.progressPct < 40, "a third of the range: \(record.progressPct)")
        // The statistics of what ran: the engine over the same bars, stopped there.
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])))
        let bars = try await fixture.store.candles(
            symbol: "GOOG", timeframe: .candles(seconds: 86_400),
            range: TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd), batchSize: 4096)
        var left = Int(record.eventsProcessed)
        while left > 0, let batch = try await bars.next() {
            try engine.process(candles: Array(batch.prefix(left)))
            left -= min(left, batch.count)
        }
        let expected = engine.finishAtStop()
        #expect(record.statistics == expected, "a stopped session keeps the statistics of what ran")
        #expect(record.totalTrades == UInt64(expected.totalTrades))
        let cursor = try await registry.trades(id, batchSize: 1000)
        var stored: [TradeRecord] = []
        while let batch = try await cursor.next() { stored += batch }
        #expect(stored == engine.takeTrades(), "closed trades, and the position open at the stop without an exit")
        let again = try await registry.stop(id, reason: "")
        #expect(again.state == .stopped && again.alreadyEnded)
        let events = try await registry.events(id)
        #expect(events.map(\.kind) == [.snapshot, .terminal])
        #expect(events.last?.stopReason == "enough; said \"the trader\"")
        #expect(events.last?.statistics == expected)
        let curve = try await registry.equity(id, range: TimeRange(start: .min, end: .max), batchSize: 5000)
        #expect(try await curve.next()?.isEmpty == false, "what ran before the stop is kept")
        await #expect(throws: ServiceError.self) { try await registry.stop("no-such-session", reason: "") }
    }

    /// Sessions that compute (here: read a store that holds their data) hold the run
    /// slots; the rest wait in STARTED, up to the queue limit.
    @Test func sessionsWaitForASlotUpToTheQueueLimit() async throws {
        let fixture = try await CoreFixture(
            clock: VirtualClock(), limits: .init(maxRunning: 1, maxQueued: 2), store: { FaultyStore($0) })
        defer { fixture.remove() }
        let store = try #require(fixture.registry.store as? FaultyStore)
        store.holdReads()
        let registry = fixture.registry
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await registry.start(CoreFixture.goog()).sessionId) }
        do {
            _ = try await registry.start(CoreFixture.goog())
            Issue.record("a fourth session was admitted")
        } catch {
            #expect(error.kind == .resourceExhausted, "\(error)")
        }
        _ = try await registry.waitFor(ids[0], [.running])
        let active = await registry.active(symbol: "GOOG")
        let states = Dictionary(uniqueKeysWithValues: active.map { ($0.record.id, $0.record.state) })
        #expect(states == [ids[0]: .running, ids[1]: .started, ids[2]: .started])
        let waiting = Dictionary(uniqueKeysWithValues: active.map { ($0.record.id, $0.waiting) })
        #expect(waiting[ids[0]] == .some(nil), "computing")
        #expect(waiting[ids[1]] == .runSlot(running: 1, ahead: 0) && waiting[ids[2]] == .runSlot(running: 1, ahead: 1))
        // A waiting session stops without running; stopping the runner lets the next one in.
        let third = try await registry.stop(ids[2], reason: "")
        #expect(third.state == .stopped && !third.alreadyEnded)
        #expect(try await registry.record(ids[2])?.startedAt == nil, "it never ran")
        store.releaseReads()
        _ = try await registry.waitFor(ids[0], [.completed])
        _ = try await registry.waitFor(ids[1], [.completed])
        #expect(await registry.active(symbol: "").isEmpty)
    }

    /// Run slots count CPU work: paced sessions asleep hold none, so a quick backtest
    /// is not kept waiting behind replays that take hours (issue 16, item 7).
    @Test func pacedSessionsAsleepHoldNoRunSlot() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock, limits: .init(maxRunning: 1, maxQueued: 4))
        defer { fixture.remove() }
        let registry = fixture.registry
        let paced = [
            try await registry.start(CoreFixture.goog(seconds: 3600)).sessionId,
            try await registry.start(CoreFixture.goog(seconds: 3600, capital: 20_000)).sessionId,
        ]
        let quick = try await registry.start(CoreFixture.goog(capital: 30_000)).sessionId
        let done = try await registry.waitFor(quick, [.completed, .failed])
        #expect(done.state == .completed, "ran while both replays slept")
        let active = await registry.active(symbol: "GOOG")
        #expect(active.map(\.record.id).sorted() == paced.sorted())
        for a in active {
            #expect(a.record.state == .running)
            guard case .pacing(let dueIn)? = a.waiting else {
                Issue.record("\(a.record.id) waits for \(String(describing: a.waiting))")
                continue
            }
            #expect(dueIn > .zero && dueIn < .seconds(2), "the next daily bar of a 3117-day hour: \(dueIn)")
        }
        // Both wake and want the one slot: one computes, the other waits its turn.
        clock.advance(by: .seconds(60))
        for id in paced { _ = try await registry.stop(id, reason: "") }
        #expect(await registry.active(symbol: "").isEmpty)
        for id in paced { #expect(try await registry.record(id)?.state == .stopped) }
    }

    @Test func aClientRequestIdMakesRetriesIdempotent() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let registry = fixture.registry
        let first = try await registry.start(CoreFixture.goog(clientRequestId: "retry-1"))
        let second = try await registry.start(CoreFixture.goog(clientRequestId: "retry-1"))
        #expect(second.sessionId == first.sessionId && second.deduplicated)
        _ = try await registry.waitFor(first.sessionId, [.completed])
        // Also once it has ended, from the store.
        let third = try await registry.start(CoreFixture.goog(clientRequestId: "retry-1"))
        #expect(third.sessionId == first.sessionId && third.deduplicated && third.state == .completed)
        do {
            _ = try await registry.start(CoreFixture.goog(capital: 5000, clientRequestId: "retry-1"))
            Issue.record("a different request under the same id was admitted")
        } catch {
            #expect(error.kind == .alreadyExists && error.field == "client_request_id", "\(error)")
        }
    }

    @Test(
        arguments: [
            ("symbol", { @Sendable (r: inout RunRequest) in r.symbol = "" }),
            ("symbol", { @Sendable (r: inout RunRequest) in r.symbol = "A\u{7}B" }),
            ("end_time", { @Sendable (r: inout RunRequest) in r.end = r.start }),
            ("acceleration_factor", { @Sendable (r: inout RunRequest) in r.accelerationFactor = -1 }),
            ("acceleration_factor", { @Sendable (r: inout RunRequest) in r.accelerationFactor = .nan }),
            (
                "client_request_id",
                { @Sendable (r: inout RunRequest) in r.clientRequestId = String(repeating: "x", count: 129) }
            ),
            ("labels", { @Sendable (r: inout RunRequest) in r.labels = ["": "x"] }),
            ("initial_capital", { @Sendable (r: inout RunRequest) in r.config.initialCapital = -5 }),
            ("costs.commission_rate", { @Sendable (r: inout RunRequest) in r.config.costs.commissionRate = 1 }),
            ("sizing.value", { @Sendable (r: inout RunRequest) in r.config.sizing = .equityFraction(2) }),
            (
                "strategy.builtin.name",
                { @Sendable (r: inout RunRequest) in r.config.strategy = .builtin(name: "moonshot", params: [:]) }
            ),
            (
                "strategy.builtin.params[\"n3\"]",
                { @Sendable (r: inout RunRequest) in r.config.strategy = .builtin(name: "sma_cross", params: ["n3": 1])
                }
            ),
            (
                "strategy",
                { @Sendable (r: inout RunRequest) in
                    r.config.strategy = .rules(
                        .init(
                            name: "x", rules: [.init(name: "A", kind: .entryLong, expression: "close > sma(close, 10")])
                    )
                }
            ),
        ] as [(String, @Sendable (inout RunRequest) -> Void)])
    func invalidRequestsNameTheFieldAndStoreNothing(field: String, change: @Sendable (inout RunRequest) -> Void)
        async throws
    {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        var request = CoreFixture.goog()
        change(&request)
        do {
            _ = try await fixture.registry.start(request)
            Issue.record("admitted")
        } catch {
            #expect(error.kind == .invalidArgument && error.field == field, "\(error)")
            #expect(error.message.hasPrefix("\(field): "), "\(error.message)")
        }
        #expect(try await fixture.store.listSessions(SessionQuery()).sessions.isEmpty)
    }

    @Test func missingDataIsAFailedPreconditionThatSaysWhatIsStored() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        var request = CoreFixture.goog()
        request.timeframe = .candles(seconds: 3600)
        do {
            _ = try await fixture.registry.start(request)
            Issue.record("admitted")
        } catch {
            #expect(error.kind == .failedPrecondition, "\(error)")
            #expect(error.message.contains("1h") && error.message.contains("stored: 1d"), "\(error.message)")
        }
    }

    @Test func aStrategyThatFailsAtRuntimeEndsFailedWithItsReason() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let strategy = StrategyDefinition.rules(
            .init(
                name: "broken",
                rules: [.init(name: "DIV", kind: .entryLong, expression: "close / (volume - volume) > 1")]))
        let id = try await fixture.registry.start(CoreFixture.goog(strategy: strategy)).sessionId
        let last = try #require(try await fixture.registry.events(id).last)
        #expect(last.state == .failed)
        #expect(
            last.errorMessage.contains("DIV") && last.errorMessage.lowercased().contains("division"),
            "\(last.errorMessage)")
        #expect(try await fixture.registry.record(id)?.errorMessage == last.errorMessage)
    }

    /// A run that fails midway keeps the statistics of what ran, as a stop does: the
    /// engine's own, up to the failing bar.
    @Test func aRunThatFailsMidwayKeepsTheStatisticsOfWhatRan() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        // SMA 10/20 crossover, and a rule that divides by zero on 2008-08-08 (close 495.01),
        // four years into the data.
        let strategy = StrategyDefinition.rules(
            .init(
                name: "fails in 2008",
                rules: [
                    .init(name: "UP", kind: .entryLong, expression: "crosses_above(sma(close, 10), sma(close, 20))"),
                    .init(name: "DOWN", kind: .entryShort, expression: "crosses_below(sma(close, 10), sma(close, 20))"),
                    .init(name: "DIV", kind: .entryLong, expression: "close / (close - 495.01) > 1000000000"),
                ]))
        let id = try await fixture.registry.start(CoreFixture.goog(strategy: strategy)).sessionId
        let terminal = try #require(try await fixture.registry.events(id).last)
        #expect(terminal.state == .failed)
        #expect(terminal.errorMessage.contains("DIV") && terminal.errorMessage.contains("2008-08-08"))

        let engine = try Engine(config: BacktestConfig(initialCapital: 10_000, strategy: strategy))
        let bars = try await fixture.store.candles(
            symbol: "GOOG", timeframe: .candles(seconds: 86_400),
            range: TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd), batchSize: 4096)
        var failed = false
        while !failed, let batch = try await bars.next() {
            do { try engine.process(candles: batch) } catch { failed = true }
        }
        #expect(failed)
        let expected = engine.finishAtStop()
        #expect(expected.totalTrades > 10)
        #expect(terminal.statistics == expected)
        let record = try #require(try await fixture.store.session(id: id))
        #expect(record.state == .failed && record.statistics == expected)
        #expect(record.totalTrades == UInt64(expected.totalTrades) && record.finalPnl == expected.finalPnl)
    }

    @Test func manyWatchersOfOneSessionEachGetTheWholeStory() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let registry = fixture.registry
        let id = try await registry.start(CoreFixture.goog(seconds: 3)).sessionId
        let all = try await withThrowingTaskGroup(of: [RunProgress].self) { group in
            for _ in 0..<8 { group.addTask { try await registry.events(id, minInterval: .milliseconds(50)) } }
            return try await group.reduce(into: [[RunProgress]]()) { $0.append($1) }
        }
        for events in all {
            #expect(events.first?.kind == .snapshot && events.last?.kind == .terminal)
            #expect(events.last?.state == .completed)
            #expect(events.filter { $0.kind == .terminal }.count == 1)
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        }
        // Whether a watcher also sees updates depends on when it is scheduled (on a busy
        // machine all eight may subscribe after the end); updates along a paced run are
        // checked on a manual clock in the progress test above.
    }

    @Test func tenSessionsAtOnceAllCompleteWithTheSameResult() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let registry = fixture.registry
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<10 {
                group.addTask { try await registry.start(CoreFixture.goog(labels: ["n": "\(i)"])).sessionId }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 10)
        var finals: Set<String> = []
        for id in ids {
            let r = try await registry.waitFor(id, [.completed, .failed])
            #expect(r.state == .completed)
            finals.insert("\(r.finalPnl)/\(r.totalTrades)")
        }
        #expect(finals.count == 1, "deterministic: \(finals)")
    }

    @Test func shutdownStopsEverySessionAndEveryWatchEnds() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock, limits: .init(maxRunning: 2, maxQueued: 4))
        defer { fixture.remove() }
        let registry = fixture.registry
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await registry.start(CoreFixture.goog(seconds: 60)).sessionId) }
        for id in ids.prefix(2) { _ = try await registry.waitFor(id, [.running]) }
        let watches = ids.map { id in Task { try await registry.events(id, minInterval: .zero) } }
        await registry.shutdown()
        for w in watches {
            let events = try await w.value
            let last = events.last
            #expect(
                last?.kind == .terminal && last?.state == .stopped && last?.stopReason == "server shutting down",
                "\(events)")
        }
        for id in ids {
            let stored = try await fixture.store.session(id: id)
            #expect(
                stored?.state == .stopped && stored?.stopReason == "server shutting down",
                "\(String(describing: stored))")
        }
        do {
            _ = try await registry.start(CoreFixture.goog())
            Issue.record("admitted after shutdown")
        } catch {
            #expect(error.kind == .unavailable)
        }
    }

    @Test func sessionsAProcessLeftUnfinishedAreFailedAtTheNextStart() async throws {
        let fixture = try await CoreFixture(clock: VirtualClock())
        defer { fixture.remove() }
        let left = SessionRecord(
            id: "left-running", state: .running, symbol: "GOOG", timeframe: "1d",
            range: TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd), strategyName: "sma_cross",
            accelerationFactor: 0, request: [], clientRequestId: "", labels: [:], createdAt: 1)
        try await fixture.store.saveSession(left)
        #expect(try await fixture.registry.recoverInterrupted() == 1)
        let r = try await fixture.store.session(id: "left-running")
        #expect(r?.state == .failed && r?.errorMessage == EngineRegistry.interruptedMessage)
        #expect(try await fixture.registry.recoverInterrupted() == 0)
    }

    /// A node taken for lost while alive (docs/DESIGN.md section 15.2): the others
    /// failed its sessions; told so, it ends a waiting one and a running one with that
    /// end (stored and sent to its watchers), never its own STOPPED over it, and the
    /// waiting one never runs.
    @Test func sessionsEndedElsewhereKeepThatEnd() async throws {
        func theirs(_ registry: EngineRegistry, _ id: String) async throws -> SessionRecord {
            var r = try #require(try await registry.record(id))
            r.state = .failed
            r.errorMessage = "node node-a lost"
            r.completedAt = 1_700_000_000_000_000
            return r
        }
        // Waiting behind a session whose data reads are held (so it runs throughout).
        let held = try await CoreFixture(
            clock: VirtualClock(), limits: .init(maxRunning: 1, maxQueued: 2), store: { FaultyStore($0) })
        defer { held.remove() }
        let store = try #require(held.registry.store as? FaultyStore)
        store.holdReads()
        defer { store.releaseReads() }
        let first = try await held.registry.start(CoreFixture.goog()).sessionId
        let waiting = try await held.registry.start(CoreFixture.goog(capital: 20_000)).sessionId
        _ = try await held.registry.waitFor(first, [.running])
        var events: [RunProgress] = []
        try await held.registry.watch(waiting, minInterval: .zero) { event in
            events.append(event)
            if event.kind == .snapshot {
                await held.registry.abandon(waiting, endedAs: try await theirs(held.registry, waiting))
            }
        }
        #expect(events.last?.kind == .terminal && events.last?.state == .failed)
        #expect(events.last?.errorMessage == "node node-a lost")
        let ended = try #require(try await held.registry.record(waiting))
        #expect(ended.state == .failed && ended.errorMessage == "node node-a lost" && ended.startedAt == nil)

        // Running: a replay at an hour for the whole sample, on a clock that does not
        // move, so it cannot end by itself before it is told.
        let paced = try await CoreFixture(clock: ManualClock())
        defer { paced.remove() }
        let running = try await paced.registry.start(CoreFixture.goog(seconds: 3600)).sessionId
        _ = try await paced.registry.waitFor(running, [.running])
        await paced.registry.abandon(running, endedAs: try await theirs(paced.registry, running))
        let stored = try #require(try await paced.registry.record(running))
        #expect(stored.state == .failed && stored.errorMessage == "node node-a lost", "\(stored)")
        #expect(stored.completedAt == 1_700_000_000_000_000, "their record, not one of this node's")
        #expect(await paced.registry.active(symbol: "").isEmpty)
    }
}
