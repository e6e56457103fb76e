/// How a call travels, chosen by the request's content-type: gRPC, gRPC-Web (binary
/// or base64 text) or the Connect protocol (unary or streaming), with the protobuf
/// codec or, for Connect, JSON. One handler serves every wire; only the framing of the
/// body, the trailers, the errors and (for JSON) the messages' form differ.
struct CallWire: Equatable {
    enum Kind: Equatable {
        case grpc
        case grpcWeb
        /// The body, both ways, is base64 (each response envelope encoded on its own).
        case grpcWebText
        /// Connect unary: the body is the bare message; the status is the HTTP status,
        /// an error a JSON body; trailers travel as `trailer-` headers.
        case connectUnary
        /// Connect streaming: enveloped messages, ended by an end-of-stream envelope
        /// (flag 0x02) holding the status and trailers as JSON.
        case connectStream
        /// Not a call: a file or an error page answered to a GET, its body then its end.
        case plain
    }

    var kind: Kind
    /// Messages in proto3 JSON (Connect's `json` codec) rather than protobuf binary.
    var json = false

    static let grpc = CallWire(kind: .grpc)

    var isGRPCWeb: Bool { kind == .grpcWeb || kind == .grpcWebText }
    var isConnect: Bool { kind == .connectUnary || kind == .connectStream }

    /// The response's content-type.
    var contentType: String {
        switch kind {
        case .grpc: "application/grpc"
        case .grpcWeb: "application/grpc-web+proto"
        case .grpcWebText: "application/grpc-web-text+proto"
        case .connectUnary: json ? "application/json" : "application/proto"
        case .connectStream: json ? "application/connect+json" : "application/connect+proto"
        case .plain: "text/plain; charset=utf-8"
        }
    }

    init(kind: Kind, json: Bool = false) {
        self.kind = kind
        self.json = json
    }

    /// The wire a request's content-type asks for; nil when this server speaks none
    /// that matches (HTTP 415).
    init?(contentType: String) {
        // gRPC's own type, as every gRPC client sends it: no parsing on the hot path.
        if contentType == "application/grpc" || contentType == "application/grpc+proto" {
            self.init(kind: .grpc)
            return
        }
        let type = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        switch String(type.filter { $0 != " " && $0 != "\t" }).lowercased() {
        case "application/grpc-web", "application/grpc-web+proto": self.init(kind: .grpcWeb)
        case "application/grpc-web-text", "application/grpc-web-text+proto": self.init(kind: .grpcWebText)
        case "application/proto": self.init(kind: .connectUnary)
        case "application/json": self.init(kind: .connectUnary, json: true)
        case "application/connect+proto": self.init(kind: .connectStream)
        case "application/connect+json": self.init(kind: .connectStream, json: true)
        case let t where t == "application/grpc" || t.hasPrefix("application/grpc+"): self.init(kind: .grpc)
        default: return nil
        }
    }
}
