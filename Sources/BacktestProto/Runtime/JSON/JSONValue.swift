/// A JSON value as the proto3 JSON mapping reads and writes it.
///
/// Numbers keep their literal text: a 64-bit integer or a double survives a parse and
/// a write unchanged, and the decoder decides per field whether `1e2` is an integer.
/// Objects keep their members in order, duplicates included (the message decoder
/// rejects a field set twice with its path; a plain parse has no opinion).
/// Equality is structural: member order and the spelling of numbers count.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The literal text, in JSON number grammar (`-12`, `0.5`, `1e+21`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// An integer.
    public init(_ value: some BinaryInteger) {
        self = .number(String(value))
    }

    /// A double in its shortest round-trip form; NaN and the infinities, which JSON
    /// cannot hold as numbers, are null (proto fields spell them as strings instead).
    public init(_ value: Double) {
        self = value.isFinite ? .number(JSONWriter.number(value)) : .null
    }

    /// An object from key-value pairs, in the order given.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(pairs.map { Member($0.key, $0.value) })
    }

    /// Parses JSON text (RFC 8259, strictly: no comments, no trailing commas, no
    /// NaN literals, valid UTF-8). Throws `ProtoJSONError`.
    public init(parsing text: String, maxDepth: Int = JSONParser.defaultMaxDepth) throws {
        var contiguous = text
        self = try contiguous.withUTF8 { try JSONParser.parse($0, maxDepth: maxDepth) }
    }

    /// Parses JSON bytes (UTF-8). Throws `ProtoJSONError`.
    public init(parsing bytes: some Collection<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth) throws {
        let parse = { (buffer: UnsafeBufferPointer<UInt8>) throws -> JSONValue in
            try JSONParser.parse(buffer, maxDepth: maxDepth)
        }
        if let parsed = try bytes.withContiguousStorageIfAvailable(parse) {
            self = parsed
        } else {
            self = try Array(bytes).withUnsafeBufferPointer(parse)
        }
    }

    /// Compact JSON text on one line.
    public var text: String {
        var writer = JSONWriter()
        writer.write(self)
        return writer.output
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value of the first member named `key`, for objects.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// What kind of value this is, for error messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
