import BacktestEngine
import TimeKit

/// Parses market data CSV given as byte chunks split anywhere (mid-line, mid-UTF-8
/// character) into batches of rows. Layouts, chosen by the header line:
///
/// - candles: `,Open,High,Low,Close,Volume` (pandas' unnamed date index, as in
///   GOOG.csv), `date,open,...` or `time,open,high,low,close,volume`;
/// - ticks: `time,price,size`.
///
/// Header names are case-insensitive. Times are epoch seconds, milliseconds or
/// microseconds (told apart by the first row's magnitude, then fixed for the file),
/// or ISO 8601 (`2004-08-19`, `2024-01-02T09:30:00.123456Z`, offsets converted to
/// UTC, no offset = UTC). Every malformed row is a `ParseError` naming the source,
/// line, column and problem; nothing after it is parsed.
public struct CSVMarketDataParser: Sendable {
    public enum Rows: Sendable, Equatable {
        case candles([Candle])
        case ticks([Tick])

        public var count: Int {
            switch self {
            case .candles(let c): return c.count
            case .ticks(let t): return t.count
            }
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var source: String
        /// 1-based.
        public var line: Int
        /// 1-based; 0 when the problem is the whole line.
        public var column: Int
        /// The header name of that column, when known.
        public var columnName: String
        public var message: String

        public var description: String {
            var place = "\(source) line \(line)"
            if column > 0 { place += ", column \(column)" + (columnName.isEmpty ? "" : " (\(columnName))") }
            return "\(place): \(message)"
        }
    }

    enum TimeUnit: Sendable { case seconds, millis, micros }

    public let source: String
    public let batchSize: Int
    /// Known once the header line is read.
    public private(set) var kind: MarketSeries.Kind?
    public private(set) var rowsParsed = 0
    private var header: [String] = []
    private var line = 0
    private var partial: [UInt8] = []
    private var candles: [Candle] = []
    private var ticks: [Tick] = []
    private var lastTime: Int64?
    private var unit: TimeUnit?
    private var failed: ParseError?

    public init(source: String, batchSize: Int = 8192) {
        self.source = source
        self.batchSize = max(1, batchSize)
    }

    /// Parses every complete line in `chunk`; returns the batches that filled up.
    public mutating func feed(_ chunk: some Collection<UInt8>) throws(ParseError) -> [Rows] {
        if let failed { throw failed }
        var out: [Rows] = []
        let bytes = Array(chunk)
        var start = 0
        do throws(ParseError) {
            while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                if partial.isEmpty {
                    try parseLine(bytes[start..<newline])
                } else {
                    partial += bytes[start..<newline]
                    let whole = partial
                    partial.removeAll(keepingCapacity: true)
                    try parseLine(whole[...])
                }
                start = newline + 1
                takeFull(into: &out)
            }
            partial += bytes[start...]
            if partial.count > 1 << 20 {
                throw ParseError(
                    source: source, line: line + 1, column: 0, columnName: "", message: "line longer than 1 MiB")
            }
        } catch {
            failed = error
            throw error
        }
        return out
    }

    /// Parses the last line (no newline needed) and returns the remaining rows.
    public mutating func finish() throws(ParseError) -> [Rows] {
        if let failed { throw failed }
        var out: [Rows] = []
        do throws(ParseError) {
            if !partial.isEmpty {
                let last = partial
                partial = []
                try parseLine(last[...])
            }
            if kind == nil {
                throw ParseError(
                    source: source, line: max(line, 1), column: 0, columnName: "",
                    message: "no header line: the file is empty")
            }
        } catch {
            failed = error
            throw error
        }
        takeFull(into: &out)
        if !candles.isEmpty { out.append(.candles(candles)) }
        if !ticks.isEmpty { out.append(.ticks(ticks)) }
        candles = []
        ticks = []
        return out
    }

    private mutating func takeFull(into out: inout [Rows]) {
        if candles.count >= batchSize {
            out.append(.candles(candles))
            candles = []
            candles.reserveCapacity(batchSize)
        }
        if ticks.count >= batchSize {
            out.append(.ticks(ticks))
            ticks = []
            ticks.reserveCapacity(batchSize)
        }
    }

    private func error(_ column: Int, _ message: String) -> ParseError {
        ParseError(
            source: source, line: line, column: column,
            columnName: column > 0 && column <= header.count ? header[column - 1] : "",
            message: message)
    }

    private mutating func parseLine(_ raw: ArraySlice<UInt8>) throws(ParseError) {
        line += 1
        var text = raw
        if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
        if line == 1 && text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }
        // Blank lines (a trailing newline, spacing) carry no row.
        if text.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
        var fields: [ArraySlice<UInt8>] = []
        fields.reserveCapacity(6)
        var fieldStart = text.startIndex
        for i in text.indices where text[i] == UInt8(ascii: ",") {
            fields.append(Self.trim(text[fieldStart..<i]))
            fieldStart = i + 1
        }
        fields.append(Self.trim(text[fieldStart...]))
        if kind == nil {
            try parseHeader(fields)
            return
        }
        guard fields.count == header.count else {
            throw error(0, "expected \(header.count) columns (\(header.joined(separator: ","))), found \(fields.count)")
        }
        let time = try parseTime(fields[0])
        switch kind! {
        case .candles:
            var values = (0.0, 0.0, 0.0, 0.0, 0.0)
            values.0 = try number(fields[1], column: 2)
            values.1 = try number(fields[2], column: 3)
            values.2 = try number(fields[3], column: 4)
            values.3 = try number(fields[4], column: 5)
            values.4 = try number(fields[5], column: 6)
            let candle = Candle(
                time: time, open: values.0, high: values.1, low: values.2, close: values.3, volume: values.4)
            if let problem = MarketRowCheck.problem(candle)
                ?? MarketRowCheck.order(previous: lastTime, time: time, strictly: true)
            {
                throw error(Self.candleColumn(problem.column), problem.message)
            }
            candles.append(candle)
        case .ticks:
            let tick = Tick(time: time, price: try number(fields[1], column: 2), size: try number(fields[2], column: 3))
            if let problem = MarketRowCheck.problem(tick)
                ?? MarketRowCheck.order(previous: lastTime, time: time, strictly: false)
            {
                throw error(problem.column == "time" ? 1 : problem.column == "price" ? 2 : 3, problem.message)
            }
            ticks.append(tick)
        }
        lastTime = time
        rowsParsed += 1
    }

    private static func candleColumn(_ name: String) -> Int {
        ["time", "open", "high", "low", "close", "volume"].firstIndex(of: name).map { $0 + 1 } ?? 0
    }

    private static func trim(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var f = field
        while let c = f.first, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { f = f.dropFirst() }
        while let c = f.last, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { f = f.dropLast() }
        // A quoted field (some tools quote everything): the text inside the quotes.
        if f.count >= 2, f.first == UInt8(ascii: "\""), f.last == UInt8(ascii: "\"") { f = f.dropFirst().dropLast() }
        return f
    }

    private static let timeNames: Set<String> = ["", "time", "timestamp", "date", "datetime", "ts"]

    private mutating func parseHeader(_ fields: [ArraySlice<UInt8>]) throws(ParseError) {
        header = fields.map { String(decoding: $0, as: UTF8.self) }
        let names = header.map { $0.lowercased() }
        let candleNames = ["open", "high", "low", "close", "volume"]
        let tickNames = ["price", "size"]
        let expected =
            "expected a header time,open,high,low,close,volume (or pandas' ,Open,High,Low,Close,Volume) or time,price,size"
        guard let first = names.first, Self.timeNames.contains(first) else {
            throw error(1, "unknown header \"\(header.joined(separator: ","))\": \(expected)")
        }
        let rest = Array(names.dropFirst())
        let target: [String]
        if rest.first == "price" {
            kind = .ticks
            target = tickNames
        } else {
            kind = .candles
            target = candleNames
        }
        for (i, name) in target.enumerated() where i >= rest.count || rest[i] != name {
            kind = nil
            throw error(
                i + 2 <= header.count ? i + 2 : 0,
                "unknown header \"\(header.joined(separator: ","))\": column \(i + 2) should be \(name); \(expected)")
        }
        if rest.count > target.count {
            kind = nil
            throw error(
                target.count + 2,
                "unknown header \"\(header.joined(separator: ","))\": unexpected column \"\(header[target.count + 1])\"; \(expected)"
            )
        }
    }

    // MARK: Numbers

    private func number(_ field: ArraySlice<UInt8>, column: Int) throws(ParseError) -> Double {
        if let value = Self.fastDouble(field) { return value }
        let text = String(decoding: field, as: UTF8.self)
        // Swift's parser accepts what strtod does (exponents, long mantissas, nan, inf).
        guard !text.isEmpty, let value = Double(text) else {
            throw error(
                column, text.isEmpty ? "empty value where a number is needed" : "\"\(text.prefix(40))\" is not a number"
            )
        }
        return value
    }

    /// Plain decimals (`-123.4500`) with at most 15 significant digits: the integer
    /// mantissa and 10^k are both exact doubles, so one division is correctly rounded,
    /// the same result as strtod. Anything else returns nil (the slow, general path).
    static func fastDouble(_ field: ArraySlice<UInt8>) -> Double? {
        var i = field.startIndex
        let end = field.endIndex
        guard i < end else { return nil }
        var negative = false
        if field[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        } else if field[i] == UInt8(ascii: "+") {
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenDot = false
        var any = false
        while i < end {
            let c = field[i]
            if c >= 48 && c <= 57 {
                any = true
                if mantissa == 0 && c == 48 {
                    if seenDot { fraction += 1 }
                } else {
                    mantissa = mantissa * 10 + UInt64(c - 48)
                    digits += 1
                    if seenDot { fraction += 1 }
                    if digits > 15 { return nil }
                }
            } else if c == UInt8(ascii: "."), !seenDot {
                seenDot = true
            } else {
                return nil
            }
            i += 1
        }
        guard any, fraction <= 22 else { return nil }
        let value = Double(mantissa) / powersOfTen[fraction]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    // MARK: Times

    private mutating func parseTime(_ field: ArraySlice<UInt8>) throws(ParseError) -> Int64 {
        guard let first = field.first else { throw error(1, "empty time") }
        let isNumeric =
            field.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
            && !(field.count >= 8 && field.dropFirst(4).first == UInt8(ascii: "-"))
        if isNumeric && first != UInt8(ascii: ".") {
            return try epochTime(field)
        }
        guard let micros = Self.isoTime(field) else {
            throw error(
                1,
                "\"\(String(decoding: field.prefix(40), as: UTF8.self))\" is not a time (epoch seconds, milliseconds or microseconds, or ISO 8601 such as 2024-01-02T09:30:00Z)"
            )
        }
        return micros
    }

    private mutating func epochTime(_ field: ArraySlice<UInt8>) throws(ParseError) -> Int64 {
        let text = String(decoding: field, as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]), parts.count == 1 || (parts[1].count <= 6 && parts[1].allSatisfy(\.isNumber))
        else {
            throw error(1, "\"\(text.prefix(40))\" is not a time")
        }
        let unit: TimeUnit
        if let fixed = self.unit {
            unit = fixed
        } else {
            let magnitude = whole.magnitude
            unit = magnitude < 100_000_000_000 ? .seconds : magnitude < 100_000_000_000_000 ? .millis : .micros
            self.unit = unit
        }
        let scale: Int64 = unit == .seconds ? 1_000_000 : unit == .millis ? 1_000 : 1
        var fractionMicros: Int64 = 0
        if parts.count == 2 {
            let digits = String(parts[1])
            guard unit != .micros, digits.count <= (unit == .seconds ? 6 : 3) else {
                throw error(1, "\"\(text.prefix(40))\" has a finer fraction than a microsecond")
            }
            let padded = digits + String(repeating: "0", count: (unit == .seconds ? 6 : 3) - digits.count)
            fractionMicros = Int64(padded) ?? 0
            if whole < 0 || text.hasPrefix("-") { fractionMicros = -fractionMicros }
        }
        // The fraction can carry a time that scales just inside Int64 over its edge.
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: scale)
        let (time, carried) = scaled.addingReportingOverflow(fractionMicros)
        guard !overflow && !carried else { throw error(1, "\"\(text.prefix(40))\" is out of range") }
        return time
    }

    /// `YYYY-MM-DD`, optionally `T` or space, `HH:MM[:SS[.f{1,9}]]`, optionally `Z` or `+HH:MM`/`-HH:MM`.
    static func isoTime(_ field: ArraySlice<UInt8>) -> Int64? {
        let b = Array(field)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var micros = UTCTime.days(year: year, month: month, day: day) * 86_400_000_000
        if i == b.count { return micros }
        guard expect("T") || expect(" ") || expect("t"), let hour = digits(2), expect(":"), let minute = digits(2),
            hour < 24, minute < 60
        else { return nil }
        var second: Int64 = 0
        if expect(":") {
            guard let s = digits(2), s < 61 else { return nil }
            second = s
            if expect(".") || expect(",") {
                var fraction: Int64 = 0
                var count = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    guard count < 9 else { return nil }
                    if count < 6 { fraction = fraction * 10 + Int64(b[i] - 48) } else if b[i] != 48 { return nil }
                    count += 1
                    i += 1
                }
                guard count > 0 else { return nil }
                for _ in count..<max(count, 6) { fraction *= 10 }
                micros += fraction
            }
        }
        micros += (hour * 3600 + minute * 60 + second) * 1_000_000
        if i == b.count || (expect("Z") || expect("z")) && i == b.count { return micros }
        guard i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
        let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
        i += 1
        guard let oh = digits(2), oh < 24 else { return nil }
        _ = expect(":")
        guard let om = digits(2), om < 60, i == b.count else { return nil }
        // Local time = UTC + offset.
        return micros - sign * (oh * 3600 + om * 60) * 1_000_000
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
