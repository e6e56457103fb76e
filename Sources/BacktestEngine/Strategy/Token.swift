/// One lexical token of a rule's text, with its 1-based character position.
struct Token: Equatable {
    enum Kind: Equatable {
        case number(Double)
        case identifier(String)
        /// `$name`
        case parameter(String)
        /// An operator or punctuation: + - * / ( ) [ ] , < <= > >= == !=
        case symbol(String)
        case end
    }

    var kind: Kind
    var position: Int

    /// How the token reads in an error message.
    var quoted: String {
        switch kind {
        case .number(let v): return "number \(v)"
        case .identifier(let s): return "\"\(s)\""
        case .parameter(let s): return "\"$\(s)\""
        case .symbol(let s): return "\"\(s)\""
        case .end: return "the end of the text"
        }
    }
}

/// Splits a rule's text into tokens.
struct Lexer {
    static func tokens(_ text: String, rule: String) throws(StrategyError) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var out: [Token] = []
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        while i < chars.count {
            let c = chars[i]
            let position = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
                continue
            }
            if isDigit(c) || (c == "." && i + 1 < chars.count && isDigit(chars[i + 1])) {
                var j = i
                while j < chars.count && isDigit(chars[j]) { j += 1 }
                if j < chars.count && chars[j] == "." {
                    j += 1
                    while j < chars.count && isDigit(chars[j]) { j += 1 }
                }
                if j < chars.count && (chars[j] == "e" || chars[j] == "E") {
                    var k = j + 1
                    if k < chars.count && (chars[k] == "+" || chars[k] == "-") { k += 1 }
                    if k < chars.count && isDigit(chars[k]) {
                        while k < chars.count && isDigit(chars[k]) { k += 1 }
                        j = k
                    }
                }
                let literal = String(String.UnicodeScalarView(chars[i..<j]))
                guard let value = Double(literal), value.isFinite else {
                    throw StrategyError(
                        rule: rule, position: position, message: "\"\(literal)\" is not a finite number")
                }
                if j < chars.count && isIdentStart(chars[j]) {
                    throw StrategyError(
                        rule: rule, position: j + 1, message: "expected an operator after the number \(literal)")
                }
                out.append(Token(kind: .number(value), position: position))
                i = j
                continue
            }
            if isIdentStart(c) || c == "$" {
                var j = c == "$" ? i + 1 : i
                let start = j
                while j < chars.count && (isIdentStart(chars[j]) || isDigit(chars[j])) { j += 1 }
                if c == "$" && (j == start || !isIdentStart(chars[start])) {
                    throw StrategyError(
                        rule: rule, position: position, message: "expected a parameter name after \"$\"")
                }
                let name = String(String.UnicodeScalarView(chars[start..<j]))
                out.append(Token(kind: c == "$" ? .parameter(name) : .identifier(name), position: position))
                i = j
                continue
            }
            let next: Unicode.Scalar? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "+", "-", "*", "/", "(", ")", "[", "]", ",":
                out.append(Token(kind: .symbol(String(c)), position: position))
                i += 1
            case "<", ">":
                if next == "=" {
                    out.append(Token(kind: .symbol(String(c) + "="), position: position))
                    i += 2
                } else {
                    out.append(Token(kind: .symbol(String(c)), position: position))
                    i += 1
                }
            case "=", "!":
                guard next == "=" else {
                    let hint = c == "=" ? "\"==\" to compare" : "\"!=\" or \"not\""
                    throw StrategyError(
                        rule: rule, position: position, message: "unexpected \"\(c)\"; expected \(hint)")
                }
                out.append(Token(kind: .symbol(String(c) + "="), position: position))
                i += 2
            default:
                throw StrategyError(rule: rule, position: position, message: "unexpected character \"\(c)\"")
            }
        }
        out.append(Token(kind: .end, position: chars.count + 1))
        return out
    }
}
