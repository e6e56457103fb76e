/// How messages are written as proto3 JSON. The defaults are the canonical mapping:
/// lowerCamelCase names, enum value names, fields at their default value left out.
public struct ProtoJSONEncodingOptions: Sendable, Equatable {
    /// Also write fields without presence (proto3 scalars, repeated fields, maps)
    /// when they hold their default value; unset message fields and oneofs stay out.
    /// protobuf's `always_print_fields_with_no_presence`.
    public var alwaysPrintFieldsWithNoPresence: Bool
    /// Keys are the proto field names (`session_id`), not the JSON names (`sessionId`).
    public var preservingProtoFieldNames: Bool
    /// Enums as their numbers rather than their value names.
    public var enumsAsIntegers: Bool

    public init(
        alwaysPrintFieldsWithNoPresence: Bool = false, preservingProtoFieldNames: Bool = false,
        enumsAsIntegers: Bool = false
    ) {
        self.alwaysPrintFieldsWithNoPresence = alwaysPrintFieldsWithNoPresence
        self.preservingProtoFieldNames = preservingProtoFieldNames
        self.enumsAsIntegers = enumsAsIntegers
    }
}
