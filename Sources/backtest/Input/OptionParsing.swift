import ArgumentParser
import BacktestProto
import Foundation

/// Parsing of option values that ArgumentParser cannot type by itself: NAME=VALUE
/// pairs, times, durations, sizing. Errors name the option and the bad text, and
/// make the CLI exit with the usage code before anything is sent.
enum OptionParsing {
    /// Session statuses by name (`completed`, `SESSION_STATUS_FAILED`, ...).
    static func statuses(_ items: [String], option: String) throws -> [SessionStatus] {
        try items.map { text in
            guard let s = SessionStatus.parse(text) else {
                throw ValidationError("\(option): unknown status '\(text)'; expected \(SessionStatus.choices)")
            }
            return s
        }
    }

    /// `k=v` pairs; a repeated name is an error, not a silent override.
    static func pairs(_ items: [String], option: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(option): expected NAME=VALUE, got '\(item)'")
            }
            let name = String(item[..<eq])
            guard out[name] == nil else { throw ValidationError("\(option): \(name) is given twice") }
            out[name] = String(item[item.index(after: eq)...])
        }
        return out
    }

    /// `n1=10` pairs with numeric values (strategy parameters).
    static func numericPairs(_ items: [String], option: String) throws -> [String: Double] {
        let named = try pairs(items, option: option)
        var out: [String: Double] = [:]
        for name in named.keys.sorted() {
            let text = named[name]!
            guard let value = number(text) else {
                throw ValidationError("\(option): \(name)=\(text): '\(text)' is not a number")
            }
            out[name] = value
        }
        return out
    }

    /// A finite number; `1e3`, `-2.5`, `10`. Rejects `nan`, `inf` and empty text.
    static func number(_ text: String) -> Double? {
        guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d.isFinite else { return nil }
        return d
    }

    /// An ISO 8601 date or date-time (UTC unless it says otherwise).
    static func timestamp(_ text: String, option: String) throws -> ProtoTimestamp {
        guard let ts = TimeDisplay.parse(text) else {
            throw ValidationError(
                "\(option): '\(text)' is not an ISO 8601 date (2004-08-19) or date-time (2004-08-19T09:30:00Z)")
        }
        return ts
    }

    /// `90` (seconds), `1.5s`, `500ms`, `5m`, `1h`, `1d`.
    static func duration(_ text: String, option: String) throws -> ProtoDuration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        var body = text.trimmingCharacters(in: .whitespaces)
        var scale = 1.0
        for (suffix, s) in units where body.hasSuffix(suffix) {
            body.removeLast(suffix.count)
            scale = s
            break
        }
        // At most the Duration type's 10,000 years (beyond, the microseconds would overflow).
        guard let v = number(body), v >= 0, v * scale <= 315_576_000_000 else {
            throw ValidationError("\(option): '\(text)' is not a duration (90, 1.5s, 500ms, 5m, 1h, 1d)")
        }
        return ProtoDuration(microseconds: Int64((v * scale * 1_000_000).rounded()))
    }

    /// `--sizing MODE[=VALUE]`: `all`, `fraction=0.5`, `units=100`, `notional=5000`
    /// (or the proto names all_equity, equity_fraction, fixed_units, fixed_notional).
    static func sizing(_ text: String, fractional: Bool) throws -> Sizing {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let modeName = parts[0].lowercased()
        let mode: SizingMode
        switch modeName {
        case "all", "all_equity": mode = .allEquity
        case "fraction", "equity_fraction": mode = .equityFraction
        case "units", "fixed_units": mode = .fixedUnits
        case "notional", "fixed_notional": mode = .fixedNotional
        default:
            throw ValidationError(
                "--sizing: unknown mode '\(parts[0])'; expected all, fraction=F, units=N or notional=AMOUNT")
        }
        var value = 0.0
        if mode == .allEquity {
            guard parts.count == 1 else { throw ValidationError("--sizing: 'all' takes no value") }
        } else {
            guard parts.count == 2, let v = number(parts[1]) else {
                throw ValidationError(
                    "--sizing: \(modeName) needs a number, as in \(modeName)=\(mode == .equityFraction ? "0.5" : "100")"
                )
            }
            value = v
        }
        return Sizing(mode: mode, value: value, fractionalUnits: fractional)
    }
}
