/// Recursive-descent parser for one rule's expression.
///
///     expression  := or
///     or          := and ("or" and)*
///     and         := not ("and" not)*
///     not         := "not" not | comparison
///     comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=" | "crosses_above" | "crosses_below") sum)?
///     sum         := product (("+" | "-") product)*
///     product     := unary (("*" | "/") unary)*
///     unary       := "-" unary | postfix
///     postfix     := primary ("[" (integer | $param) "]")*
///     primary     := number | "true" | "false" | $param | field | name "(" arguments? ")" | "(" expression ")"
struct Parser {
    private let tokens: [Token]
    private let rule: String
    private var index = 0

    static func parse(_ text: String, rule: String) throws(StrategyError) -> Expression {
        var parser = Parser(tokens: try Lexer.tokens(text, rule: rule), rule: rule)
        if case .end = parser.current.kind {
            throw StrategyError(rule: rule, position: 1, message: "expected an expression, found an empty rule")
        }
        let e = try parser.parseOr()
        if case .end = parser.current.kind { return e }
        throw parser.error("expected an operator or the end of the rule, found \(parser.current.quoted)")
    }

    private init(tokens: [Token], rule: String) {
        self.tokens = tokens
        self.rule = rule
    }

    private var current: Token { tokens[index] }

    private func error(_ message: String, at position: Int? = nil) -> StrategyError {
        StrategyError(rule: rule, position: position ?? current.position, message: message)
    }

    private func isSymbol(_ s: String) -> Bool {
        if case .symbol(let t) = current.kind { return t == s }
        return false
    }

    private func isKeyword(_ s: String) -> Bool {
        if case .identifier(let t) = current.kind { return t == s }
        return false
    }

    private mutating func parseOr() throws(StrategyError) -> Expression {
        var left = try parseAnd()
        while isKeyword("or") {
            let p = current.position
            index += 1
            left = .binary(.or, left, try parseAnd(), position: p)
        }
        return left
    }

    private mutating func parseAnd() throws(StrategyError) -> Expression {
        var left = try parseNot()
        while isKeyword("and") {
            let p = current.position
            index += 1
            left = .binary(.and, left, try parseNot(), position: p)
        }
        return left
    }

    private mutating func parseNot() throws(StrategyError) -> Expression {
        if isKeyword("not") {
            let p = current.position
            index += 1
            return .not(try parseNot(), position: p)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(StrategyError) -> Expression {
        let left = try parseSum()
        let op: Expression.BinaryOperator?
        switch current.kind {
        case .symbol(let s):
            op = ["<", "<=", ">", ">=", "==", "!="].contains(s) ? Expression.BinaryOperator(rawValue: s) : nil
        case .identifier(let s):
            op = s == "crosses_above" || s == "crosses_below" ? Expression.BinaryOperator(rawValue: s) : nil
        default: op = nil
        }
        guard let op else { return left }
        let p = current.position
        index += 1
        let right = try parseSum()
        if case .symbol(let s) = current.kind, ["<", "<=", ">", ">=", "==", "!="].contains(s) {
            throw error("comparisons do not chain; join them with \"and\"")
        }
        return .binary(op, left, right, position: p)
    }

    private mutating func parseSum() throws(StrategyError) -> Expression {
        var left = try parseProduct()
        while isSymbol("+") || isSymbol("-") {
            let op: Expression.BinaryOperator = isSymbol("+") ? .add : .subtract
            let p = current.position
            index += 1
            left = .binary(op, left, try parseProduct(), position: p)
        }
        return left
    }

    private mutating func parseProduct() throws(StrategyError) -> Expression {
        var left = try parseUnary()
        while isSymbol("*") || isSymbol("/") {
            let op: Expression.BinaryOperator = isSymbol("*") ? .multiply : .divide
            let p = current.position
            index += 1
            left = .binary(op, left, try parseUnary(), position: p)
        }
        return left
    }

    private mutating func parseUnary() throws(StrategyError) -> Expression {
        if isSymbol("-") {
            let p = current.position
            index += 1
            return .negate(try parseUnary(), position: p)
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(StrategyError) -> Expression {
        var e = try parsePrimary()
        while isSymbol("[") {
            let p = current.position
            index += 1
            let lag: Expression
            switch current.kind {
            case .number(let v): lag = .number(v, position: current.position)
            case .parameter(let name): lag = .parameter(name, position: current.position)
            default: throw error("expected a whole number of bars after \"[\", found \(current.quoted)")
            }
            index += 1
            guard isSymbol("]") else { throw error("expected \"]\" after the lookback, found \(current.quoted)") }
            index += 1
            e = .lookback(e, lag: lag, position: p)
        }
        return e
    }

    private mutating func parsePrimary() throws(StrategyError) -> Expression {
        let token = current
        switch token.kind {
        case .number(let v):
            index += 1
            return .number(v, position: token.position)
        case .parameter(let name):
            index += 1
            return .parameter(name, position: token.position)
        case .symbol("("):
            index += 1
            let e = try parseOr()
            guard isSymbol(")") else {
                throw error("expected \")\" to close the \"(\" at \(token.position), found \(current.quoted)")
            }
            index += 1
            return e
        case .identifier(let name):
            let callFollows: Bool
            if case .symbol("(") = tokens[index + 1].kind { callFollows = true } else { callFollows = false }
            if ["and", "or", "not"].contains(name)
                || (!callFollows && (name == "crosses_above" || name == "crosses_below"))
            {
                throw error("expected an expression before \"\(name)\"")
            }
            index += 1
            if name == "true" || name == "false" { return .boolean(name == "true", position: token.position) }
            guard isSymbol("(") else { return .field(name, position: token.position) }
            index += 1
            var arguments: [Expression] = []
            if !isSymbol(")") {
                while true {
                    arguments.append(try parseOr())
                    if isSymbol(",") {
                        index += 1
                        continue
                    }
                    break
                }
            }
            guard isSymbol(")") else {
                throw error("expected \")\" after the arguments of \(name), found \(current.quoted)")
            }
            index += 1
            return .call(name, arguments: arguments, position: token.position)
        case .end:
            throw error("expected an expression, found the end of the rule")
        case .symbol(let s):
            throw error("expected an expression, found \"\(s)\"")
        }
    }
}
