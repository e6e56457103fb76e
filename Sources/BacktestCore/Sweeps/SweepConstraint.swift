/// A condition a sweep's combinations must meet, over the swept parameters' names:
/// `n1 < n2`, `n1 * 2 <= n2 and stop != 0`. Comparisons `< <= > >= == !=`, arithmetic
/// `+ - * /`, `and`/`&&`, `or`/`||`, `not`/`!` and parentheses; numbers and names are
/// the operands (docs/DESIGN.md section 13.2).
public struct SweepConstraint: Sendable {
    public let text: String
    private let root: Node

    /// Where the text is wrong: a 1-based character position and what was expected.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var position: Int
        public var message: String
        public var description: String { "at \(position): \(message)" }
    }

    indirect enum Node: Sendable {
        case number(Double)
        case parameter(Int)
        case negate(Node)
        case arithmetic(Character, Node, Node)
        case compare(String, Node, Node)
        case and(Node, Node)
        case or(Node, Node)
        case not(Node)
    }

    /// Parses `text`; `names` are the swept parameters, in axis order (a name refers to
    /// its axis's value).
    public init(_ text: String, names: [String]) throws(ParseError) {
        var parser = Parser(tokens: try Self.tokens(text), names: names, end: text.count + 1)
        root = try parser.condition()
        if let extra = parser.peek {
            throw ParseError(position: extra.position, message: "unexpected \"\(extra.text)\" after the condition")
        }
        self.text = text
    }

    /// Whether the combination (values in axis order) meets the condition. A
    /// comparison involving NaN is false, as in the strategy language.
    public func holds(_ values: [Double]) -> Bool { Self.test(root, values) }

    private static func test(_ node: Node, _ v: [Double]) -> Bool {
        switch node {
        case .and(let a, let b): return test(a, v) && test(b, v)
        case .or(let a, let b): return test(a, v) || test(b, v)
        case .not(let a): return !test(a, v)
        case .compare(let op, let a, let b):
            let x = value(a, v), y = value(b, v)
            guard !x.isNaN && !y.isNaN else { return false }
            switch op {
            case "<": return x < y
            case "<=": return x <= y
            case ">": return x > y
            case ">=": return x >= y
            case "==": return x == y
            default: return x != y
            }
        default: return false
        }
    }

    private static func value(_ node: Node, _ v: [Double]) -> Double {
        switch node {
        case .number(let x): return x
        case .parameter(let i): return v[i]
        case .negate(let a): return -value(a, v)
        case .arithmetic(let op, let a, let b):
            let x = value(a, v), y = value(b, v)
            switch op {
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            default: return x / y
            }
        default: return .nan
        }
    }

    // MARK: Parsing

    struct Token {
        enum Kind { case number(Double), name, symbol }
        var kind: Kind
        var text: String
        var position: Int
    }

    static func tokens(_ text: String) throws(ParseError) -> [Token] {
        let chars = Array(text)
        var out: [Token] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" {
                i += 1
                continue
            }
            let start = i
            if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
                if i < chars.count, chars[i] == "e" || chars[i] == "E" {
                    var j = i + 1
                    if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
                    if j < chars.count, chars[j].isNumber {
                        i = j
                        while i < chars.count, chars[i].isNumber { i += 1 }
                    }
                }
                let literal = String(chars[start..<i])
                guard let x = Double(literal), x.isFinite else {
                    throw ParseError(position: start + 1, message: "\"\(literal)\" is not a number")
                }
                out.append(Token(kind: .number(x), text: literal, position: start + 1))
            } else if c.isLetter || c == "_" {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                out.append(Token(kind: .name, text: String(chars[start..<i]), position: start + 1))
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["<=", ">=", "==", "!=", "&&", "||"].contains(two) {
                    out.append(Token(kind: .symbol, text: two, position: start + 1))
                    i += 2
                } else if "<>+-*/()!".contains(c) {
                    out.append(Token(kind: .symbol, text: String(c), position: start + 1))
                    i += 1
                } else {
                    throw ParseError(position: start + 1, message: "unexpected character \"\(c)\"")
                }
            }
        }
        return out
    }

    struct Parser {
        let tokens: [Token]
        let names: [String]
        /// The position reported for "the end of the text".
        let end: Int
        var index = 0

        init(tokens: [Token], names: [String], end: Int) {
            self.tokens = tokens
            self.names = names
            self.end = end
        }

        var peek: Token? { index < tokens.count ? tokens[index] : nil }

        func isSymbol(_ texts: String...) -> Bool {
            guard let t = peek, case .symbol = t.kind else { return false }
            return texts.contains(t.text)
        }

        func isWord(_ word: String) -> Bool {
            guard let t = peek, case .name = t.kind else { return false }
            return t.text == word
        }

        func failure(_ expected: String) -> ParseError {
            guard let t = peek else { return ParseError(position: end, message: "expected \(expected), found the end") }
            return ParseError(position: t.position, message: "expected \(expected), found \"\(t.text)\"")
        }

        mutating func condition() throws(ParseError) -> Node {
            var node = try conjunction()
            while isWord("or") || isSymbol("||") {
                index += 1
                node = .or(node, try conjunction())
            }
            return node
        }

        mutating func conjunction() throws(ParseError) -> Node {
            var node = try negation()
            while isWord("and") || isSymbol("&&") {
                index += 1
                node = .and(node, try negation())
            }
            return node
        }

        mutating func negation() throws(ParseError) -> Node {
            if isWord("not") || isSymbol("!") {
                index += 1
                return .not(try negation())
            }
            // "(" opens either a condition or a number expression: try the condition.
            if isSymbol("(") {
                let mark = index
                index += 1
                if let inner = try? condition(), isSymbol(")") {
                    index += 1
                    if !isSymbol("<", "<=", ">", ">=", "==", "!=", "+", "-", "*", "/") { return inner }
                }
                index = mark
            }
            return try comparison()
        }

        mutating func comparison() throws(ParseError) -> Node {
            let left = try sum()
            guard isSymbol("<", "<=", ">", ">=", "==", "!=") else {
                throw failure("a comparison (<, <=, >, >=, ==, !=)")
            }
            let op = tokens[index].text
            index += 1
            return .compare(op, left, try sum())
        }

        mutating func sum() throws(ParseError) -> Node {
            var node = try product()
            while isSymbol("+", "-") {
                let op = Character(tokens[index].text)
                index += 1
                node = .arithmetic(op, node, try product())
            }
            return node
        }

        mutating func product() throws(ParseError) -> Node {
            var node = try unary()
            while isSymbol("*", "/") {
                let op = Character(tokens[index].text)
                index += 1
                node = .arithmetic(op, node, try unary())
            }
            return node
        }

        mutating func unary() throws(ParseError) -> Node {
            if isSymbol("-") {
                index += 1
                return .negate(try unary())
            }
            guard let t = peek else { throw failure("a parameter or a number") }
            switch t.kind {
            case .number(let x):
                index += 1
                return .number(x)
            case .name:
                guard let i = names.firstIndex(of: t.text) else {
                    let known = names.isEmpty ? "none" : names.joined(separator: ", ")
                    throw ParseError(
                        position: t.position, message: "unknown parameter \"\(t.text)\" (swept: \(known))")
                }
                index += 1
                return .parameter(i)
            case .symbol:
                guard t.text == "(" else { throw failure("a parameter or a number") }
                index += 1
                let inner = try sum()
                guard isSymbol(")") else { throw failure("\")\"") }
                index += 1
                return inner
            }
        }
    }
}
