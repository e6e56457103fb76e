import BacktestProto

/// A JSON value whose objects keep their keys in the order given (the proto's field
/// order), rendered on one line: what `--json` prints. Non-finite numbers are null.
indirect enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func == (a: JSON, b: JSON) -> Bool { a.render() == b.render() }

    /// A time as ISO 8601 UTC, or null when unset.
    static func time(_ ts: ProtoTimestamp?) -> JSON {
        guard let ts, ts.isValid else { return .null }
        return .string(UTCTime.iso(ts))
    }

    /// A duration in seconds, or null when unset.
    static func seconds(_ d: ProtoDuration?) -> JSON {
        guard let d, d.isValid else { return .null }
        return .double(Format.seconds(d))
    }

    static func map(_ m: [String: String]) -> JSON {
        .object(m.keys.sorted().map { ($0, .string(m[$0]!)) })
    }

    static func map(_ m: [String: Double]) -> JSON {
        .object(m.keys.sorted().map { ($0, .double(m[$0]!)) })
    }

    func render() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d): out += Self.number(d)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Shortest text that reads back to the same double; whole numbers without ".0".
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
