import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import BacktestCore

/// Walk-forwards in process on a real SQLite store and the GOOG sample: each window's
/// winner is the best of a plain sweep of its in-sample range, its out-of-sample result
/// the single backtest of that range with the winner and the equity carried over, and
/// the stitched result those backtests joined.
@Suite struct WalkForwardTests {
    static let axes = [
        SweepAxis(name: "n1", values: .range(start: 5, stop: 15, step: 5)),
        SweepAxis(name: "n2", values: .list([20, 30, 40])),
    ]

    static func request(_ spec: WalkForwardSpec?, range: TimeRange? = nil, objective: String = "sharpe_ratio")
        -> SweepRequest
    {
        var base = CoreFixture.goog(labels: ["study": "wf"])
        if let range {
            base.start = range.start
            base.end = range.end
        }
        return SweepRequest(
            base: base, axes: axes, constraints: ["n1 < n2"], objective: objective, walkForward: spec,
            encoded: Array("wf".utf8), sessionRequest: { params in Array("\(params)".utf8) })
    }

    static let whole = TimeRange(start: CoreFixture.googStart, end: CoreFixture.googEnd)

    @Test(arguments: [
        WalkForwardSpec(windows: 4, inSampleRatio: 3),
        WalkForwardSpec(
            anchored: true, inSampleLength: 1_000 * 86_400_000_000, outOfSampleLength: 500 * 86_400_000_000),
    ])
    func windowsEqualALoopOfSweepsAndBacktests(spec: WalkForwardSpec) async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        let started = try await sweeps.start(Self.request(spec))
        let events = try await SweepRegistryTests.events(sweeps, started.sweepId)
        let terminal = try #require(events.last)
        #expect(terminal.kind == .terminal && terminal.state == .completed, "\(terminal.errorMessage)")
        let windows = try await sweeps.walkForwardWindows(started.sweepId)
        // With lengths: as many out-of-sample windows as fit after the first in-sample one.
        let count =
            spec.windows > 0
            ? spec.windows : Int((Self.whole.end - Self.whole.start - spec.inSampleLength!) / spec.outOfSampleLength!)
        #expect(windows.count == count && terminal.windows == count)
        // 3 x 3 combinations, all meeting n1 < n2, swept once per window.
        #expect(started.total == UInt64(9 * count) && terminal.done == started.total)
        #expect(try await SweepRegistryTests.allRows(sweeps, started.sweepId).isEmpty, "no rows per combination")

        // The cut: out-of-sample windows back to back; in-sample windows end where theirs
        // start, all of one length (rolling) or all from the range's start (anchored).
        for (k, w) in windows.enumerated() {
            #expect(w.index == k && w.inSample.end == w.outOfSample.start)
            if k > 0 { #expect(w.outOfSample.start == windows[k - 1].outOfSample.end) }
            if spec.anchored {
                #expect(w.inSample.start == Self.whole.start)
            } else {
                #expect(w.inSample.end - w.inSample.start == windows[0].inSample.end - windows[0].inSample.start)
            }
        }
        #expect(windows[0].inSample.start == Self.whole.start)
        if spec.windows > 0 {
            #expect(windows.last?.outOfSample.end == Self.whole.end)
            // The out-of-sample length in whole days (the windows start at midnight, as
            // the bars do); the in-sample length what is left, so the ratio is the
            // request's to within the days the rounding moved.
            let day: Int64 = 86_400_000_000
            let oos = windows[0].outOfSample.end - windows[0].outOfSample.start
            let inSample = windows[0].inSample.end - windows[0].inSample.start
            #expect(oos % day == 0 && windows.allSatisfy { $0.outOfSample.start % day == 0 })
            #expect(inSample + Int64(spec.windows) * oos == Self.whole.end - Self.whole.start)
            let slack = Double(spec.windows + 1) * Double(day) / Double(oos)
            #expect(abs(Double(inSample) / Double(oos) - spec.inSampleRatio) < slack)
        } else {
            #expect(windows[0].inSample.end - windows[0].inSample.start == spec.inSampleLength)
            #expect(windows.allSatisfy { $0.outOfSample.end - $0.outOfSample.start == spec.outOfSampleLength })
        }

        // The loop: a plain sweep of each in-sample range, then its winner as a backtest of
        // the out-of-sample range with the equity the previous window ended with.
        var capital = 10_000.0
        var stitched = StitchedRun(initialCapital: capital)
        for w in windows {
            let plain = try await sweeps.start(Self.request(nil, range: w.inSample))
            _ = try await SweepRegistryTests.events(sweeps, plain.sweepId)
            let best = try #require(try await SweepRegistryTests.allRows(sweeps, plain.sweepId).first)
            let plainRecord = try #require(try await sweeps.record(plain.sweepId))
            #expect(w.combination == best.combination && w.params == best.params, "window \(w.index)")
            #expect(w.inSampleValue.bitPattern == plainRecord.bestValue.bitPattern)
            #expect(w.inSampleStatistics == best.statistics)
            #expect(w.initialCapital == capital)

            let params = Dictionary(uniqueKeysWithValues: best.params.map { ($0.name, $0.value) })
            var single = CoreFixture.goog(capital: capital, strategy: .builtin(name: "sma_cross", params: params))
            single.start = w.outOfSample.start
            single.end = w.outOfSample.end
            let session = try await fixture.registry.start(single)
            _ = try await fixture.registry.events(session.sessionId)
            let record = try #require(try await fixture.registry.record(session.sessionId))
            #expect(record.state == .completed)
            #expect(w.outOfSampleStatistics == record.statistics, "window \(w.index)")
            capital = try #require(record.statistics).equityFinal

            let closes = try await Self.all(
                try await fixture.store.candles(
                    symbol: "GOOG", timeframe: .candles(seconds: 86_400), range: w.outOfSample, batchSize: 500)
            ).map(\.close)
            try stitched.append(
                closes: closes,
                equity: try await Self.all(
                    try await fixture.store.equity(sessionId: session.sessionId, range: Self.whole, batchSize: 500)),
                trades: try await Self.all(try await fixture.store.trades(sessionId: session.sessionId, batchSize: 500))
            )
        }

        let sweep = try #require(try await sweeps.record(started.sweepId))
        let expected = stitched.statistics()
        #expect(sweep.stitchedStatistics == expected)
        #expect(expected.equityFinal == capital)
        let session = try #require(try await fixture.store.session(id: sweep.stitchedSessionId))
        #expect(session.state == .completed && session.statistics == expected)
        #expect(session.labels == ["study": "wf", "sweep": started.sweepId, "walk_forward": "oos"])
        #expect(session.range == TimeRange(start: windows[0].outOfSample.start, end: windows.last!.outOfSample.end))
        let (trades, equity) = stitched.take()
        #expect(
            try await Self.all(try await fixture.store.trades(sessionId: session.id, batchSize: 500)) == trades)
        #expect(
            try await Self.all(try await fixture.store.equity(sessionId: session.id, range: Self.whole, batchSize: 500))
                == equity)
    }

    static func all<Row>(_ cursor: any RowCursor<Row>) async throws -> [Row] {
        var rows: [Row] = []
        while let batch = try await cursor.next() { rows += batch }
        return rows
    }

    @Test func aStopKeepsTheWindowsDoneAndStitchesNothing() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        // 20 windows of 1,653 combinations each: far from done when the stop comes.
        var request = Self.request(WalkForwardSpec(windows: 20))
        request.axes = [
            SweepAxis(name: "n1", values: .range(start: 2, stop: 30, step: 1)),
            SweepAxis(name: "n2", values: .range(start: 3, stop: 60, step: 1)),
        ]
        let started = try await sweeps.start(request)
        var stopped: SweepRegistry.Stopped?
        var events: [SweepProgress] = []
        try await sweeps.watch(started.sweepId, minInterval: .milliseconds(1)) { event in
            events.append(event)
            if stopped == nil && event.window >= 1 {
                stopped = try await sweeps.stop(started.sweepId, reason: "enough")
            }
        }
        #expect(stopped?.state == .stopped && stopped?.alreadyEnded == false)
        #expect(events.last?.kind == .terminal && events.last?.state == .stopped)
        let record = try #require(try await sweeps.record(started.sweepId))
        #expect(record.state == .stopped && record.stopReason == "enough" && record.done < record.total)
        // The windows done before the stop are kept whole; no stitched run.
        let windows = try await sweeps.walkForwardWindows(started.sweepId)
        #expect((1..<20).contains(windows.count))
        #expect(windows.allSatisfy { $0.outOfSampleStatistics != nil || !$0.error.isEmpty })
        #expect(record.stitchedStatistics == nil && record.stitchedSessionId.isEmpty)
        var labelled = SessionQuery()
        labelled.labels = ["sweep": started.sweepId]
        #expect(try await fixture.store.listSessions(labelled).sessions.isEmpty)
        // A late watch of the ended walk-forward names its windows.
        let late = try await SweepRegistryTests.events(sweeps, started.sweepId)
        #expect(late.map(\.kind) == [.snapshot, .terminal] && late.last?.windows == windows.count)
    }

    @Test func theSameWalkForwardWhateverTheWorkers() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: fixture.store)
        var one = Self.request(WalkForwardSpec(windows: 3, anchored: true))
        one.workers = 1
        var many = one
        many.workers = 4
        let a = try await sweeps.start(one)
        let b = try await sweeps.start(many)
        _ = try await SweepRegistryTests.events(sweeps, a.sweepId)
        _ = try await SweepRegistryTests.events(sweeps, b.sweepId)
        let windowsA = try await sweeps.walkForwardWindows(a.sweepId)
        let windowsB = try await sweeps.walkForwardWindows(b.sweepId)
        #expect(windowsA.count == 3 && windowsA == windowsB)
        let recordA = try #require(try await sweeps.record(a.sweepId))
        let recordB = try #require(try await sweeps.record(b.sweepId))
        #expect(recordA.stitchedStatistics != nil && recordA.stitchedStatistics == recordB.stitchedStatistics)
    }

    @Test func aStoreWithoutSweepsAnswersUnimplemented() async throws {
        let fixture = try await CoreFixture(clock: SystemClock())
        defer { fixture.remove() }
        let sweeps = SweepRegistry(store: FaultyStore(fixture.store))
        do {
            _ = try await sweeps.start(Self.request(WalkForwardSpec(windows: 3)))
            Issue.record("a store without sweeps took a walk-forward")
        } catch {
            #expect(error.kind == .unimplemented && error.reason.contains("parameter sweeps need the SQLite store"))
        }
    }

    static func refusal(_ spec: WalkForwardSpec, topK: Int = 0, tick: Bool = false) -> ServiceError? {
        var request = request(spec)
        request.topK = topK
        if tick { request.base.timeframe = .tick }
        do {
            _ = try SweepPlan(request, limits: .init(maxCombinations: 500))
            return nil
        } catch {
            return error
        }
    }

    @Test func badCutsAreRefusedNamingTheField() {
        let day: Int64 = 86_400_000_000
        let cases: [(WalkForwardSpec, String, String)] = [
            (WalkForwardSpec(), "walk_forward.windows", "required"),
            (WalkForwardSpec(windows: 101), "walk_forward.windows", "1 to 100"),
            (WalkForwardSpec(windows: -1), "walk_forward.windows", "1 to 100"),
            (WalkForwardSpec(windows: 4, inSampleRatio: -1), "walk_forward.in_sample_ratio", "above 0"),
            (WalkForwardSpec(windows: 4, inSampleRatio: .nan), "walk_forward.in_sample_ratio", "above 0"),
            (WalkForwardSpec(windows: 4, inSampleRatio: 101), "walk_forward.in_sample_ratio", "at most 100"),
            (
                WalkForwardSpec(windows: 4, inSampleLength: day, outOfSampleLength: day), "walk_forward.windows",
                "not both"
            ),
            (
                WalkForwardSpec(inSampleRatio: 2, inSampleLength: day, outOfSampleLength: day),
                "walk_forward.in_sample_ratio", "leave it 0"
            ),
            (WalkForwardSpec(inSampleLength: day), "walk_forward.out_of_sample_length", "required"),
            (WalkForwardSpec(outOfSampleLength: day), "walk_forward.in_sample_length", "required"),
            (WalkForwardSpec(inSampleLength: 0, outOfSampleLength: day), "walk_forward.in_sample_length", "positive"),
            (
                WalkForwardSpec(inSampleLength: day, outOfSampleLength: -day), "walk_forward.out_of_sample_length",
                "positive"
            ),
            (
                WalkForwardSpec(inSampleLength: 3000 * day, outOfSampleLength: 200 * day),
                "walk_forward.in_sample_length", "longer than the range"
            ),
            (
                WalkForwardSpec(inSampleLength: 100 * day, outOfSampleLength: day), "walk_forward.out_of_sample_length",
                "more than 100"
            ),
            // 9 combinations x 100 windows is over a limit of 500 runs.
            (WalkForwardSpec(windows: 100), "walk_forward.windows", "more than the limit"),
        ]
        for (spec, field, words) in cases {
            let error = Self.refusal(spec)
            #expect(error?.kind == .invalidArgument && error?.field == field, "\(spec): \(String(describing: error))")
            #expect(error?.reason.contains(words) == true, "\(spec): \(String(describing: error))")
        }
        #expect(Self.refusal(WalkForwardSpec(windows: 4), topK: 3)?.field == "top_k")
        #expect(Self.refusal(WalkForwardSpec(windows: 4), tick: true)?.field == "backtest.timeframe")
        #expect(Self.refusal(WalkForwardSpec(windows: 4)) == nil)
    }

    @Test func aRangeTooShortForItsWindowsIsRefused() throws {
        var request = Self.request(WalkForwardSpec(windows: 4))
        request.base.end = request.base.start + 3
        #expect(throws: ServiceError.self) { try SweepPlan(request, limits: .init()) }
        do {
            _ = try SweepPlan(request, limits: .init())
        } catch {
            #expect(error.field == "walk_forward.windows" && error.reason.contains("too short"))
        }
    }
}
