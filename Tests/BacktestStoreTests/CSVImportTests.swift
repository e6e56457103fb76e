import BacktestEngine
import Foundation
import TestSupport
import Testing
import TimeKit

@testable import BacktestStore

/// The CSV parser (layouts, times, chunks split anywhere, every kind of bad row) and
/// the importer that drives it into a store all-or-nothing.
@Suite struct CSVImportTests {
    static let googPath = Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path

    static func parseAll(_ text: String, chunkSizes: [Int] = [], source: String = "test.csv", batchSize: Int = 8192)
        throws(CSVMarketDataParser.ParseError) -> [CSVMarketDataParser.Rows]
    {
        var parser = CSVMarketDataParser(source: source, batchSize: batchSize)
        let bytes = Array(text.utf8)
        var out: [CSVMarketDataParser.Rows] = []
        var start = 0
        var k = 0
        while start < bytes.count {
            let size = chunkSizes.isEmpty ? bytes.count : chunkSizes[k % chunkSizes.count]
            let end = min(bytes.count, start + size)
            out += try parser.feed(bytes[start..<end])
            start = end
            k += 1
        }
        out += try parser.finish()
        return out
    }

    static func candles(_ rows: [CSVMarketDataParser.Rows]) -> [Candle] {
        rows.flatMap { r -> [Candle] in if case .candles(let c) = r { return c } else { return [] } }
    }

    static func ticks(_ rows: [CSVMarketDataParser.Rows]) -> [Tick] {
        rows.flatMap { r -> [Tick] in if case .ticks(let t) = r { return t } else { return [] } }
    }

    @Test func googInAnyChunkingParsesTheSame() throws {
        let text = try String(contentsOfFile: Self.googPath, encoding: .utf8)
        let whole = Self.candles(try Self.parseAll(text))
        let lines = text.split(separator: "\n").dropFirst()
        #expect(whole.count == lines.count)
        #expect(whole.count == 2148)
        // Values as Swift's own Double parser reads them, dates at midnight UTC.
        for (candle, line) in zip(whole, lines) {
            let f = line.split(separator: ",").map(String.init)
            #expect([candle.open, candle.high, candle.low, candle.close, candle.volume] == f[1...].map { Double($0)! })
        }
        #expect(whole[0].time == 1_092_873_600_000_000)
        #expect(UTCTime.format(whole[whole.count - 1].time) == "2013-03-01T00:00:00Z")
        for sizes in [[1], [2, 3, 5, 7], [4095], [17, 1, 1, 64]] {
            let rows = try Self.parseAll(text, chunkSizes: sizes, batchSize: 500)
            #expect(rows.dropLast().allSatisfy { $0.count == 500 })
            #expect(Self.candles(rows) == whole)
        }
    }

    @Test func layoutsAndTimeFormats() throws {
        let expected = [
            Candle(time: 1_700_000_000_000_000, open: 1.5, high: 2, low: 1, close: 1.75, volume: 10),
            Candle(time: 1_700_000_060_000_000, open: 1.75, high: 2.5, low: 1.5, close: 2, volume: 0),
        ]
        let variants = [
            "time,open,high,low,close,volume\n1700000000,1.5,2,1,1.75,10\n1700000060,1.75,2.5,1.5,2,0\n",
            "time,open,high,low,close,volume\r\n1700000000000,1.5,2,1,1.75,10\r\n1700000060000,1.75,2.5,1.5,2,0",
            "Time,Open,High,Low,Close,Volume\n1700000000000000,1.5,2,1,1.75,10\n1700000060000000,1.75,2.5,1.5,2,0\n\n",
            "\u{FEFF}timestamp,open,high,low,close,volume\n2023-11-14T22:13:20Z,1.5,2,1,1.75,10\n2023-11-14 22:14:20.000000,1.75,2.5,1.5,2,0\n",
            "time, open, high, low, close, volume\n2023-11-15T00:13:20+02:00, 1.5 ,2,1,1.75,10\n2023-11-14T17:14:20-05:00,\"1.75\",2.5,1.5,2.0,0e0\n",
        ]
        for text in variants {
            #expect(Self.candles(try Self.parseAll(text, chunkSizes: [3])) == expected, "\(text)")
        }
        let ticks =
            "time,price,size\n2024-01-02T09:30:00.000001Z,100.25,5\n2024-01-02T09:30:00.000001Z,100.5,1\n1704187800.5,99,2\n"
        let parsed = Self.ticks(try Self.parseAll(ticks))
        #expect(
            parsed == [
                Tick(time: 1_704_187_800_000_001, price: 100.25, size: 5),
                Tick(time: 1_704_187_800_000_001, price: 100.5, size: 1),
                Tick(time: 1_704_187_800_500_000, price: 99, size: 2),
            ])
    }

    @Test func ticksInEpochMicros() throws {
        let text = "time,price,size\n1704187800000001,100.25,5\n1704187800000001,100.5,1\n1704187800500000,99,2\n"
        #expect(
            Self.ticks(try Self.parseAll(text, chunkSizes: [2])) == [
                Tick(time: 1_704_187_800_000_001, price: 100.25, size: 5),
                Tick(time: 1_704_187_800_000_001, price: 100.5, size: 1),
                Tick(time: 1_704_187_800_500_000, price: 99, size: 2),
            ])
    }

    @Test(
        arguments: [
            ("time,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,x,1,1,1\n", 3, 3, "\"x\" is not a number"),
            ("time,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,1,NaN,1\n", 3, 5, "close is NaN"),
            ("time,open,high,low,close,volume\n1,-1,1,1,1,1\n", 2, 2, "open -1.0 is not positive"),
            ("time,open,high,low,close,volume\n1,1,1,0,1,1\n", 2, 4, "low 0.0 is not positive"),
            ("time,open,high,low,close,volume\n1,1,1,2,1,1\n", 2, 3, "high 1.0 is below low 2.0"),
            ("time,open,high,low,close,volume\n1,1,1,1,1,-5\n", 2, 6, "volume -5.0 is negative"),
            ("time,open,high,low,close,volume\n5,1,1,1,1,1\n4,1,1,1,1,1\n", 3, 1, "is before the previous row"),
            ("time,open,high,low,close,volume\n5,1,1,1,1,1\n5,1,1,1,1,1\n", 3, 1, "duplicate time"),
            ("time,open,high,low,close,volume\n5,1,1,1,1\n", 2, 0, "expected 6 columns"),
            ("time,open,high,low,close,volume\n5,1,1,1,1,1,1\n", 2, 0, "expected 6 columns"),
            ("time,open,high,low,close,volume\n5,1,1,1,1,\n", 2, 6, "empty value"),
            ("time,open,high,low,close,volume\nyesterday,1,1,1,1,1\n", 2, 1, "is not a time"),
            ("time,open,high,low,close,volume\n2024-02-30,1,1,1,1,1\n", 2, 1, "is not a time"),
            ("time,open,hi,low,close,volume\n", 1, 3, "unknown header"),
            ("symbol,price,size\n", 1, 1, "unknown header"),
            ("time,price,size,venue\n", 1, 4, "unknown header"),
            ("time,price,size\n1,1,1\n1,1,1\n0,1,1\n", 4, 1, "is before the previous row"),
            ("time,price,size\n1,0,1\n", 2, 2, "price 0.0 is not positive"),
            ("time,price,size\n1,1,inf\n", 2, 3, "size is infinite"),
            ("time,price,size\n1,1,€\n", 2, 3, "\"€\" is not a number"),
            ("", 1, 0, "the file is empty"),
            // Found by fuzzing (tools/fuzz): the fraction carried a time just inside
            // Int64 over its edge, and the addition trapped.
            ("time,price,size\n1,1,1\n9223372036854.999999,1,1\n", 3, 1, "is out of range"),
            ("time,price,size\n-1,1,1\n-9223372036854.999999,1,1\n", 3, 1, "is out of range"),
        ] as [(String, Int, Int, String)])
    func malformedRows(text: String, line: Int, column: Int, message: String) throws {
        for sizes in [[], [1], [2, 1]] {
            do {
                _ = try Self.parseAll(text, chunkSizes: sizes, source: "bad.csv")
                Issue.record("no error for \(text.debugDescription)")
            } catch {
                #expect(error.source == "bad.csv")
                #expect(error.line == line, "\(error)")
                #expect(error.column == column, "\(error)")
                #expect(error.message.contains(message), "\(error)")
                #expect(error.description.hasPrefix("bad.csv line \(line)"))
            }
        }
    }

    @Test func fastNumbersEqualSwiftsParser() {
        var generator = SyntheticMarketData(seed: 99)
        for _ in 0..<20_000 {
            let digits = Int(generator.nextUInt64() % 15) + 1
            var text = String(generator.nextUInt64() % 1_000_000_000_000_000)
            text = String(text.prefix(digits))
            let dot = Int(generator.nextUInt64() % UInt64(text.count + 1))
            if dot < text.count { text.insert(".", at: text.index(text.startIndex, offsetBy: dot)) }
            if generator.nextUInt64() % 4 == 0 { text = "-" + text }
            let fast = CSVMarketDataParser.fastDouble(Array(text.utf8)[...])
            #expect(fast == nil || fast == Double(text), "\(text)")
        }
    }

    @Test func importerCommitsGoogAndInfersTheTimeframe() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let series = try await MarketDataImporter.importCSVFile(path: Self.googPath, store: store, symbol: "GOOG")
            #expect(series.timeframe == "1d")
            #expect(series.rows == 2148)
            #expect(series.firstTime == 1_092_873_600_000_000)
            let stored = try await allRows(
                try await store.candles(
                    symbol: "GOOG", timeframe: .candles(seconds: 86_400),
                    range: TimeRange(start: .min, end: .max), batchSize: 1000))
            let text = try String(contentsOfFile: Self.googPath, encoding: .utf8)
            #expect(stored == Self.candles(try Self.parseAll(text)))
            // Importing it again conflicts; with replace it succeeds.
            await #expect(throws: StoreError.self) {
                try await MarketDataImporter.importCSVFile(path: Self.googPath, store: store, symbol: "GOOG")
            }
            #expect(
                try await MarketDataImporter.importCSVFile(
                    path: Self.googPath, store: store, symbol: "GOOG", replaceExisting: true
                ).rows == 2148)
        }
    }

    @Test func importerAbortsOnTheFirstBadRow() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var generator = SyntheticMarketData(seed: 2)
            var text = "time,price,size\n"
            for tick in generator.ticks(count: 30_000) { text += "\(tick.time),\(tick.price),\(tick.size)\n" }
            text += "garbage,1,1\n"
            let importer = MarketDataImporter(
                store: store, symbol: "T", timeframe: "", replaceExisting: false, source: "ticks.csv", batchSize: 1000)
            let bytes = Array(text.utf8)
            var failure: Error?
            var start = 0
            while start < bytes.count && failure == nil {
                let end = min(bytes.count, start + 7_919)
                do { try await importer.feed(csv: bytes[start..<end]) } catch { failure = error }
                start = end
            }
            if failure == nil {
                do { _ = try await importer.finish() } catch { failure = error }
            }
            let error = try #require(failure as? CSVMarketDataParser.ParseError)
            #expect(error.line == 30_002)
            #expect(error.column == 1)
            // 30 batches reached the store's import before the bad row; none is visible.
            #expect(try await store.marketSeries(symbol: "").isEmpty)
            await #expect(throws: StoreError.self) { try await importer.finish() }
        }
    }
}
