import RPC

/// The value conversions of the proto3 JSON mapping that generated code calls, one
/// pair per field type. Decoders throw `ProtoJSONError` without a path; the caller
/// adds the field's name on the way up.
enum ProtoJSON {
    // MARK: Writing

    /// A number; NaN and the infinities as the strings "NaN", "Infinity", "-Infinity".
    static func double(_ d: Double) -> JSONValue {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d < 0 ? "-Infinity" : "Infinity") }
        return .number(JSONWriter.number(d))
    }

    static func float(_ f: Float) -> JSONValue {
        if f.isNaN { return .string("NaN") }
        if f.isInfinite { return .string(f < 0 ? "-Infinity" : "Infinity") }
        return .number(JSONWriter.number(f))
    }

    /// 32-bit integers as numbers.
    static func int32(_ v: Int32) -> JSONValue { .number(String(v)) }
    static func uint32(_ v: UInt32) -> JSONValue { .number(String(v)) }
    /// 64-bit integers as strings: JavaScript's numbers lose precision past 2^53.
    static func int64(_ v: Int64) -> JSONValue { .string(String(v)) }
    static func uint64(_ v: UInt64) -> JSONValue { .string(String(v)) }
    static func bool(_ v: Bool) -> JSONValue { .bool(v) }
    static func string(_ v: String) -> JSONValue { .string(v) }
    static func bytes(_ v: [UInt8]) -> JSONValue { .string(Base64.encode(v, padded: true)) }

    static func enumValue<E: ProtoEnum>(_ e: E, _ options: ProtoJSONEncodingOptions) -> JSONValue {
        options.enumsAsIntegers ? .number(String(e.rawValue)) : .string(e.protoValueName)
    }

    /// A repeated field; an element that cannot be written names its index.
    static func array<T>(_ items: [T], _ encode: (T) throws -> JSONValue) throws -> JSONValue {
        var out: [JSONValue] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            out.append(try ProtoJSONError.at(ProtoJSONError.index(i)) { try encode(item) })
        }
        return .array(out)
    }

    /// A map field as an object, keys in a fixed order (so equal maps print equal text).
    static func map<K: ProtoJSONMapKey, V>(_ map: [K: V], _ encode: (V) throws -> JSONValue) throws -> JSONValue {
        var members: [JSONValue.Member] = []
        members.reserveCapacity(map.count)
        for key in map.keys.sorted(by: K.jsonKeyPrecedes) {
            let name = key.jsonKey
            members.append(
                JSONValue.Member(name, try ProtoJSONError.at(ProtoJSONError.key(name)) { try encode(map[key]!) }))
        }
        return .object(members)
    }

    // MARK: Reading

    static func string(_ v: JSONValue) throws -> String {
        guard case .string(let s) = v else { throw mismatch("a string", v) }
        return s
    }

    static func bytes(_ v: JSONValue) throws -> [UInt8] {
        guard case .string(let s) = v else { throw mismatch("a base64 string", v) }
        guard let bytes = Base64.decode(s, urlSafe: true) else { throw ProtoJSONError("not base64: \(quoted(s))") }
        return bytes
    }

    static func bool(_ v: JSONValue) throws -> Bool {
        guard case .bool(let b) = v else { throw mismatch("true or false", v) }
        return b
    }

    static func double(_ v: JSONValue) throws -> Double {
        switch try floating(v) {
        case .special(let d): return d
        case .literal(let literal):
            // The grammar is checked, so Double's parser (correctly rounded) sees only JSON numbers.
            guard let d = Double(literal), d.isFinite else {
                throw ProtoJSONError("out of range for a double: \(literal)")
            }
            return d
        }
    }

    static func float(_ v: JSONValue) throws -> Float {
        switch try floating(v) {
        case .special(let d): return Float(d)
        case .literal(let literal):
            // Rounded once, from the text, not through a double.
            guard let f = Float(literal), f.isFinite else {
                throw ProtoJSONError("out of range for a float: \(literal)")
            }
            return f
        }
    }

    private enum Floating {
        case special(Double)
        case literal(String)
    }

    /// A number, a number in a string, or one of the three names JSON has no literal for.
    private static func floating(_ v: JSONValue) throws -> Floating {
        switch v {
        case .number(let n): return .literal(n)
        case .string("NaN"): return .special(.nan)
        case .string("Infinity"): return .special(.infinity)
        case .string("-Infinity"): return .special(-.infinity)
        case .string(let s):
            guard isNumberLiteral(s) else { throw ProtoJSONError("expected a number, got the string \(quoted(s))") }
            return .literal(s)
        default:
            throw mismatch("a number", v)
        }
    }

    static func int32(_ v: JSONValue) throws -> Int32 {
        Int32(try integer(v, "int32", min: Int64(Int32.min), max: UInt64(Int32.max)))
    }

    static func int64(_ v: JSONValue) throws -> Int64 {
        try integer(v, "int64", min: Int64.min, max: UInt64(Int64.max))
    }

    static func uint32(_ v: JSONValue) throws -> UInt32 {
        let (negative, magnitude) = try integerParts(v, "uint32")
        guard !negative || magnitude == 0, magnitude <= UInt64(UInt32.max) else { throw outOfRange(v, "uint32") }
        return UInt32(magnitude)
    }

    static func uint64(_ v: JSONValue) throws -> UInt64 {
        let (negative, magnitude) = try integerParts(v, "uint64")
        guard !negative || magnitude == 0 else { throw outOfRange(v, "uint64") }
        return magnitude
    }

    /// A signed integer within [min, max].
    private static func integer(_ v: JSONValue, _ type: String, min: Int64, max: UInt64) throws -> Int64 {
        let (negative, magnitude) = try integerParts(v, type)
        if negative {
            guard magnitude <= min.magnitude else { throw outOfRange(v, type) }
            return magnitude == min.magnitude ? min : -Int64(magnitude)
        }
        guard magnitude <= max else { throw outOfRange(v, type) }
        return Int64(magnitude)
    }

    /// An integer given as a number or a string, in any JSON number spelling that is
    /// exactly an integer (`5`, `"5"`, `5.0`, `5e0`, `"-1e3"`).
    private static func integerParts(_ v: JSONValue, _ type: String) throws -> (negative: Bool, magnitude: UInt64) {
        let literal: String
        switch v {
        case .number(let n): literal = n
        case .string(let s):
            guard isNumberLiteral(s) else {
                throw ProtoJSONError("expected an integer (\(type)), got the string \(quoted(s))")
            }
            literal = s
        default: throw mismatch("an integer (\(type))", v)
        }
        switch exactInteger(literal) {
        case .value(let negative, let magnitude): return (negative, magnitude)
        case .fraction: throw ProtoJSONError("not an integer: \(literal)")
        case .tooLarge: throw outOfRange(v, type)
        }
    }

    /// A name the enum defines, or a number it defines. With `ignoreUnknownFields`, an
    /// unknown one is nil (the caller leaves the field alone).
    static func enumValue<E: ProtoEnum>(_ v: JSONValue, _: E.Type, _ options: ProtoJSONDecodingOptions) throws -> E? {
        switch v {
        case .string(let name):
            if let e = E(protoValueName: name) { return e }
            if options.ignoreUnknownFields { return nil }
            throw ProtoJSONError("unknown value \(quoted(name)) of enum \(E.protoName)")
        case .number:
            let n = try int32(v)
            if let e = E(rawValue: n) { return e }
            if options.ignoreUnknownFields { return nil }
            throw ProtoJSONError("undefined number \(n) of enum \(E.protoName)")
        default:
            throw mismatch("an enum value name or number", v)
        }
    }

    static func message<M: ProtoJSONMessage>(_ v: JSONValue, _: M.Type, _ options: ProtoJSONDecodingOptions) throws -> M
    {
        try M(protoJSON: v, options: options)
    }

    /// A repeated field: an array whose elements are not null. Elements decoded as nil
    /// (an unknown enum name, ignored) are dropped.
    static func array<T>(_ v: JSONValue, _ decode: (JSONValue) throws -> T?) throws -> [T] {
        guard case .array(let items) = v else { throw mismatch("an array", v) }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            try ProtoJSONError.at(ProtoJSONError.index(i)) {
                guard !item.isNull else { throw ProtoJSONError("null is not a valid element of a repeated field") }
                if let value = try decode(item) { out.append(value) }
            }
        }
        return out
    }

    /// A map field: an object whose keys are the map's keys as text.
    static func map<K: ProtoJSONMapKey, V>(_ v: JSONValue, _ decode: (JSONValue) throws -> V?) throws -> [K: V] {
        guard case .object(let members) = v else { throw mismatch("an object (a map)", v) }
        var out: [K: V] = [:]
        var seen: Set<K> = []
        for member in members {
            try ProtoJSONError.at(ProtoJSONError.key(member.key)) {
                let key = try K(jsonKey: member.key)
                guard seen.insert(key).inserted else { throw ProtoJSONError("map key set twice") }
                guard !member.value.isNull else { throw ProtoJSONError("null is not a valid map value") }
                if let value = try decode(member.value) { out[key] = value }
            }
        }
        return out
    }

    // MARK: Numbers

    enum ExactInteger: Equatable {
        case value(negative: Bool, magnitude: UInt64)
        case fraction
        case tooLarge
    }

    /// The integer a JSON number literal denotes exactly, whatever its spelling.
    static func exactInteger(_ literal: String) -> ExactInteger {
        var text = Substring(literal)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            // Clamped: a huge exponent means a fraction or an overflow either way.
            let digits = text[text.index(after: e)...]
            let sign = digits.hasPrefix("-") ? -1 : 1
            var magnitude = 0
            for ch in digits where ch.isASCII && ch.isNumber {
                magnitude = min(magnitude * 10 + Int(ch.asciiValue! - 48), 100_000)
            }
            exponent = sign * magnitude
            text = text[..<e]
        }
        var digits: [UInt8] = []
        if let dot = text.firstIndex(of: ".") {
            digits = Array(text[..<dot].utf8) + Array(text[text.index(after: dot)...].utf8)
            exponent -= text.distance(from: text.index(after: dot), to: text.endIndex)
        } else {
            digits = Array(text.utf8)
        }
        while let first = digits.first, first == UInt8(ascii: "0") { digits.removeFirst() }
        if digits.isEmpty { return .value(negative: negative, magnitude: 0) }
        while exponent < 0, digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        if exponent < 0 { return .fraction }
        if digits.count + exponent > 20 { return .tooLarge }
        var magnitude: UInt64 = 0
        for d in digits + [UInt8](repeating: UInt8(ascii: "0"), count: exponent) {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            if o1 || o2 { return .tooLarge }
            magnitude = s
        }
        return .value(negative: negative, magnitude: magnitude)
    }

    /// Whether `s` is a number in JSON's grammar, nothing around it (no spaces, no `+`,
    /// no hex, no `inf`): quoted numbers follow the same rules as bare ones.
    static func isNumberLiteral(_ s: String) -> Bool {
        var bytes = Array(s.utf8)[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits() -> Int {
            let n = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(n)
            return n
        }
        let whole = bytes.first == UInt8(ascii: "0") ? 1 : 0
        if whole == 1 {
            bytes = bytes.dropFirst()
        } else if digits() == 0 {
            return false
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            if digits() == 0 { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            if digits() == 0 { return false }
        }
        return bytes.isEmpty
    }

    // MARK: Errors

    static func mismatch(_ expected: String, _ got: JSONValue) -> ProtoJSONError {
        switch got {
        case .string(let s): ProtoJSONError("expected \(expected), got the string \(quoted(s))")
        case .number(let n): ProtoJSONError("expected \(expected), got the number \(n)")
        case .bool(let b): ProtoJSONError("expected \(expected), got \(b)")
        default: ProtoJSONError("expected \(expected), got \(got.kindName)")
        }
    }

    private static func outOfRange(_ v: JSONValue, _ type: String) -> ProtoJSONError {
        let text: String =
            switch v {
            case .number(let n): n
            case .string(let s): quoted(s)
            default: v.kindName
            }
        return ProtoJSONError("out of range for \(type): \(text)")
    }

    /// A value quoted for an error message, shortened when long.
    static func quoted(_ s: String) -> String {
        var out = ""
        JSONWriter.quote(s.count > 60 ? String(s.prefix(57)) + "..." : s, into: &out)
        return out
    }
}
