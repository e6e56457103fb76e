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

    public mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        rowCount = 0
    }

    /// Appends one row; the designated timestamp is in nanoseconds (send with
    /// `precision=n`, or use `atMicros` with `precision=us`).
    public mutating func row(_ table: String, symbols: [(String, String)] = [], columns: [(String, Value)], atNanos: Int64) throws(InvalidName) {
        try append(table, symbols, columns, timestamp: atNanos)
    }

    /// Appends one row whose designated timestamp is in microseconds (send with
    /// `precision=us`, as ILPHTTPWriter does).
    public mutating func row(_ table: String, symbols: [(String, String)] = [], columns: [(String, Value)], atMicros: Int64) throws(InvalidName) {
        try append(table, symbols, columns, timestamp: atMicros)
    }

    private mutating func append(_ table: String, _ symbols: [(String, String)], _ columns: [(String, Value)], timestamp: Int64) throws(InvalidName) {
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
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: String(timestamp).utf8)
        bytes.append(UInt8(ascii: "\n"))
        rowCount += 1
    }

    static func encode(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .long(let v):
            out.append(contentsOf: String(v).utf8)
            out.append(UInt8(ascii: "i"))
        case .double(let v):
            out.append(contentsOf: formatDouble(v).utf8)
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
            out.append(contentsOf: String(v).utf8)
            out.append(UInt8(ascii: "t"))
        }
    }

    /// The shortest text that reads back as the same double, laid out as the official
    /// client (Rust's ryu) does: plain decimals while the decimal point falls within
    /// -5 < position <= 16 (`0.00001`, `1000000000000000.0`), else scientific without a
    /// plus sign (`1e-7`, `1.2345678901234568e17`); `NaN`, `Infinity`, `-Infinity`.
    static func formatDouble(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        // Swift's description holds the shortest round-trip digits; only the layout differs.
        var text = Substring(v.description)
        let sign = text.first == "-" ? "-" : ""
        if !sign.isEmpty { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: ""))!
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(parts[0].utf8) + (parts.count > 1 ? Array(parts[1].utf8) : [])
        var point = parts[0].count + exponent  // digits before the decimal point
        while digits.count > 1, digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits == [UInt8(ascii: "0")] { return sign + "0.0" }
        let d = String(decoding: digits, as: UTF8.self)
        let n = digits.count
        if point >= n && point <= 16 {
            return sign + d + String(repeating: "0", count: point - n) + ".0"
        } else if point > 0 && point <= 16 {
            return sign + d.prefix(point) + "." + d.dropFirst(point)
        } else if point > -5 && point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + d
        } else if n == 1 {
            return sign + d + "e" + String(point - 1)
        } else {
            return sign + d.prefix(1) + "." + d.dropFirst() + "e" + String(point - 1)
        }
    }

    /// Table, column and symbol names and symbol values: a backslash before space,
    /// comma, equals sign, newline, carriage return and backslash.
    static func escapeName(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\\"):
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
                let shown = b < 0x20 || b == 0x7F ? "control character 0x\(String(b, radix: 16))" : "'\(Character(Unicode.Scalar(b)))'"
                throw InvalidName(kind: kind, name: name, reason: "\(shown) at byte \(i) is not allowed")
            }
        }
        if kind == "table" && (bytes.first == UInt8(ascii: ".") || bytes.last == UInt8(ascii: ".")) {
            throw InvalidName(kind: kind, name: name, reason: "starts or ends with '.'")
        }
    }
}
