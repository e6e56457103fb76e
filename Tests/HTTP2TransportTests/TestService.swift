import RPC
import Synchronization

/// The service the transport tests call: raw bytes in and out.
enum TestService {
    static func router() -> RPCRouter {
        var router = RPCRouter()
        let raw: @Sendable ([UInt8]) throws -> [UInt8] = { $0 }
        router.unary("/test.Echo/Unary", decode: raw, encode: raw) { request, _ in request }
        router.serverStreaming("/test.Echo/ServerStream", decode: raw, encode: raw) { request, writer, _ in
            let count = Int(String(decoding: request, as: UTF8.self)) ?? 0
            for i in 0..<count {
                try await writer.write(Array(String(i).utf8))
            }
        }
        router.serverStreaming("/test.Echo/SlowStream", decode: raw, encode: raw) { request, writer, _ in
            let count = Int(String(decoding: request, as: UTF8.self)) ?? 0
            for i in 0..<count {
                try await Task.sleep(for: .milliseconds(10))
                try await writer.write(Array(String(i).utf8))
            }
        }
        // "COUNT SIZE": COUNT messages of SIZE bytes, each built only once the client can
        // take it (as the store-backed streams do); `bulkMessagesBuilt` counts them.
        router.serverStreaming("/test.Echo/Bulk", decode: raw, encode: raw) { request, writer, _ in
            let words = String(decoding: request, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
            guard words.count == 2 else { throw RPCError(.invalidArgument, "COUNT SIZE") }
            for _ in 0..<words[0] {
                try await writer.awaitCapacity()
                bulkMessagesBuilt.add(1, ordering: .relaxed)
                try await writer.write([UInt8](repeating: 0x42, count: words[1]))
            }
        }
        router.clientStreaming("/test.Echo/ClientStream", decode: raw, encode: raw) { requests, _ in
            var count = 0, bytes = 0
            for try await message in requests {
                count += 1
                bytes += message.count
            }
            return Array("\(count) messages, \(bytes) bytes".utf8)
        }
        // A reader slower than its client: request bytes pile up until flow control holds them.
        router.clientStreaming("/test.Echo/SlowClientStream", decode: raw, encode: raw) { requests, _ in
            var count = 0, bytes = 0
            for try await message in requests {
                try await Task.sleep(for: .milliseconds(20))
                count += 1
                bytes += message.count
            }
            return Array("\(count) messages, \(bytes) bytes".utf8)
        }
        // A reader that takes one message and then stops reading (until cancelled).
        router.clientStreaming("/test.Echo/StuckClientStream", decode: raw, encode: raw) { requests, _ in
            for try await _ in requests { try await Task.sleep(for: .seconds(3600)) }
            return []
        }
        router.unary("/test.Echo/Sleep", decode: raw, encode: raw) { _, _ in
            try await Task.sleep(for: .seconds(3600))
            return []
        }
        router.unary("/test.Echo/Fail", decode: raw, encode: raw) { _, _ -> [UInt8] in
            throw RPCError(.notFound, "nöt found: 100% gone")
        }
        router.unary("/test.Echo/Metadata", decode: raw, encode: raw) { _, context in
            for b in context.metadata.binaryValues("x-trace-bin") { context.trailers.add("x-trace-bin", binary: b) }
            return Array("x-user=\(context.metadata["x-user"] ?? "")".utf8)
        }
        // The priority the handler runs at: the default, and a bulk method's (lower).
        let priority: @Sendable ([UInt8], ServerContext) async throws -> [UInt8] = { _, _ in
            Array(String(Task.currentPriority.rawValue).utf8)
        }
        router.unary("/test.Echo/Priority", decode: raw, encode: raw, handler: priority)
        router.unary("/test.Echo/BulkPriority", decode: raw, encode: raw, handler: priority)
        router.setPriority("/test.Echo/BulkPriority", .utility)
        return router
    }

    static let bulkMessagesBuilt = Atomic<Int>(0)
}
