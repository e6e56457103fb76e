/// Why a strategy or configuration was refused: the rule (or configuration field), the
/// 1-based character position in the rule's text when there is one, and what was
/// expected. The service answers INVALID_ARGUMENT with `description`.
public struct StrategyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule's name, when the error is in a rule's text.
    public var rule: String?
    /// The configuration field, when the error is in one ("initial_capital", "params.n1"...).
    public var field: String?
    /// 1-based character offset in the rule's text.
    public var position: Int?
    public var message: String

    public init(rule: String? = nil, field: String? = nil, position: Int? = nil, message: String) {
        self.rule = rule
        self.field = field
        self.position = position
        self.message = message
    }

    public var description: String {
        var where_: String
        if let rule {
            where_ = "rule \"\(rule)\""
        } else if let field {
            where_ = "field \"\(field)\""
        } else {
            where_ = "strategy"
        }
        if let position { where_ += " at \(position)" }
        return "\(where_): \(message)"
    }
}

extension StrategyError {
    /// The error with its field placed under `prefix` (a rule set's fields inside the
    /// request that carries it).
    func within(_ prefix: String) -> StrategyError {
        var e = self
        if let f = field { e.field = prefix + f }
        return e
    }
}
