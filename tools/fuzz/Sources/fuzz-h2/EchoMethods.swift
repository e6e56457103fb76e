import FuzzSupport
import RPC

/// The methods the harness's server serves, one per call shape, on raw bytes, plus one
/// that waits until the call ends (deadlines, resets, the connection closing).
enum EchoMethods {
    static let service = "fuzz.Echo"

    static func register(into router: inout RPCRouter) {
        let bytes: @Sendable ([UInt8]) throws -> [UInt8] = { $0 }
        router.unary("/\(service)/Unary", decode: bytes, encode: bytes) { request, _ in request }
        router.serverStreaming("/\(service)/Expand", decode: bytes, encode: bytes) { request, writer, _ in
            // One response per request byte up to 8: several DATA frames, some empty.
            for i in 0..<min(request.count, 8) { try await writer.write(Array(request.prefix(i))) }
        }
        router.clientStreaming("/\(service)/Collect", decode: bytes, encode: bytes) { requests, _ in
            var all: [UInt8] = []
            for try await r in requests { all += r.prefix(1024) }
            return all
        }
        router.bidirectionalStreaming("/\(service)/Echo", decode: bytes, encode: bytes) { requests, writer, _ in
            for try await r in requests { try await writer.write(r) }
        }
        router.unary("/\(service)/Wait", decode: bytes, encode: bytes) { _, _ in
            try await Task.sleep(for: .seconds(3600))
            return []
        }
    }
}
