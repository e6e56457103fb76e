import Testing

@testable import BacktestEngine

@Suite struct CandleAggregatorTests {
    @Test func ticksIntoMinuteCandles() throws {
        let m: Int64 = 60_000_000
        let base = Bars.t0
        let ticks = [
            Tick(time: base + 1, price: 10, size: 1), Tick(time: base + 5_000_000, price: 12, size: 2),
            Tick(time: base + 5_000_000, price: 9, size: 1), Tick(time: base + m - 1, price: 11, size: 3),
            // Nothing in the second minute; the third has one print.
            Tick(time: base + 2 * m + 7, price: 13, size: 4),
        ]
        let candles = try CandleAggregator.candles(from: ticks, intervalMicros: m)
        #expect(
            candles == [
                Candle(time: base, open: 10, high: 12, low: 9, close: 11, volume: 7),
                Candle(time: base + 2 * m, open: 13, high: 13, low: 13, close: 13, volume: 4),
            ])
    }

    @Test func finerCandlesIntoCoarserMatchNaiveGrouping() throws {
        let bars = Bars.randomWalk(1000, seed: 3)
        for minutes: Int64 in [1, 5, 7, 60, 1440] {
            let interval = minutes * 60_000_000
            let coarse = try CandleAggregator.candles(from: bars, intervalMicros: interval)
            // Naive: group by the start of the interval.
            var groups: [(Int64, [Candle])] = []
            for b in bars {
                let start = b.time - ((b.time % interval) + interval) % interval
                if groups.last?.0 == start { groups[groups.count - 1].1.append(b) } else { groups.append((start, [b])) }
            }
            #expect(coarse.count == groups.count)
            for (c, g) in zip(coarse, groups) {
                #expect(c.time == g.0 && c.open == g.1.first!.open && c.close == g.1.last!.close)
                #expect(c.high == g.1.map(\.high).max()! && c.low == g.1.map(\.low).min()!)
                #expect(c.volume == g.1.reduce(0) { $0 + $1.volume })
            }
        }
    }

    @Test func streamingInBatchesGivesTheSameCandles() throws {
        let bars = Bars.randomWalk(500, seed: 9)
        var a = CandleAggregator(intervalMicros: 15 * 60_000_000)
        var out: [Candle] = []
        for chunk in stride(from: 0, to: bars.count, by: 37) {
            try a.add(candles: bars[chunk..<min(chunk + 37, bars.count)], into: &out)
        }
        if let last = a.flush() { out.append(last) }
        #expect(out == (try CandleAggregator.candles(from: bars, intervalMicros: 15 * 60_000_000)))
    }

    @Test func outOfOrderInputIsRefused() {
        var a = CandleAggregator(intervalMicros: 60_000_000)
        #expect(throws: EngineError.self) {
            _ = try a.add(Tick(time: 10, price: 1, size: 1))
            _ = try a.add(Tick(time: 5, price: 1, size: 1))
        }
        #expect(CandleAggregator(timeframe: .tick) == nil)
        #expect(CandleAggregator(timeframe: .candles(seconds: 3600))?.intervalMicros == 3_600_000_000)
    }

    @Test func timesBeforeTheEpochFloor() throws {
        let c = try CandleAggregator.candles(from: [Tick(time: -1, price: 1, size: 1)], intervalMicros: 60_000_000)
        #expect(c.first?.time == -60_000_000)
    }
}
