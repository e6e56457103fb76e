/// Why a Redis call failed.
public enum RedisError: Error, Equatable, CustomStringConvertible {
    /// The connection could not be made, or broke (refused, timed out, closed): the
    /// command's effect is unknown and the connection is unusable.
    case io(address: String, message: String)
    /// The server answered with an error (WRONGTYPE, NOSCRIPT, ...): the connection is fine.
    case reply(String)

    public var description: String {
        switch self {
        case .io(let address, let message): "redis at \(address): \(message)"
        case .reply(let message): "redis: \(message)"
        }
    }
}
