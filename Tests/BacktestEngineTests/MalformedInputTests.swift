import Testing

@testable import BacktestEngine

/// Bad data is refused with a message naming the row (counted over the run) and its time.
@Suite struct MalformedInputTests {
    static func engine() throws -> Engine {
        try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: .builtin(name: "sma_cross", params: ["n1": 2, "n2": 3])))
    }

    static let good = Bars.daily([(100, 101, 99, 100), (100, 102, 99, 101), (101, 103, 100, 102)])
    static let t3 = Bars.t0 + 3 * Bars.day

    static let badCandles: [(Candle, String)] = [
        (
            Candle(time: Bars.t0 + Bars.day, open: 1, high: 1, low: 1, close: 1, volume: 1),
            "row 3 at 2024-01-02T00:00:00Z: time is before the previous row's 2024-01-03T00:00:00Z; data must be sorted by time"
        ),
        (
            Candle(time: Bars.t0 + 2 * Bars.day, open: 1, high: 1, low: 1, close: 1, volume: 1),
            "row 3 at 2024-01-03T00:00:00Z: duplicate time (the previous row has the same time)"
        ),
        (
            Candle(time: t3, open: .nan, high: 1, low: 1, close: 1, volume: 1),
            "row 3 at 2024-01-04T00:00:00Z: open is nan; prices must be finite and > 0"
        ),
        (
            Candle(time: t3, open: 1, high: .infinity, low: 1, close: 1, volume: 1),
            "row 3 at 2024-01-04T00:00:00Z: high is inf; prices must be finite and > 0"
        ),
        (
            Candle(time: t3, open: 1, high: 1, low: -1, close: 1, volume: 1),
            "row 3 at 2024-01-04T00:00:00Z: low is -1.0; prices must be finite and > 0"
        ),
        (
            Candle(time: t3, open: 1, high: 1, low: 1, close: 0, volume: 1),
            "row 3 at 2024-01-04T00:00:00Z: close is 0.0; prices must be finite and > 0"
        ),
        (
            Candle(time: t3, open: 1, high: 1, low: 2, close: 1, volume: 1),
            "row 3 at 2024-01-04T00:00:00Z: high 1.0 is below low 2.0"
        ),
        (
            Candle(time: t3, open: 1, high: 1, low: 1, close: 1, volume: -5),
            "row 3 at 2024-01-04T00:00:00Z: volume is -5.0; it must be finite and >= 0"
        ),
        (
            Candle(time: t3, open: 1, high: 1, low: 1, close: 1, volume: .nan),
            "row 3 at 2024-01-04T00:00:00Z: volume is nan; it must be finite and >= 0"
        ),
    ]

    @Test(arguments: badCandles)
    func badCandleIsRefusedWithItsRow(bad: Candle, message: String) throws {
        let e = try Self.engine()
        // Rows are counted across batches: the bad one is row 3 of the run.
        try e.process(candles: Self.good)
        #expect(throws: (any Error).self) { try e.process(candles: [bad]) }
        do { try e.process(candles: [bad]) } catch { #expect(error.description == message) }
        #expect(e.progress.eventsProcessed == 3)
    }

    @Test func badTicks() throws {
        let cases: [([Tick], String)] = [
            (
                [Tick(time: 5, price: 1, size: 1), Tick(time: 4, price: 1, size: 1)],
                "row 1 at 1970-01-01T00:00:00.000004Z: time is before the previous row's 1970-01-01T00:00:00.000005Z; data must be sorted by time"
            ),
            // Equal times are fine for ticks; going back after them is not.
            (
                [Tick(time: 5, price: 1, size: 1), Tick(time: 5, price: 1, size: 1), Tick(time: 4, price: 1, size: 1)],
                "row 2 at 1970-01-01T00:00:00.000004Z: time is before the previous row's 1970-01-01T00:00:00.000005Z; data must be sorted by time"
            ),
            (
                [Tick(time: 5, price: 0, size: 1)],
                "row 0 at 1970-01-01T00:00:00.000005Z: price is 0.0; prices must be finite and > 0"
            ),
            (
                [Tick(time: 5, price: 1, size: 0)],
                "row 0 at 1970-01-01T00:00:00.000005Z: tick size is 0.0; it must be finite and > 0"
            ),
            (
                [Tick(time: 5, price: 1, size: -2)],
                "row 0 at 1970-01-01T00:00:00.000005Z: tick size is -2.0; it must be finite and > 0"
            ),
        ]
        for (ticks, message) in cases {
            let e = try Self.engine()
            do {
                try e.process(ticks: ticks)
                Issue.record(Comment(rawValue: "accepted: \(ticks)"))
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func mixingCandlesAndTicksOrProcessingAfterFinishIsRefused() throws {
        let e = try Self.engine()
        try e.process(candles: Self.good)
        #expect(throws: EngineError.mixedData(row: 3, expected: "candles")) {
            try e.process(ticks: [Tick(time: Self.t3, price: 1, size: 1)])
        }
        _ = e.finish()
        #expect(throws: EngineError.finished) { try e.process(candles: [] as [Candle]) }
    }

    @Test func noDataGivesEmptyStatistics() throws {
        let e = try Self.engine()
        try e.process(candles: [] as [Candle])
        #expect(e.progress.simTime == nil && e.progress.eventsProcessed == 0 && e.progress.equity == 1000)
        let s = e.finish()
        #expect(s.totalTrades == 0 && s.equityFinal.isNaN && s.sharpeRatio.isNaN && s.winRatePct.isNaN)
        #expect(e.takeTrades().isEmpty && e.takeEquity().isEmpty)
    }

    @Test func oneBarAndWarmUpOnlyRunsGiveStatisticsNotACrash() throws {
        for n in [1, 2] {
            let e = try Self.engine()
            try e.process(candles: Array(Self.good.prefix(n)))
            let s = e.finish()
            #expect(s.totalTrades == 0 && s.equityFinal == 1000 && s.returnPct == 0)
            #expect(e.takeEquity().count == n)
        }
    }
}
