/// Why JSON could not be parsed, or could not be mapped to or from a message. The
/// path names the field in proto field names, from the top-level message:
/// `costs.commission_rate`, `strategy.rules.rules[2].kind`, `labels["team"]`.
/// Empty for the message itself and for syntax errors.
public struct ProtoJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The components from the innermost outwards: errors are made deep down and the
    /// callers on the way up add their part, which costs nothing when all goes well.
    private var reversedPath: [String]
    public var reason: String

    public init(_ reason: String, path: [String] = []) {
        self.reason = reason
        self.reversedPath = path.reversed()
    }

    /// `costs.commission_rate`; indexes and map keys attach without a dot: `rules[2]`.
    public var path: String {
        var out = ""
        for part in reversedPath.reversed() {
            if !out.isEmpty && !part.hasPrefix("[") { out += "." }
            out += part
        }
        return out
    }

    public var description: String { reversedPath.isEmpty ? reason : "\(path): \(reason)" }

    /// This error seen from one level up: `part` is a field name, `[3]` or `["key"]`.
    func under(_ part: String) -> ProtoJSONError {
        var e = self
        e.reversedPath.append(part)
        return e
    }

    /// Runs `body`, adding `part` to the path of a `ProtoJSONError` it throws.
    @inline(__always)
    static func at<T>(_ part: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ProtoJSONError {
            throw e.under(part())
        }
    }

    static func index(_ i: Int) -> String { "[\(i)]" }

    static func key(_ k: String) -> String {
        var quoted = ""
        JSONWriter.quote(k, into: &quoted)
        return "[\(quoted)]"
    }
}
