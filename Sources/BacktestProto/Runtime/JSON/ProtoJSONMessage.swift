/// A message with the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/),
/// generated for every message of the contract; Timestamp and Duration have their
/// special string forms.
public protocol ProtoJSONMessage: Sendable, Equatable {
    /// The fully qualified proto name, for example `backtest.v1.StartBacktestRequest`.
    static var protoName: String { get }
    /// The message as a JSON value. Throws `ProtoJSONError` for values JSON cannot
    /// carry: a Timestamp or Duration outside its valid range.
    func protoJSON(options: ProtoJSONEncodingOptions) throws -> JSONValue
    /// The message from a JSON value. Throws `ProtoJSONError` naming the field path.
    init(protoJSON json: JSONValue, options: ProtoJSONDecodingOptions) throws
}

extension ProtoJSONMessage {
    /// The message as compact JSON text.
    public func jsonString(options: ProtoJSONEncodingOptions = ProtoJSONEncodingOptions()) throws -> String {
        try protoJSON(options: options).text
    }

    /// The message as a JSON value with the canonical options.
    public func protoJSON() throws -> JSONValue {
        try protoJSON(options: ProtoJSONEncodingOptions())
    }

    /// Parses JSON text and maps it to the message.
    public init(jsonString text: String, options: ProtoJSONDecodingOptions = ProtoJSONDecodingOptions()) throws {
        try self.init(protoJSON: JSONValue(parsing: text, maxDepth: options.maxDepth), options: options)
    }

    /// Parses JSON bytes (UTF-8) and maps them to the message.
    public init(jsonUTF8 bytes: some Collection<UInt8>, options: ProtoJSONDecodingOptions = ProtoJSONDecodingOptions())
        throws
    {
        try self.init(protoJSON: JSONValue(parsing: bytes, maxDepth: options.maxDepth), options: options)
    }

    /// Maps a JSON value with the default (strict) options.
    public init(protoJSON json: JSONValue) throws {
        try self.init(protoJSON: json, options: ProtoJSONDecodingOptions())
    }
}
