/// Why a message could not be decoded or encoded. Each case names the message or the
/// fully qualified field, so the RPC layer can answer with a precise status message.
public enum ProtoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a valid encoding of the message (truncated, wrong wire
    /// type, a length past the end, a bad varint, ...).
    case malformed(message: String)
    /// A string field holds bytes that are not UTF-8.
    case invalidUTF8(field: String)
    /// An enum field holds a number the contract does not define.
    case invalidEnumValue(field: String, value: Int32)
    /// A string to encode contains a NUL character, which protobuf-c's C strings
    /// cannot carry: refusing is better than silently truncating it.
    case stringContainsNUL(field: String)
    /// A repeated or map element is missing in the decoded structure.
    case missingElement(field: String)

    public var description: String {
        switch self {
        case .malformed(let message): "malformed \(message): not a valid protobuf encoding"
        case .invalidUTF8(let field): "invalid UTF-8 in string field \(field)"
        case .invalidEnumValue(let field, let value): "undefined value \(value) for enum field \(field)"
        case .stringContainsNUL(let field): "string field \(field) contains a NUL character"
        case .missingElement(let field): "missing element in field \(field)"
        }
    }
}
