// grpc.health.v1.Health/Check served by grpc-swift-2 on its HTTP/2 server transport
// (grpc-swift-nio-transport, posix), plaintext, for the side-by-side unary benchmark.
// Hand-written with the raw RPCRouter API: swift-protobuf's build plugin would cost
// minutes of build for one two-byte message.
//   peer-health [PORT]    # 0 (the default) picks a free port; prints the port, runs until killed
import GRPCCore
import GRPCNIOTransportHTTP2Posix

#if canImport(Glibc)
    import Glibc
#endif

/// HealthCheckRequest{service}: the benchmark sends an empty one, so it is not parsed;
/// backtestd's handler does not look at an empty service name either.
struct CheckRequest: Sendable {}

/// HealthCheckResponse{status: SERVING}, always.
struct CheckResponse: Sendable {}

struct CheckRequestDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> CheckRequest {
        CheckRequest()
    }
}

struct CheckResponseSerializer: MessageSerializer {
    /// Field 1 (status), varint, value 1 (SERVING): the protobuf encoding of the response.
    static let serving: [UInt8] = [0x08, 0x01]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: CheckResponse) throws -> Bytes {
        Bytes(Self.serving)
    }
}

struct HealthService: RegistrableRPCService {
    static let check = MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check", type: .unary)

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        // The same request/response conversion a generated unary method does.
        router.registerHandler(
            forMethod: Self.check,
            deserializer: CheckRequestDeserializer(),
            serializer: CheckResponseSerializer()
        ) { request, _ in
            _ = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: CheckResponse()))
        }
    }
}

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 0
let server = GRPCServer(
    transport: .http2NIOPosix(
        address: .ipv4(host: "127.0.0.1", port: port),
        transportSecurity: .plaintext
    ),
    services: [HealthService()]
)

try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await server.serve() }
    if let address = try await server.listeningAddress?.ipv4 {
        print(address.port)
        fflush(nil)  // every stream, stdout among them: the benchmark script reads it through a pipe
    }
}
