/// Writes JSON text: compact, strings escaped as RFC 8259 requires, numbers as the
/// literal a `JSONValue` holds.
public struct JSONWriter {
    public private(set) var output = ""

    public init() {}

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: output += "null"
        case .bool(let b): output += b ? "true" : "false"
        case .number(let literal): output += literal
        case .string(let s): Self.quote(s, into: &output)
        case .array(let items):
            output += "["
            for (i, item) in items.enumerated() {
                if i > 0 { output += "," }
                write(item)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { output += "," }
                Self.quote(member.key, into: &output)
                output += ":"
                write(member.value)
            }
            output += "}"
        }
    }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\n`-style
    /// short escapes or `\u00XX`; everything else as UTF-8, unescaped.
    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        var plainStart = s.unicodeScalars.startIndex
        var i = plainStart
        let scalars = s.unicodeScalars
        while i != scalars.endIndex {
            let c = scalars[i]
            let escape: String? =
                switch c {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                case "\u{08}": "\\b"
                case "\u{0C}": "\\f"
                case _ where c.value < 0x20:
                    "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16, uppercase: false)
                default: nil
                }
            if let escape {
                // Runs of plain characters are copied in one piece.
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<i])
                out += escape
                plainStart = scalars.index(after: i)
            }
            i = scalars.index(after: i)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<i])
        out += "\""
    }

    /// The shortest text that reads back as the same double, in ECMAScript's
    /// Number-to-String form (`100`, `0.001`, `1e+21`, `5e-324`), which every JSON
    /// reader accepts. Negative zero is `-0.0`: readers that take `-0` for the integer
    /// zero (Python's) would lose its sign. Finite values only.
    public static func number(_ d: Double) -> String {
        precondition(d.isFinite, "JSON has no literal for \(d)")
        if d == 0 { return d.sign == .minus ? "-0.0" : "0" }
        // Swift's description has the shortest round-trip digits; only the layout changes.
        return layout(d.description)
    }

    /// The same for a float: the shortest digits that read back as the same float.
    public static func number(_ f: Float) -> String {
        precondition(f.isFinite, "JSON has no literal for \(f)")
        if f == 0 { return f.sign == .minus ? "-0.0" : "0" }
        return layout(f.description)
    }

    /// Re-lays out Swift's `1.25e-07` / `100000.0` as ECMAScript does.
    private static func layout(_ description: String) -> String {
        var text = Substring(description)
        var sign = ""
        if text.hasPrefix("-") {
            sign = "-"
            text = text.dropFirst()
        }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = text[..<e]
        }
        // digits × 10^(exponent - fraction digits), as a digit string and the position
        // of the decimal point: value = 0.DIGITS × 10^point.
        var digits = ""
        var point = 0
        var seenDot = false
        for ch in text {
            if ch == "." {
                seenDot = true
            } else {
                digits.append(ch)
                if !seenDot { point += 1 }
            }
        }
        point += exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        let k = digits.count
        let n = point
        if k <= n && n <= 21 {
            return sign + digits + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            let cut = digits.index(digits.startIndex, offsetBy: n)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        if -6 < n && n <= 0 {
            return sign + "0." + String(repeating: "0", count: -n) + digits
        }
        let e = n - 1
        let mantissa = k == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
        return sign + mantissa + "e" + (e < 0 ? "-" : "+") + String(abs(e))
    }
}
