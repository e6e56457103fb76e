/// A Redis reply, as RESP2 has them.
public enum RedisReply: Sendable, Equatable {
    /// A bulk string: any bytes.
    case bulk([UInt8])
    /// A simple status, such as OK.
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    /// A missing value (a nil bulk string or array).
    case null
    /// An error reply in its place in a pipeline (`command` throws it instead).
    case error(String)

    /// The bulk string as UTF-8 text, or the status; nil otherwise.
    public var text: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }

    /// The bulk string's bytes; nil otherwise.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let n) = self { return n }
        return nil
    }

    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var isNull: Bool { self == .null }
}
