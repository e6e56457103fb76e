import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import BacktestCore

/// Sweeps in process on a real SQLite store and the GOOG sample: every row is the
/// single backtest of its parameters, the best are kept in full, progress ends with
/// one terminal event, a stop keeps what was done.
@Suite struct SweepRegistryTests {
    /// SMA crossover, n1 in 5..10, n2 in 15..25 step 5, n1 < n2: 18 combinations.
    static func smallSweep(topK: Int = 3, workers: Int = 0) -> SweepRequest {
        SweepRequest(
            base: CoreFixture.goog(),
            axes: [
                SweepAxis(name: "n1", values: .range(start: 5, stop: 10, step: 1)),
                SweepAxis(name: "n2", values: .range(start: 15, stop: 25, step: 5)),
            ], constraints: ["n1 < n2"], objective: "sharpe_ratio", maximize: true, topK: topK, workers: workers,
            encoded: Array("small sweep".utf8), sessionRequest: { params in Array("\(params)".utf8) })
    }

    static func events(_ sweeps: SweepRegistry, _ id: String) async throws -> [SweepProgress] {
        var events: [SweepProgress] = []
        try await sweeps.watch(id, minInterval: .milliseconds(1)) { events.append($0) }
        return events
    }

    static func allRows(_ sweeps: SweepRegistry, _ id: String, sortBy: String = "") async throws -> [SweepResultRow] {
        var rows: [SweepResultRow] = []
        var token = ""
        repeat {
            let page = try await sweeps.results(id, sortBy: sortBy, ascending: nil, pageSize: 7, pageToken: token).1
            rows += page.rows
            token = page.nextPageToken
        } while !token.isEmpty
        return rows
    }

    @Test func everyRowEqualsTheSingleBacktestOfItsParameters() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let started = try await sweeps.start(Self.smallSweep())
        #expect(started.total == 18 && started.state == .started)
        let events = try await Self.events(sweeps, started.sweepId)
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        let terminal = try #require(events.last)
        #expect(terminal.state == .completed && terminal.done == 18 && terminal.failed == 0)
        let dones = events.map(\.done)
        #expect(zip(dones, dones.dropFirst()).allSatisfy { $0 <= $1 })

        let rows = try await Self.allRows(sweeps, started.sweepId)
        #expect(rows.count == 18)
        #expect(Set(rows.map(\.combination)) == Set(0..<18))
        let sharpe = rows.map { $0.statistics?.sharpeRatio ?? .nan }
        let ranked = sharpe.filter { !$0.isNaN }
        #expect(ranked == ranked.sorted(by: >), "ranked by the objective, best first")
        #expect(terminal.best?.combination == rows[0].combination && terminal.bestValue == sharpe[0])

        for row in rows {
            let params = Dictionary(uniqueKeysWithValues: row.params.map { ($0.name, $0.value) })
            // The single backtest through the service's own path: stored, read back.
            let single = try await fixture.registry.start(
                CoreFixture.goog(strategy: .builtin(name: "sma_cross", params: params)))
            _ = try await fixture.registry.events(single.sessionId)
            let record = try #require(try await fixture.registry.record(single.sessionId))
            #expect(record.state == .completed)
            #expect(row.statistics == record.statistics, "combination \(row.combination) \(params)")
            // And the engine alone, bit for bit (== compares every field exactly; NaN with NaN).
            let engine = try Engine(
                config: BacktestConfig(initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: params)))
            let bars = try await fixture.store.candles(
                symbol: "GOOG", timeframe: .candles(seconds: 86_400),
                range: TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd), batchSize: 500)
            while let batch = try await bars.next() { try engine.process(candles: batch) }
            let direct = engine.finish()
            #expect(row.statistics == direct)
            #expect(row.statistics?.sharpeRatio.bitPattern == direct.sharpeRatio.bitPattern)
            #expect(row.statistics?.equityFinal.bitPattern == direct.equityFinal.bitPattern)
        }

        // The best three hold their full results as sessions labelled with the sweep.
        for (rank, row) in rows.prefix(3).enumerated() {
            #expect(!row.sessionId.isEmpty)
            let session = try #require(try await fixture.store.session(id: row.sessionId))
            #expect(session.state == .completed && session.statistics == row.statistics)
            #expect(session.labels == ["sweep": started.sweepId, "sweep_rank": String(rank + 1)])
            let cursor = try await fixture.store.trades(sessionId: row.sessionId, batchSize: 1000)
            var trades = 0
            while let batch = try await cursor.next() { trades += batch.count }
            #expect(trades == row.statistics?.totalTrades)
        }
        #expect(rows.dropFirst(3).allSatisfy { $0.sessionId.isEmpty })

        let record = try #require(try await sweeps.record(started.sweepId))
        #expect(record.state == .completed && record.done == 18 && record.bestCombination == rows[0].combination)
        #expect(try await sweeps.list(SweepQuery()).sweeps.map(\.id) == [started.sweepId])
    }

    @Test func theSameSweepGivesTheSameTableWhateverTheWorkers() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let one = try await sweeps.start(Self.smallSweep(topK: 1, workers: 1))
        let many = try await sweeps.start(Self.smallSweep(topK: 1, workers: 4))
        _ = try await Self.events(sweeps, one.sweepId)
        _ = try await Self.events(sweeps, many.sweepId)
        for statistic in ["sharpe_ratio", "return_pct", "max_drawdown_pct", "total_trades"] {
            let a = try await Self.allRows(sweeps, one.sweepId, sortBy: statistic)
            let b = try await Self.allRows(sweeps, many.sweepId, sortBy: statistic)
            #expect(a.map(\.combination) == b.map(\.combination))
            #expect(a.map(\.statistics) == b.map(\.statistics))
        }
        // Sorted by any statistic, descending by default, NaN last.
        let byTrades = try await Self.allRows(sweeps, one.sweepId, sortBy: "total_trades")
        let trades = byTrades.map { $0.statistics?.totalTrades ?? -1 }
        #expect(trades == trades.sorted(by: >))
    }

    @Test func aStopKeepsTheRowsDoneAndEndsWithOneTerminalEvent() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        var request = Self.smallSweep(workers: 1)
        request.axes = [
            SweepAxis(name: "n1", values: .range(start: 1, stop: 100, step: 1)),
            SweepAxis(name: "n2", values: .range(start: 1, stop: 200, step: 1)),
        ]
        let started = try await sweeps.start(request)
        #expect(started.total == 14_950, "100 x 200, less the 5,050 pairs with n1 >= n2")
        let watcher = Task { try await Self.events(sweeps, started.sweepId) }
        while (try await sweeps.record(started.sweepId))?.done ?? 0 < 3 { try await Task.sleep(for: .milliseconds(5)) }
        let stopped = try await sweeps.stop(started.sweepId, reason: "enough")
        #expect(stopped.state == .stopped && !stopped.alreadyEnded)
        let events = try await watcher.value
        #expect(events.filter { $0.kind == .terminal }.count == 1)
        #expect(events.last?.state == .stopped && events.last?.stopReason == "enough")
        let record = try #require(try await sweeps.record(started.sweepId))
        #expect(record.state == .stopped && record.done >= 3 && record.done < 14_950)
        let rows = try await Self.allRows(sweeps, started.sweepId)
        #expect(UInt64(rows.count) == record.done)
        let again = try await sweeps.stop(started.sweepId, reason: "again")
        #expect(again.alreadyEnded && again.state == .stopped)
        // An ended sweep's watch: its final state, then the terminal event.
        let late = try await Self.events(sweeps, started.sweepId)
        #expect(late.map(\.kind) == [.snapshot, .terminal] && late.last?.stopReason == "enough")
    }

    @Test func badInputsAreRefusedNamingTheField() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store, limits: .init(maxCombinations: 10))
        func refusal(_ change: (inout SweepRequest) -> Void) async -> ServiceError? {
            var request = Self.smallSweep()
            change(&request)
            do {
                _ = try await sweeps.start(request)
                return nil
            } catch { return error }
        }
        let tooMany = await refusal { _ in }
        #expect(tooMany?.kind == .invalidArgument && tooMany?.field == "axes")
        #expect(tooMany?.message.contains("too many combinations") == true)
        let base = await refusal { $0.base.symbol = "" }
        #expect(base?.field == "backtest.symbol")
        let noData = await refusal {
            $0.base.symbol = "MSFT"
            $0.axes = [SweepAxis(name: "n1", values: .list([5]))]
            $0.constraints = []
        }
        #expect(noData?.kind == .failedPrecondition)
        let paced = await refusal { $0.base.accelerationFactor = 10 }
        #expect(paced?.field == "backtest.acceleration_factor")
        #expect(try await sweeps.list(SweepQuery()).sweeps.isEmpty, "a refused sweep stores nothing")
        do {
            _ = try await sweeps.stop("nope", reason: "")
            Issue.record("an unknown sweep was stopped")
        } catch {
            #expect(error.kind == .notFound && error.field == "sweep_id")
        }
    }

    @Test func aStoreWithoutSweepsAnswersUnimplemented() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: FaultyStore(fixture.store))
        #expect(try await sweeps.recoverInterrupted() == 0)
        do {
            _ = try await sweeps.start(Self.smallSweep())
            Issue.record("a store without sweeps took one")
        } catch {
            #expect(error.kind == .unimplemented)
        }
    }
}
