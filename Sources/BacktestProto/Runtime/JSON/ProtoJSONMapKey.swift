/// A type proto allows as a map key, and its text as a JSON object key: strings as
/// they are, integers in decimal, bools as `true`/`false`.
protocol ProtoJSONMapKey: Hashable {
    var jsonKey: String { get }
    init(jsonKey: String) throws
    /// The order keys are written in: byte order for strings, numeric for numbers.
    static func jsonKeyPrecedes(_ a: Self, _ b: Self) -> Bool
}

extension ProtoJSONMapKey where Self: FixedWidthInteger {
    var jsonKey: String { String(self) }
    static func jsonKeyPrecedes(_ a: Self, _ b: Self) -> Bool { a < b }
}

extension String: ProtoJSONMapKey {
    var jsonKey: String { self }
    init(jsonKey: String) { self = jsonKey }
    static func jsonKeyPrecedes(_ a: String, _ b: String) -> Bool { ProtoRuntime.utf8Precedes(a, b) }
}

extension Bool: ProtoJSONMapKey {
    var jsonKey: String { self ? "true" : "false" }

    init(jsonKey: String) throws {
        switch jsonKey {
        case "true": self = true
        case "false": self = false
        default: throw ProtoJSONError("expected the key true or false, got \(ProtoJSON.quoted(jsonKey))")
        }
    }

    static func jsonKeyPrecedes(_ a: Bool, _ b: Bool) -> Bool { !a && b }
}

// Integer keys are read as quoted integers are: the same grammar, exactly integral.
extension Int32: ProtoJSONMapKey {
    init(jsonKey: String) throws { self = try ProtoJSON.int32(.string(jsonKey)) }
}

extension Int64: ProtoJSONMapKey {
    init(jsonKey: String) throws { self = try ProtoJSON.int64(.string(jsonKey)) }
}

extension UInt32: ProtoJSONMapKey {
    init(jsonKey: String) throws { self = try ProtoJSON.uint32(.string(jsonKey)) }
}

extension UInt64: ProtoJSONMapKey {
    init(jsonKey: String) throws { self = try ProtoJSON.uint64(.string(jsonKey)) }
}
