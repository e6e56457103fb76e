import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Rows that share a microsecond in the SQLite store: ticks come back in import order
/// and equity samples in append order, complete, for every batch size, with batch and
/// chunk boundaries inside runs of one time, and after later imports rewrite chunks.
@Suite struct SQLiteSameTimeTests {
    static let everything = TimeRange(start: .min, end: .max)
    static let batchSizes = [1, 2, 7, 4096, 100_000]
    static let t0: Int64 = 1_704_067_200_000_000

    /// Times of `count` rows: short runs at one time (a fixed irregular pattern), gaps of
    /// 10 µs (room for rows in between), and the runs `long` (index ranges) at one time each.
    static func times(_ count: Int, long: [Range<Int>]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(count)
        var time = t0
        for i in 0..<count {
            let inLong = long.contains { $0.contains(i) && $0.lowerBound != i }
            if i > 0 && !inLong && (i * 37 + i / 11) % 5 >= 2 { time += 10 }
            out.append(time)
        }
        return out
    }

    /// Ticks whose size is their import position (1, 2, ...): any reordering shows.
    static func ticks(_ times: [Int64]) -> [Tick] {
        times.enumerated().map { i, t in Tick(time: t, price: 100 + Double(i % 17) / 100, size: Double(i + 1)) }
    }

    static func importTicks(_ store: SQLiteStore, _ ticks: [Tick], replace: Bool = false, appends: [Int] = [])
        async throws
    {
        let importer = try await store.beginImport(
            symbol: "SAME", kind: .ticks, timeframe: "", replaceExisting: replace)
        var start = 0
        for size in appends + [ticks.count] where start < ticks.count {
            let end = min(ticks.count, start + size)
            try await importer.append(ticks: Array(ticks[start..<end]))
            start = end
        }
        _ = try await importer.commit()
    }

    static func expectTicks(
        _ store: SQLiteStore, _ expected: [Tick], range: TimeRange = everything,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for size in batchSizes {
            let batches = try await allBatches(try await store.ticks(symbol: "SAME", range: range, batchSize: size))
            #expect(
                batches.allSatisfy { !$0.isEmpty && $0.count <= size }, "batch size \(size)",
                sourceLocation: sourceLocation)
            let got = batches.flatMap { $0 }
            #expect(got.count == expected.count, "batch size \(size)", sourceLocation: sourceLocation)
            if let i = zip(got, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record(
                    Comment(rawValue: "batch size \(size): row \(i) is \(got[i]), expected \(expected[i])"),
                    sourceLocation: sourceLocation)
            }
        }
    }

    // Runs at one time across the first chunk boundary (4096) and over whole chunks.
    static let longRuns = [4_000..<4_200, 6_000..<11_000]

    @Test func ticksAtOneTimeComeBackInImportOrderForEveryBatchSize() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let ticks = Self.ticks(Self.times(14_000, long: Self.longRuns))
            // Appends cut runs too.
            try await Self.importTicks(store, ticks, appends: [1, 4_098, 3, 2_000])
            try await Self.expectTicks(store, ticks)
            // Ranges start and end at times with runs; a range holds whole runs.
            for (from, to) in [(4_000, 4_200), (4_100, 6_500), (6_000, 11_000), (10_999, 14_000)] {
                let range = TimeRange(start: ticks[from].time, end: ticks[to - 1].time + 1)
                try await Self.expectTicks(store, ticks.filter { range.contains($0.time) }, range: range)
            }
        }
    }

    /// A later import rewrites the chunks it touches; chunks that share a time with them
    /// (a run across a chunk boundary) must keep their place after the rewrite.
    @Test(arguments: [false, true])
    func importsBesideARunKeepTheRunsOrder(replace: Bool) async throws {
        try await withTemporarySQLiteStore { store, _ in
            let ticks = Self.ticks(Self.times(14_000, long: Self.longRuns))
            try await Self.importTicks(store, ticks)
            // One tick just before each long run, at a time nothing has: the chunk ending
            // in the run is rewritten, the next one (starting in the run) is not.
            var expected = ticks
            for run in Self.longRuns.reversed() {
                let time = ticks[run.lowerBound].time - 1
                let tick = Tick(time: time, price: 1, size: 0.5)
                try await Self.importTicks(store, [tick], replace: replace)
                expected.insert(tick, at: expected.firstIndex { $0.time > time }!)
                try await Self.expectTicks(store, expected)
            }
            // Ticks between every stored time of the first chunk, merged (no replace) or
            // replacing that stretch: again the runs that continue into later chunks stay whole.
            let between = ticks[..<3_990].map(\.time).reduce(into: [Int64]()) { out, t in
                if out.last != t + 5 { out.append(t + 5) }
            }
            .map { Tick(time: $0, price: 2, size: 0.25) }
            try await Self.importTicks(store, between, replace: replace)
            let first = between[0].time, last = between[between.count - 1].time
            let kept = replace ? expected.filter { $0.time < first || $0.time > last } : expected
            let merged = (kept + between).enumerated().sorted {
                ($0.element.time, $0.offset) < ($1.element.time, $1.offset)
            }.map(\.element)
            try await Self.expectTicks(store, merged)
        }
    }

    @Test func equitySamplesAtOneTimeComeBackCompleteAndInOrder() async throws {
        try await withTemporarySQLiteStore { store, _ in
            // One sample per tick, equity numbering them; runs cross appends and chunks (4096).
            let times = Self.times(13_000, long: [4_090..<4_100, 5_000..<9_500])
            let points = times.enumerated().map { i, t in
                EquitySample(
                    time: t, equity: 10_000 + Double(i), cash: 5_000, positionSize: Double(i % 3), drawdownPct: 0)
            }
            var start = 0
            for size in [1, 4_094, 3, 4_800, 2, points.count] where start < points.count {
                let end = min(points.count, start + size)
                try await store.appendEquity(sessionId: "s", Array(points[start..<end]))
                start = end
            }
            for size in Self.batchSizes {
                let batches = try await allBatches(
                    try await store.equity(sessionId: "s", range: Self.everything, batchSize: size))
                #expect(batches.allSatisfy { !$0.isEmpty && $0.count <= size })
                #expect(batches.flatMap { $0 } == points, "batch size \(size)")
            }
            for (from, to) in [(4_090, 4_100), (4_095, 9_500), (5_000, 13_000)] {
                let range = TimeRange(start: points[from].time, end: points[to - 1].time + 1)
                let expected = points.filter { range.contains($0.time) }
                for size in Self.batchSizes {
                    #expect(
                        try await allRows(try await store.equity(sessionId: "s", range: range, batchSize: size))
                            == expected,
                        "range \(from)..<\(to), batch size \(size)")
                }
            }
        }
    }
}
