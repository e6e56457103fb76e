/// How a call travels, chosen by the request's content-type: gRPC, gRPC-Web (binary
/// or base64 text) or the Connect protocol (unary or streaming). One handler serves
/// every wire; only the framing of the body, the trailers and the errors differ.
/// Only the protobuf codec is served.
enum CallWire: Equatable {
    case grpc
    case grpcWeb
    /// The body, both ways, is base64 (each response envelope encoded on its own).
    case grpcWebText
    /// Connect unary: the body is the bare message; the status is the HTTP status, an
    /// error a JSON body; trailers travel as `trailer-` headers.
    case connectUnary
    /// Connect streaming: enveloped messages, ended by an end-of-stream envelope
    /// (flag 0x02) holding the status and trailers as JSON.
    case connectStream

    var isGRPCWeb: Bool { self == .grpcWeb || self == .grpcWebText }
    var isConnect: Bool { self == .connectUnary || self == .connectStream }

    /// The response's content-type.
    var contentType: String {
        switch self {
        case .grpc: "application/grpc"
        case .grpcWeb: "application/grpc-web+proto"
        case .grpcWebText: "application/grpc-web-text+proto"
        case .connectUnary: "application/proto"
        case .connectStream: "application/connect+proto"
        }
    }

    /// The wire a request's content-type asks for; nil when this server speaks none
    /// that matches (HTTP 415).
    init?(contentType: String) {
        let type = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        switch String(type.filter { $0 != " " && $0 != "\t" }).lowercased() {
        case "application/grpc-web", "application/grpc-web+proto": self = .grpcWeb
        case "application/grpc-web-text", "application/grpc-web-text+proto": self = .grpcWebText
        case "application/proto": self = .connectUnary
        case "application/connect+proto": self = .connectStream
        case let t where t == "application/grpc" || t.hasPrefix("application/grpc+"): self = .grpc
        default: return nil
        }
    }
}
