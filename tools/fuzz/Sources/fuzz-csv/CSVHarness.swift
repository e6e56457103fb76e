import BacktestEngine
import BacktestStore
import FuzzSupport

/// CSV market data as an upload delivers it. Invariants: chunk boundaries and batch
/// size change nothing; an error names a line and column inside the input; accepted
/// rows pass the row checks; accepted rows written back as CSV parse to themselves.
enum CSVHarness {
    typealias Parser = CSVMarketDataParser

    struct Parsed: Equatable {
        var kind: MarketSeries.Kind?
        var candles: [Candle] = []
        var ticks: [Tick] = []
        var rowsParsed = 0
    }

    static func test(_ input: UnsafeBufferPointer<UInt8>) {
        let bytes = Array(input)
        let whole = parse(bytes, chunks: [bytes.count], batchSize: 8192)
        var slicer = InputSlicer(bytes)
        let chunks = slicer.chunks(total: bytes.count, sizes: 1...17)
        let chunked = parse(bytes, chunks: chunks, batchSize: 3)
        Fuzz.check(whole == chunked, "chunks \(chunks) and batch size 3 changed the result: \(whole) vs \(chunked)")
        switch whole {
        case .failure(let error): checkPosition(error, bytes)
        case .success(let parsed):
            checkRows(parsed)
            roundTrip(parsed)
        }
    }

    static func parse(_ bytes: [UInt8], chunks: [Int], batchSize: Int) -> Result<Parsed, Parser.ParseError> {
        var parser = Parser(source: "fuzz.csv", batchSize: batchSize)
        var parsed = Parsed()
        func take(_ batches: [Parser.Rows], last: Bool) {
            for (i, batch) in batches.enumerated() {
                let isLast = last && i == batches.count - 1
                Fuzz.check(
                    batch.count == batchSize || (isLast && batch.count > 0 && batch.count <= batchSize),
                    "a batch of \(batch.count) rows with batch size \(batchSize)")
                switch batch {
                case .candles(let c): parsed.candles += c
                case .ticks(let t): parsed.ticks += t
                }
            }
        }
        var start = 0
        do throws(Parser.ParseError) {
            for n in chunks where n > 0 {
                take(try parser.feed(bytes[start..<start + n]), last: false)
                start += n
            }
            take(try parser.finish(), last: true)
        } catch {
            // A parser that failed keeps failing the same way.
            let again = Result { () throws(Parser.ParseError) in try parser.finish() }
            Fuzz.check(again.failureValue == error, "finish after \(error) answered \(again)")
            return .failure(error)
        }
        parsed.kind = parser.kind
        parsed.rowsParsed = parser.rowsParsed
        return .success(parsed)
    }

    /// The error's line exists, and its column is one of that line's fields (0 = the
    /// whole line).
    static func checkPosition(_ error: Parser.ParseError, _ bytes: [UInt8]) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        Fuzz.check(error.line >= 1 && error.line <= lines.count, "error line \(error.line) of \(lines.count): \(error)")
        let fields = lines[error.line - 1].count { $0 == UInt8(ascii: ",") } + 1
        Fuzz.check(error.column >= 0 && error.column <= fields, "error column \(error.column) of \(fields): \(error)")
        Fuzz.check(error.columnName.isEmpty || error.column > 0, "a column name without a column: \(error)")
        Fuzz.check(!error.message.isEmpty, "an error without a message")
    }

    static func checkRows(_ p: Parsed) {
        Fuzz.check(p.kind != nil, "no kind after a successful parse")
        Fuzz.check(p.candles.isEmpty || p.ticks.isEmpty, "candles and ticks in one file")
        Fuzz.check(p.rowsParsed == p.candles.count + p.ticks.count, "rowsParsed \(p.rowsParsed)")
        for (i, c) in p.candles.enumerated() {
            Fuzz.check(
                [c.open, c.high, c.low, c.close].allSatisfy { $0.isFinite && $0 > 0 } && c.high >= c.low
                    && c.volume.isFinite && c.volume >= 0, "accepted candle \(c)")
            Fuzz.check(i == 0 || p.candles[i - 1].time < c.time, "candle times not increasing at row \(i)")
        }
        for (i, t) in p.ticks.enumerated() {
            Fuzz.check(t.price.isFinite && t.price > 0 && t.size.isFinite && t.size >= 0, "accepted tick \(t)")
            Fuzz.check(i == 0 || p.ticks[i - 1].time <= t.time, "tick times going back at row \(i)")
        }
    }

    /// Rows written as epoch seconds with microseconds and Swift's shortest numbers
    /// parse back to the same rows (times beyond 10^11 seconds would read as another unit).
    static func roundTrip(_ p: Parsed) {
        let times = p.candles.map(\.time) + p.ticks.map(\.time)
        guard !times.isEmpty, times.allSatisfy({ $0.magnitude < 100_000_000_000 * 1_000_000 }) else { return }
        var text = p.kind == .ticks ? "time,price,size\n" : "time,open,high,low,close,volume\n"
        for c in p.candles { text += "\(seconds(c.time)),\(c.open),\(c.high),\(c.low),\(c.close),\(c.volume)\n" }
        for t in p.ticks { text += "\(seconds(t.time)),\(t.price),\(t.size)\n" }
        let again = parse(Array(text.utf8), chunks: [text.utf8.count], batchSize: 8192)
        Fuzz.check(again == .success(p), "rows written back as\n\(text)\nparse to \(again)")
    }

    static func seconds(_ micros: Int64) -> String {
        let m = micros.magnitude
        let fraction = String(m % 1_000_000)
        return (micros < 0 ? "-" : "") + "\(m / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count)
            + fraction
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
