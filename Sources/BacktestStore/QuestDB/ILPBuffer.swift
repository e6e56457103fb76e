import Foundation

/// InfluxDB line protocol (text, version 1) as QuestDB reads it: one line per row,
/// `table[,symbol=value...] column=value[,...] timestamp\n`. Names are validated as
/// QuestDB does and every name and value is escaped, so no row can inject another;
/// the bytes are those of the official QuestDB client for the same rows.
public struct ILPBuffer: Sendable {
    public enum Value: Sendable, Equatable {
        case long(Int64)
        case double(Double)
        case bool(Bool)
        case string(String)
        /// Microseconds since the epoch (a TIMESTAMP column).
        case timestampMicros(Int64)
    }

    public struct InvalidName: Error, Equatable, CustomStringConvertible {
        public var kind: String
        public var name: String
        public var reason: String
        public var description: String { "invalid \(kind) name \"\(name)\": \(reason)" }
    }

    public private(set) var bytes: [UInt8] = []
    public private(set) var rowCount = 0

    public init() {}

    public mutating func reserveCapacity(_ n: Int) { bytes.reserveCapacity(n) }

    public mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        rowCount = 0
    }

    /// Appends one row; the designated timestamp is in nanoseconds (send with
    /// `precision=n`, or use `atMicros` with `precision=us`).
    public mutating func row(
        _ table: String, symbols: [(String, String)] = [], columns: [(String, Value)], atNanos: Int64
    ) throws(InvalidName) {
        try append(table, symbols, columns, timestamp: atNanos)
    }

    /// Appends one row whose designated timestamp is in microseconds (send with
    /// `precision=us`, as ILPHTTPWriter does).
    public mutating func row(
        _ table: String, symbols: [(String, String)] = [], columns: [(String, Value)], atMicros: Int64
    ) throws(InvalidName) {
        try append(table, symbols, columns, timestamp: atMicros)
    }

    private mutating func append(
        _ table: String, _ symbols: [(String, String)], _ columns: [(String, Value)], timestamp: Int64
    ) throws(InvalidName) {
        guard !symbols.isEmpty || !columns.isEmpty else {
            throw InvalidName(kind: "table", name: table, reason: "a row needs at least one symbol or column")
        }
        try Self.validate(table, kind: "table")
        for (name, _) in symbols { try Self.validate(name, kind: "column") }
        for (name, _) in columns { try Self.validate(name, kind: "column") }
        // Every name is valid (checked above), so the row goes straight into the buffer.
        Self.escapeName(table, into: &bytes)
        for (name, value) in symbols {
            bytes.append(UInt8(ascii: ","))
            Self.escapeName(name, into: &bytes)
            bytes.append(UInt8(ascii: "="))
            Self.escapeName(value, into: &bytes)
        }
        for (i, (name, value)) in columns.enumerated() {
            bytes.append(UInt8(ascii: i == 0 ? " " : ","))
            Self.escapeName(name, into: &bytes)
            bytes.append(UInt8(ascii: "="))
            Self.encode(value, into: &bytes)
        }
        endRowUnchecked(timestamp: timestamp)
    }

    static func encode(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .long(let v):
            appendInteger(v, into: &out)
            out.append(UInt8(ascii: "i"))
        case .double(let v):
            appendDouble(v, into: &out)
        case .bool(let v):
            out.append(UInt8(ascii: v ? "t" : "f"))
        case .string(let s):
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), b]
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        case .timestampMicros(let v):
            appendInteger(v, into: &out)
            out.append(UInt8(ascii: "t"))
        }
    }

    /// The shortest text that reads back as the same double, laid out as the official
    /// client (Rust's ryu) does: plain decimals while the decimal point falls within
    /// -5 < position <= 16 (`0.00001`, `1000000000000000.0`), else scientific without a
    /// plus sign (`1e-7`, `1.2345678901234568e17`); `NaN`, `Infinity`, `-Infinity`.
    static func formatDouble(_ v: Double) -> String {
        var out: [UInt8] = []
        appendDouble(v, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDouble(_ v: Double, into out: inout [UInt8]) {
        if v.isNaN {
            out += [0x4E, 0x61, 0x4E]
            return
        }  // NaN
        if v.isInfinite {
            if v < 0 { out.append(UInt8(ascii: "-")) }
            out += Array("Infinity".utf8)
            return
        }
        // Swift's shortest round-trip digits, written into a stack buffer (no String:
        // bulk rows write millions of doubles). Without an exponent Swift's layout is
        // the official client's (both plain for 1e-4 <= |v| < 2^53); otherwise the
        // digits are laid out again below.
        var text = ShortestDigits()
        v.write(to: &text)
        text.withBytes { u in
            if !u.contains(UInt8(ascii: "e")) {
                out.append(contentsOf: u)
            } else {
                layOut(u, into: &out)
            }
        }
    }

    /// Swift's exponent form (`1e-05`, `1.5e+16`) in the official client's layout.
    private static func layOut(_ u: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var i = 0
            if u[0] == UInt8(ascii: "-") {
                out.append(UInt8(ascii: "-"))
                i = 1
            }
            var n = 0, point = 0, sawPoint = false
            while i < u.count, u[i] != UInt8(ascii: "e"), u[i] != UInt8(ascii: "E") {
                if u[i] == UInt8(ascii: ".") {
                    sawPoint = true
                } else {
                    digits[n] = u[i]
                    n += 1
                    if !sawPoint { point += 1 }
                }
                i += 1
            }
            if i < u.count {
                i += 1
                var negative = false
                if u[i] == UInt8(ascii: "-") {
                    negative = true
                    i += 1
                } else if u[i] == UInt8(ascii: "+") {
                    i += 1
                }
                var exponent = 0
                while i < u.count {
                    exponent = exponent * 10 + Int(u[i] &- 48)
                    i += 1
                }
                point += negative ? -exponent : exponent
            }
            var start = 0, end = n
            while end - start > 1, digits[start] == UInt8(ascii: "0") {
                start += 1
                point -= 1
            }
            while end - start > 1, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
            let count = end - start
            func put(_ range: Range<Int>) { for k in range { out.append(digits[start + k]) } }
            func zeros(_ k: Int) { for _ in 0..<max(0, k) { out.append(UInt8(ascii: "0")) } }
            if count == 1 && digits[start] == UInt8(ascii: "0") {
                out += [UInt8(ascii: "0"), UInt8(ascii: "."), UInt8(ascii: "0")]
            } else if point >= count && point <= 16 {
                put(0..<count)
                zeros(point - count)
                out += [UInt8(ascii: "."), UInt8(ascii: "0")]
            } else if point > 0 && point <= 16 {
                put(0..<point)
                out.append(UInt8(ascii: "."))
                put(point..<count)
            } else if point > -5 && point <= 0 {
                out += [UInt8(ascii: "0"), UInt8(ascii: ".")]
                zeros(-point)
                put(0..<count)
            } else {
                put(0..<1)
                if count > 1 {
                    out.append(UInt8(ascii: "."))
                    put(1..<count)
                }
                out.append(UInt8(ascii: "e"))
                appendInteger(Int64(point - 1), into: &out)
            }
        }
    }

    /// A double's text, kept inline: Double.write(to:) hands its ASCII over through
    /// `_writeASCII` without making a String (a String, were it ever used, also works).
    struct ShortestDigits: TextOutputStream {
        private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        private var count = 0

        mutating func write(_ string: String) {
            for b in string.utf8 { append(b) }
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            // One copy, not a byte at a time: this runs for every double of every row.
            let n = min(buffer.count, 48 - count)
            guard n > 0, let source = buffer.baseAddress else { return }
            let at = count
            withUnsafeMutableBytes(of: &storage) {
                $0.baseAddress!.advanced(by: at).copyMemory(from: source, byteCount: n)
            }
            count += n
        }

        private mutating func append(_ b: UInt8) {
            guard count < 48 else { return }
            withUnsafeMutableBytes(of: &storage) { $0[count] = b }
            count += 1
        }

        func withBytes(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
            withUnsafeBytes(of: storage) { raw in
                body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
            }
        }
    }

    /// Decimal digits of `v` without a String in between.
    static func appendInteger(_ v: Int64, into out: inout [UInt8]) {
        if v == .min {
            out += Array(String(v).utf8)
            return
        }
        var magnitude = v < 0 ? UInt64(-v) : UInt64(v)
        if v < 0 { out.append(UInt8(ascii: "-")) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = 0
            repeat {
                digits[n] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            while n > 0 {
                n -= 1
                out.append(digits[n])
            }
        }
    }

    // MARK: Unchecked rows
    // For bulk rows whose names are fixed and valid by construction (QuestDBRows): the
    // caller appends `table,symbols fields` pieces and ends the row; nothing is
    // validated, so only escaped prefixes and fixed `,name=` tags may be passed.

    mutating func appendUnchecked(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func appendUnchecked(byte: UInt8) { bytes.append(byte) }
    mutating func appendUnchecked(integer: Int64) { Self.appendInteger(integer, into: &bytes) }
    mutating func appendUnchecked(double: Double) { Self.appendDouble(double, into: &bytes) }
    mutating func appendUnchecked(string: String) { Self.encode(.string(string), into: &bytes) }

    /// ` timestamp\n`, and the row counts.
    mutating func endRowUnchecked(timestamp: Int64) {
        bytes.append(UInt8(ascii: " "))
        Self.appendInteger(timestamp, into: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        rowCount += 1
    }

    /// Table, column and symbol names and symbol values: a backslash before space,
    /// comma, equals sign, newline, carriage return and backslash.
    static func escapeName(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
                UInt8(ascii: "\\"):
                out += [UInt8(ascii: "\\"), b]
            default:
                out.append(b)
            }
        }
    }

    /// QuestDB's rules: not empty, at most 127 bytes, none of `\n \r ? , ' " \ / : ( ) + * % ~`
    /// or control characters, not starting or ending with `.`; column names also
    /// without `.` or `-`.
    static func validate(_ name: String, kind: String) throws(InvalidName) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw InvalidName(kind: kind, name: name, reason: "empty") }
        guard bytes.count <= 127 else { throw InvalidName(kind: kind, name: name, reason: "longer than 127 bytes") }
        let forbidden = Array("\n\r?,'\"\\/:()+*%~".utf8) + (kind == "column" ? Array(".-".utf8) : [])
        for (i, b) in bytes.enumerated() {
            if b < 0x20 || b == 0x7F || forbidden.contains(b) {
                let shown =
                    b < 0x20 || b == 0x7F
                    ? "control character 0x\(String(b, radix: 16))" : "'\(Character(Unicode.Scalar(b)))'"
                throw InvalidName(kind: kind, name: name, reason: "\(shown) at byte \(i) is not allowed")
            }
        }
        if kind == "table" && (bytes.first == UInt8(ascii: ".") || bytes.last == UInt8(ascii: ".")) {
            throw InvalidName(kind: kind, name: name, reason: "starts or ends with '.'")
        }
    }
}
