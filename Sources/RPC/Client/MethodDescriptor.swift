/// One RPC method of a service: its name, its path on the wire and its shape.
/// Generated for every method of the contract, so no path is spelled by hand.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case unary, serverStreaming, clientStreaming, bidirectionalStreaming
    }

    /// The fully qualified service, e.g. `backtest.v1.BacktestService`.
    public let service: String
    public let method: String
    public let kind: Kind

    public init(service: String, method: String, kind: Kind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path`: `/service/method`.
    public var path: String { "/\(service)/\(method)" }
    public var description: String { path }
}
