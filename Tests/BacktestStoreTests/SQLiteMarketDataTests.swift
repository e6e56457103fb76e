import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Market data in the SQLite store: imports (commit, abort, invalid rows, conflicts,
/// replace, interleaving), range reads in batches, candles built from ticks, listing.
@Suite struct SQLiteMarketDataTests {
    static let everything = TimeRange(start: .min, end: .max)
    static let oneMinute = Timeframe.candles(seconds: 60)

    static func importCandles(
        _ store: SQLiteStore, _ symbol: String, _ candles: [Candle], replace: Bool = false,
        timeframe: String = "1m", batch: Int = 3000
    ) async throws -> MarketSeries {
        let importer = try await store.beginImport(
            symbol: symbol, kind: .candles, timeframe: timeframe, replaceExisting: replace)
        var start = 0
        while start < candles.count {
            let end = min(start + batch, candles.count)
            try await importer.append(candles: Array(candles[start..<end]))
            start = end
        }
        return try await importer.commit()
    }

    @Test func candleImportCommitAndRangeReads() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 7)
            let candles = generator.candles(count: 10_000)
            let series = try await Self.importCandles(store, "SYN", candles)
            #expect(
                series
                    == MarketSeries(
                        symbol: "SYN", kind: .candles, timeframe: "1m", firstTime: candles[0].time,
                        lastTime: candles[9_999].time, rows: 10_000))
            #expect(try await store.marketSeries(symbol: "") == [series])
            #expect(try await store.marketSeries(symbol: "SYN") == [series])
            #expect(try await store.marketSeries(symbol: "OTHER").isEmpty)

            let batches = try await allBatches(
                try await store.candles(
                    symbol: "SYN", timeframe: Self.oneMinute, range: Self.everything, batchSize: 3000))
            #expect(batches.map(\.count) == [3000, 3000, 3000, 1000])
            #expect(batches.flatMap { $0 } == candles)
            for (from, to) in [(0, 1), (4095, 4097), (123, 8_888), (9_999, 10_000)] {
                let range = TimeRange(start: candles[from].time, end: candles[to - 1].time + 1)
                #expect(
                    try await allRows(
                        try await store.candles(symbol: "SYN", timeframe: Self.oneMinute, range: range, batchSize: 500))
                        == Array(candles[from..<to]))
            }
            // Another timeframe or symbol: nothing stored, an empty cursor.
            #expect(
                try await allRows(
                    try await store.candles(
                        symbol: "SYN", timeframe: .candles(seconds: 300), range: Self.everything, batchSize: 10)
                ).isEmpty)
            #expect(
                try await allRows(
                    try await store.candles(
                        symbol: "NONE", timeframe: Self.oneMinute, range: Self.everything, batchSize: 10)
                ).isEmpty)
            // Timeframes are canonical: "60m" is stored and found as "1h".
            let hourly = try await Self.importCandles(
                store, "SYN", [Candle(time: 0, open: 1, high: 2, low: 1, close: 2, volume: 0)], timeframe: "60m")
            #expect(hourly.timeframe == "1h")
            #expect(
                try await allRows(
                    try await store.candles(
                        symbol: "SYN", timeframe: .candles(seconds: 3600), range: Self.everything, batchSize: 10)
                ).count == 1)
        }
    }

    @Test func abortedAndInvalidImportsLeaveNothing() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 1)
            let candles = generator.candles(count: 9_000)
            let aborted = try await store.beginImport(
                symbol: "AB", kind: .candles, timeframe: "1m", replaceExisting: false)
            try await aborted.append(candles: candles)
            await aborted.abort()
            await #expect(throws: StoreError.self) { try await aborted.commit() }
            #expect(try await store.marketSeries(symbol: "").isEmpty)

            var bad = candles
            bad[8_500].high = bad[8_500].low - 1
            let invalid = try await store.beginImport(
                symbol: "AB", kind: .candles, timeframe: "1m", replaceExisting: false)
            await #expect(
                throws: StoreError.invalid(
                    "AB row 8501, column high: high \(bad[8_500].high) is below low \(bad[8_500].low)")
            ) {
                try await invalid.append(candles: bad)
            }
            await #expect(throws: StoreError.self) { try await invalid.commit() }
            #expect(try await store.marketSeries(symbol: "").isEmpty)

            // Unsorted or duplicate times, NaN, wrong kind, no rows, bad timeframe.
            let cases: [[Candle]] = [
                [candles[1], candles[0]], [candles[0], candles[0]],
                [Candle(time: 1, open: .nan, high: 1, low: 1, close: 1, volume: 1)],
                [Candle(time: 1, open: 1, high: 1, low: 1, close: 1, volume: -1)],
                [Candle(time: 1, open: 0, high: 1, low: 1, close: 1, volume: 1)],
            ]
            for rows in cases {
                let i = try await store.beginImport(
                    symbol: "AB", kind: .candles, timeframe: "1m", replaceExisting: false)
                await #expect(throws: StoreError.self) { try await i.append(candles: rows) }
            }
            let wrongKind = try await store.beginImport(
                symbol: "AB", kind: .candles, timeframe: "1m", replaceExisting: false)
            await #expect(throws: StoreError.self) {
                try await wrongKind.append(ticks: [Tick(time: 1, price: 1, size: 1)])
            }
            let empty = try await store.beginImport(
                symbol: "AB", kind: .candles, timeframe: "1m", replaceExisting: false)
            await #expect(throws: StoreError.self) { try await empty.commit() }
            await #expect(throws: StoreError.self) {
                try await store.beginImport(symbol: "AB", kind: .candles, timeframe: "tick", replaceExisting: false)
            }
            await #expect(throws: StoreError.self) {
                try await store.beginImport(symbol: "AB", kind: .candles, timeframe: "01m", replaceExisting: false)
            }
            await #expect(throws: StoreError.self) {
                try await store.beginImport(symbol: "", kind: .ticks, timeframe: "", replaceExisting: false)
            }
            #expect(try await store.marketSeries(symbol: "").isEmpty)
        }
    }

    @Test func conflictsReplaceAndInterleave() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 3)
            // Every other minute, 10,000 bars.
            let stored = generator.candles(count: 10_000, intervalMicros: 120_000_000)
            _ = try await Self.importCandles(store, "X", stored)
            func read() async throws -> [Candle] {
                try await allRows(
                    try await store.candles(
                        symbol: "X", timeframe: Self.oneMinute, range: Self.everything, batchSize: 4096))
            }

            // Same times without replace: a conflict, nothing changes.
            var overlap = Array(stored[5_000..<5_010])
            for i in overlap.indices {
                overlap[i].close += 1
                overlap[i].high += 1
            }
            await #expect(throws: StoreError.self) { try await Self.importCandles(store, "X", overlap) }
            do {
                _ = try await Self.importCandles(store, "X", overlap)
            } catch let error as StoreError {
                guard case .conflict(let message) = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(message.contains("10 imported row(s)"))
            }
            #expect(try await read() == stored)

            // With replace: the imported range [first, last] is replaced, rows around it stay.
            let replacement = generator.candles(
                count: 3, start: stored[4_000].time + 30_000_000, intervalMicros: 60_000_000)
            let replaced = try await Self.importCandles(store, "X", replacement, replace: true)
            #expect(replaced.rows == 3)
            let expectedAfterReplace =
                stored.filter { $0.time < replacement[0].time || $0.time > replacement[2].time } + replacement
            #expect(try await read() == expectedAfterReplace.sorted { $0.time < $1.time })

            // Times in between stored ones, without replace: merged in order.
            let between = (0..<5_000).map { i in
                Candle(time: stored[i].time + 60_000_000, open: 5, high: 6, low: 4, close: 5, volume: 1)
            }
            _ = try await Self.importCandles(store, "X", between)
            let merged = (expectedAfterReplace + between).sorted { $0.time < $1.time }
            #expect(try await read() == merged)
            let series = try await store.marketSeries(symbol: "X")
            #expect(series.map(\.rows) == [UInt64(merged.count)])

            // Appending after the end and before the start needs no merge.
            let later = generator.candles(count: 5, start: stored[9_999].time + 3_600_000_000)
            let earlier = generator.candles(count: 5, start: stored[0].time - 3_600_000_000)
            _ = try await Self.importCandles(store, "X", later)
            _ = try await Self.importCandles(store, "X", earlier)
            #expect(try await read() == earlier + merged + later)
        }
    }

    @Test func ticksKeepArrivalOrderAndMakeCandles() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 11)
            let ticks = generator.ticks(count: 20_000)
            #expect(zip(ticks, ticks.dropFirst()).contains { $0.time == $1.time })
            let importer = try await store.beginImport(
                symbol: "TK", kind: .ticks, timeframe: "tick", replaceExisting: false)
            try await importer.append(ticks: Array(ticks[..<7_777]))
            try await importer.append(ticks: Array(ticks[7_777...]))
            let series = try await importer.commit()
            #expect(
                series
                    == MarketSeries(
                        symbol: "TK", kind: .ticks, timeframe: "", firstTime: ticks[0].time, lastTime: ticks.last!.time,
                        rows: 20_000))

            let read = try await allBatches(
                try await store.ticks(symbol: "TK", range: Self.everything, batchSize: 6_000))
            #expect(read.map(\.count) == [6_000, 6_000, 6_000, 2_000])
            #expect(read.flatMap { $0 } == ticks)

            // Candles from ticks, computed here independently of the store's aggregator.
            func expectedCandles(_ ticks: [Tick], interval: Int64) -> [Candle] {
                var out: [Candle] = []
                for tick in ticks {
                    let bucket = tick.time / interval * interval
                    if let last = out.last, last.time == bucket {
                        out[out.count - 1] = Candle(
                            time: bucket, open: last.open, high: max(last.high, tick.price),
                            low: min(last.low, tick.price),
                            close: tick.price, volume: last.volume + tick.size)
                    } else {
                        out.append(
                            Candle(
                                time: bucket, open: tick.price, high: tick.price, low: tick.price, close: tick.price,
                                volume: tick.size))
                    }
                }
                return out
            }
            let minute = try await allBatches(
                try await store.candles(symbol: "TK", timeframe: Self.oneMinute, range: Self.everything, batchSize: 100)
            )
            #expect(minute.allSatisfy { $0.count <= 100 })
            #expect(minute.flatMap { $0 } == expectedCandles(ticks, interval: 60_000_000))
            let range = TimeRange(start: ticks[5_000].time, end: ticks[15_000].time)
            let inRange = ticks.filter { range.contains($0.time) }
            #expect(
                try await allRows(
                    try await store.candles(symbol: "TK", timeframe: .candles(seconds: 300), range: range, batchSize: 7)
                )
                    == expectedCandles(inRange, interval: 300_000_000))
            #expect(try await allRows(try await store.ticks(symbol: "TK", range: range, batchSize: 999)) == inRange)
            // Candles built from ticks are not listed as a series.
            #expect(try await store.marketSeries(symbol: "TK").map(\.kind) == [.ticks])

            // A tick at an already stored time conflicts; with replace, the range is replaced.
            let again = [Tick(time: ticks[100].time, price: 1, size: 1)]
            let conflicting = try await store.beginImport(
                symbol: "TK", kind: .ticks, timeframe: "", replaceExisting: false)
            try await conflicting.append(ticks: again)
            await #expect(throws: StoreError.self) { try await conflicting.commit() }
            let replacing = try await store.beginImport(
                symbol: "TK", kind: .ticks, timeframe: "", replaceExisting: true)
            try await replacing.append(ticks: again)
            _ = try await replacing.commit()
            let afterReplace = try await allRows(
                try await store.ticks(symbol: "TK", range: Self.everything, batchSize: 50_000))
            let t = ticks[100].time
            #expect(afterReplace == ticks.filter { $0.time < t } + again + ticks.filter { $0.time > t })
        }
    }

    @Test func longReadDoesNotBlockWrites() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 5)
            let candles = generator.candles(count: 20_000)
            _ = try await Self.importCandles(store, "L", candles)
            let cursor = try await store.candles(
                symbol: "L", timeframe: Self.oneMinute, range: Self.everything, batchSize: 1000)
            var read = try #require(try await cursor.next())
            // Writes (and an import of the same symbol) go through while the cursor is open.
            try await store.saveSession(sampleSession(id: "w", createdAt: 1))
            try await store.appendEquity(
                sessionId: "w", [EquitySample(time: 1, equity: 1, cash: 1, positionSize: 0, drawdownPct: 0)])
            _ = try await Self.importCandles(store, "L2", Array(candles[..<10]))
            while let batch = try await cursor.next() { read += batch }
            #expect(read == candles)
            cursor.close()
        }
    }
}
