import BacktestProto
import Foundation

/// A RuleStrategy read from a file, in JSON or in a line-based text form. The file's
/// first non-blank character decides: `{` is JSON.
///
/// JSON (field names as in the proto):
///
///     {"name": "SMA cross",
///      "rules": [{"name": "buy", "kind": "entry_long",
///                 "expression": "crosses_above(sma(close, $fast), sma(close, $slow))"},
///                {"name": "sell", "kind": "exit_long",
///                 "expression": "crosses_below(sma(close, $fast), sma(close, $slow))"}],
///      "stop_loss_pct": 5, "take_profit_pct": 10, "trailing_stop_pct": 0,
///      "params": {"fast": 10, "slow": 20}}
///
/// Text: one `KEY: VALUE` per line; `#` starts a comment line.
///
///     name: SMA cross
///     param fast: 10
///     param slow: 20
///     stop_loss_pct: 5
///     entry_long buy: crosses_above(sma(close, $fast), sma(close, $slow))
///     exit_long sell: crosses_below(sma(close, $fast), sma(close, $slow))
///
/// Rule kinds: entry_long, exit_long, entry_short, exit_short. Expressions are checked
/// by the server, which answers INVALID_ARGUMENT with the position of an error.
enum StrategyFile {
    struct Error: Swift.Error, CustomStringConvertible {
        var description: String
    }

    static func load(path: String) throws -> RuleStrategy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Error(description: "\(path): cannot read the strategy file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Error(description: "\(path): the strategy file is not UTF-8 text")
        }
        let fallbackName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(text, source: path, defaultName: fallbackName)
    }

    static func parse(_ text: String, source: String, defaultName: String = "") throws -> RuleStrategy {
        var strategy =
            text.first(where: { !$0.isWhitespace }) == "{"
            ? try parseJSON(text, source: source) : try parseText(text, source: source)
        if strategy.name.isEmpty { strategy.name = defaultName }
        guard !strategy.rules.isEmpty else {
            throw Error(description: "\(source): no rules (need at least an entry rule)")
        }
        var seen = Set<String>()
        for rule in strategy.rules where !seen.insert(rule.name).inserted {
            throw Error(description: "\(source): rule name '\(rule.name)' is used twice")
        }
        return strategy
    }

    static func ruleKind(_ text: String) -> RuleKind? {
        RuleKind.parse(text)
    }

    // MARK: text

    private static func parseText(_ text: String, source: String) throws -> RuleStrategy {
        var strategy = RuleStrategy()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String) -> Error { Error(description: "\(source):\(index + 1): \(message)") }
            guard let colon = line.firstIndex(of: ":") else { throw fail("expected KEY: VALUE, got '\(line)'") }
            let key = line[..<colon].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            func number() throws -> Double {
                guard let v = OptionParsing.number(value) else { throw fail("'\(value)' is not a number") }
                return v
            }
            switch key.count {
            case 1:
                switch key[0].lowercased() {
                case "name": strategy.name = value
                case "stop_loss_pct": strategy.stopLossPct = try number()
                case "take_profit_pct": strategy.takeProfitPct = try number()
                case "trailing_stop_pct": strategy.trailingStopPct = try number()
                default:
                    throw fail(
                        "unknown key '\(key[0])'; expected name, stop_loss_pct, take_profit_pct, trailing_stop_pct, param NAME or a rule (entry_long NAME, ...)"
                    )
                }
            case 2 where key[0].lowercased() == "param":
                let name = key[1].hasPrefix("$") ? String(key[1].dropFirst()) : key[1]
                guard strategy.params[name] == nil else { throw fail("param \(name) is given twice") }
                strategy.params[name] = try number()
            case 2:
                guard let kind = ruleKind(key[0]) else {
                    throw fail("unknown rule kind '\(key[0])'; expected \(RuleKind.choices)")
                }
                guard !value.isEmpty else { throw fail("rule \(key[1]) has no expression") }
                strategy.rules.append(Rule(name: key[1], kind: kind, expression: value))
            default:
                throw fail("expected KEY: VALUE, got '\(line)'")
            }
        }
        return strategy
    }

    // MARK: JSON

    /// The JSON form, read with the contract's own JSON parser: numbers from their
    /// literal text (correctly rounded; 0 and 1 are numbers, not booleans), members in
    /// the order written, a repeated field refused.
    private static func parseJSON(_ text: String, source: String) throws -> RuleStrategy {
        func fail(_ message: String) -> Error { Error(description: "\(source): \(message)") }
        let root: JSONValue
        do {
            root = try JSONValue(parsing: text)
        } catch {
            throw fail("not valid JSON: \(error)")
        }
        /// An object's members, `path` naming it in errors ("" for the file itself).
        func members(_ value: JSONValue, _ path: String) throws -> [JSONValue.Member] {
            guard case .object(let members) = value else {
                throw fail("\(path.isEmpty ? "expected a JSON object" : path + " must be an object")")
            }
            var seen = Set<String>()
            for m in members where !seen.insert(m.key).inserted {
                throw fail("\(path.isEmpty ? "" : path + ": ")field '\(m.key)' given twice")
            }
            return members
        }
        func number(_ value: JSONValue, _ field: String) throws -> Double {
            guard case .number(let literal) = value, let n = Double(literal), n.isFinite else {
                throw fail("\(field) must be a number")
            }
            return n
        }
        func string(_ value: JSONValue?, _ field: String) throws -> String {
            guard case .string(let s)? = value else { throw fail("\(field) must be a string") }
            return s
        }
        var strategy = RuleStrategy()
        for member in try members(root, "") {
            let key = member.key, value = member.value
            switch key {
            case "name": strategy.name = try string(value, "name")
            case "stop_loss_pct": strategy.stopLossPct = try number(value, key)
            case "take_profit_pct": strategy.takeProfitPct = try number(value, key)
            case "trailing_stop_pct": strategy.trailingStopPct = try number(value, key)
            case "params":
                for param in try members(value, "params") {
                    strategy.params[param.key] = try number(param.value, "params.\(param.key)")
                }
            case "rules":
                guard case .array(let rules) = value else { throw fail("rules must be an array") }
                for (i, item) in rules.enumerated() {
                    var fields: [String: JSONValue] = [:]
                    for field in try members(item, "rules[\(i)]") { fields[field.key] = field.value }
                    let unknown = Set(fields.keys).subtracting(["name", "kind", "expression"])
                    guard unknown.isEmpty else {
                        throw fail("rules[\(i)]: unknown field \(unknown.sorted().joined(separator: ", "))")
                    }
                    let kindText = try string(fields["kind"], "rules[\(i)].kind")
                    guard let kind = ruleKind(kindText) else {
                        throw fail("rules[\(i)].kind: unknown rule kind '\(kindText)'; expected \(RuleKind.choices)")
                    }
                    strategy.rules.append(
                        Rule(
                            name: try string(fields["name"], "rules[\(i)].name"), kind: kind,
                            expression: try string(fields["expression"], "rules[\(i)].expression")))
                }
            default:
                throw fail(
                    "unknown field '\(key)'; expected name, rules, stop_loss_pct, take_profit_pct, trailing_stop_pct, params"
                )
            }
        }
        return strategy
    }
}
