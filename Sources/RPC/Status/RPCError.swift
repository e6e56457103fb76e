/// The error handlers throw to end a call with a status other than OK. Anything else
/// a handler throws ends the call with UNKNOWN (its text is not sent to the client).
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Status.Code
    public var message: String
    /// Sent in the trailers.
    public var metadata: Metadata

    public init(_ code: Status.Code, _ message: String, metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public var status: Status { Status(code, message) }
    public var description: String { "\(code): \(message)" }
}
