/// How proto3 JSON is read into messages. The defaults are strict, as a server that
/// takes requests should be: an unknown field is an error naming its path.
public struct ProtoJSONDecodingOptions: Sendable, Equatable {
    /// Skip members that name no field, and enum value names the contract does not
    /// define (the field keeps its default; a repeated element or map entry is dropped).
    public var ignoreUnknownFields: Bool
    /// The deepest nesting of objects and arrays the parser accepts.
    public var maxDepth: Int

    public init(ignoreUnknownFields: Bool = false, maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.ignoreUnknownFields = ignoreUnknownFields
        self.maxDepth = maxDepth
    }
}
