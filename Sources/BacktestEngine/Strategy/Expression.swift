/// A rule's text, parsed. Positions are 1-based character offsets for error messages.
indirect enum Expression {
    enum BinaryOperator: String {
        case add = "+", subtract = "-", multiply = "*", divide = "/"
        case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">=", equal = "==", notEqual = "!="
        case and, or
        case crossesAbove = "crosses_above", crossesBelow = "crosses_below"
    }

    case number(Double, position: Int)
    case boolean(Bool, position: Int)
    case parameter(String, position: Int)
    /// A field such as close, or `position`.
    case field(String, position: Int)
    case call(String, arguments: [Expression], position: Int)
    case negate(Expression, position: Int)
    case not(Expression, position: Int)
    case binary(BinaryOperator, Expression, Expression, position: Int)
    /// `x[n]`: x, n bars ago; `lag` is a number or a parameter.
    case lookback(Expression, lag: Expression, position: Int)

    var position: Int {
        switch self {
        case .number(_, let p), .boolean(_, let p), .parameter(_, let p), .field(_, let p),
            .call(_, _, let p), .negate(_, let p), .not(_, let p), .binary(_, _, _, let p), .lookback(_, _, let p):
            return p
        }
    }
}
