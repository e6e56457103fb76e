@testable import BacktestProto

/// JSON values that mean the same: objects with the same members in any order,
/// numbers of the same value however written (`1`, `1.0`, `1e0`; integers exactly,
/// whatever their size). Strings, booleans, null and array order must match.
func jsonEquivalent(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.number(let x), .number(let y)):
        if case .value = ProtoJSON.exactInteger(x), case .value = ProtoJSON.exactInteger(y) {
            return ProtoJSON.exactInteger(x) == ProtoJSON.exactInteger(y)
        }
        return Double(x)! == Double(y)!
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { jsonEquivalent($0, $1) }
    case (.object(let x), .object(let y)):
        guard x.count == y.count, Set(x.map(\.key)).count == x.count else { return false }
        return x.allSatisfy { member in
            y.first { $0.key == member.key }.map { jsonEquivalent(member.value, $0.value) } ?? false
        }
    default:
        return false
    }
}
