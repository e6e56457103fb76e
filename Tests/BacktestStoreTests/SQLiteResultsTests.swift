import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Trades and equity curves in the SQLite store: appended in batches, read back in
/// batches of a requested size and time ranges.
@Suite struct SQLiteResultsTests {
    static func trade(_ n: Int) -> TradeRecord {
        TradeRecord(
            number: n, side: n % 2 == 0 ? .short : .long, quantity: Double(n * 10), entryTime: Int64(n) * 1_000_000,
            exitTime: n == 10 ? nil : Int64(n) * 1_000_000 + 500, entryPrice: 100.5 + Double(n),
            exitPrice: n == 3 ? .nan : 101.25,
            pnl: Double(n) - 5.5, returnPct: -0.125 * Double(n), commission: 0.01,
            entryRule: n == 4 ? "rule \"x\"; DROP TABLE backtest_trades; --" : "S1", exitRule: n == 10 ? "" : "ZE1",
            entryIndex: n * 3, exitIndex: n == 10 ? nil : n * 3 + 2)
    }

    @Test func tradesRoundTripInBatches() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let trades = (1...10).map(Self.trade)
            try await store.appendTrades(sessionId: "s1", Array(trades[0..<4]))
            try await store.appendTrades(sessionId: "s1", Array(trades[4...]))
            try await store.appendTrades(sessionId: "other", [Self.trade(1)])
            let batches = try await allBatches(try await store.trades(sessionId: "s1", batchSize: 3))
            #expect(batches.map(\.count) == [3, 3, 3, 1])
            let read = batches.flatMap { $0 }
            #expect(read.count == 10)
            for (a, b) in zip(read, trades) {
                // exitPrice NaN (trade 3) reads back as NaN.
                if b.exitPrice.isNaN {
                    #expect(a.exitPrice.isNaN)
                    var a2 = a, b2 = b
                    a2.exitPrice = 0
                    b2.exitPrice = 0
                    #expect(a2 == b2)
                } else {
                    #expect(a == b)
                }
            }
            #expect(try await allRows(try await store.trades(sessionId: "none", batchSize: 100)).isEmpty)
            // Appending the same trade number again replaces it (a retried batch never duplicates).
            var changed = Self.trade(2)
            changed.pnl = 999
            try await store.appendTrades(sessionId: "s1", [changed])
            let again = try await allRows(try await store.trades(sessionId: "s1", batchSize: 100))
            #expect(again.count == 10)
            #expect(again[1].pnl == 999)
        }
    }

    /// Numbers stored again replace the stored trades (INSERT OR REPLACE), also across
    /// chunk boundaries, mixed with new numbers, unsorted and duplicated within a batch.
    @Test func reappendedTradesReplaceAcrossChunks() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var expected = (1...3000).map(Self.trade)
            try await store.appendTrades(sessionId: "s", Array(expected[0..<1500]))
            try await store.appendTrades(sessionId: "s", Array(expected[1500..<2500]))
            // 1000...1100 (inside the first chunk run), 2400...2600 (old and new numbers),
            // given in reverse, 2450 twice (the later one wins).
            var again: [TradeRecord] = []
            for n in Array(1000...1100) + Array(2400...2600) {
                var t = Self.trade(n)
                t.pnl = Double(n) * 1000
                again.append(t)
                expected[n - 1] = t
            }
            var twice = Self.trade(2450)
            twice.pnl = -1
            again.append(twice)
            expected[2449] = twice
            try await store.appendTrades(sessionId: "s", again.reversed() + [twice])
            try await store.appendTrades(sessionId: "s", Array(expected[2600..<3000]))
            // A gap, then a number below everything stored.
            var low = Self.trade(0)
            low.number = -5
            try await store.appendTrades(sessionId: "s", [low])
            expected.insert(low, at: 0)
            let read = try await allBatches(try await store.trades(sessionId: "s", batchSize: 999))
            #expect(read.dropLast().allSatisfy { $0.count == 999 })
            let all = read.flatMap { $0 }
            #expect(all.map(\.number) == expected.map(\.number))
            #expect(all.map(\.pnl) == expected.map(\.pnl))
        }
    }

    @Test func equityCurveRangesAndBatches() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let t0: Int64 = 1_704_067_200_000_000
            var points: [EquitySample] = []
            for i in 0..<10_000 {
                let time: Int64 = t0 + Int64(i) * 60_000_000
                let cash: Double = i % 100 == 0 ? .nan : 5_000
                let drawdown: Double = -Double(i % 13) / 10
                points.append(
                    EquitySample(
                        time: time, equity: 10_000 + Double(i) * 0.5, cash: cash,
                        positionSize: Double(i % 7) - 3, drawdownPct: drawdown))
            }
            // Uneven batches: single points, a batch larger than a chunk, the rest.
            var start = 0
            for size in [1, 1, 5_000, 999, 3] {
                try await store.appendEquity(sessionId: "s1", Array(points[start..<start + size]))
                start += size
            }
            try await store.appendEquity(sessionId: "s1", Array(points[start...]))
            try await store.appendEquity(sessionId: "s2", Array(points[0..<10]))

            func same(_ a: [EquitySample], _ b: [EquitySample]) -> Bool {
                a.count == b.count
                    && zip(a, b).allSatisfy { x, y in
                        x.time == y.time && x.equity == y.equity && x.cash.bitPattern == y.cash.bitPattern
                            && x.positionSize == y.positionSize && x.drawdownPct == y.drawdownPct
                    }
            }
            let everything = TimeRange(start: .min, end: .max)
            let batches = try await allBatches(
                try await store.equity(sessionId: "s1", range: everything, batchSize: 1000))
            #expect(batches.count == 10)
            #expect(batches.allSatisfy { $0.count == 1000 })
            #expect(same(batches.flatMap { $0 }, points))

            for (from, to, batch) in [
                (100, 200, 7), (0, 1, 1), (4_990, 5_010, 3), (9_999, 10_000, 50), (2, 9_998, 4096),
            ] {
                let range = TimeRange(start: points[from].time, end: points[to - 1].time + 1)
                let got = try await allBatches(try await store.equity(sessionId: "s1", range: range, batchSize: batch))
                #expect(got.allSatisfy { $0.count <= batch && !$0.isEmpty })
                #expect(same(got.flatMap { $0 }, Array(points[from..<to])), "range \(from)..<\(to)")
            }
            // Half-open: the end time itself is excluded.
            let halfOpen = TimeRange(start: points[10].time, end: points[20].time)
            #expect(
                try await allRows(try await store.equity(sessionId: "s1", range: halfOpen, batchSize: 100)).count == 10)
            #expect(
                try await allRows(
                    try await store.equity(sessionId: "s1", range: TimeRange(start: 5, end: 5), batchSize: 10)
                ).isEmpty)
            #expect(
                try await allRows(try await store.equity(sessionId: "s2", range: everything, batchSize: 3)).count == 10)
            #expect(
                try await allRows(try await store.equity(sessionId: "none", range: everything, batchSize: 3)).isEmpty)
        }
    }
}
