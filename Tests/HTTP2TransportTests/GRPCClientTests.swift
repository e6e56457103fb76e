import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// Our own client against our own server, for the cases grpcio covers.
@Suite struct GRPCClientTests {
    /// The suite's server, shared by its tests (which run side by side). Tests that
    /// check that their calls end use one of their own (`withOwnServer`).
    static let server: GRPCServer = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        _ = try! server.start()
        return server
    }()
    static let client = GRPCClient(configuration: .init(port: try! server.boundPort()))

    func unary(
        _ method: String, _ request: [UInt8] = [], metadata: Metadata = Metadata(), timeout: Duration? = nil,
        on client: GRPCClient = GRPCClientTests.client
    ) async throws -> [UInt8] {
        try await client.unary("/test.Echo/\(method)", request: request, metadata: metadata, timeout: timeout)
            .response
    }

    @Test func unaryRoundTrip() async throws {
        #expect(try await unary("Unary", [1, 0, 255]) == [1, 0, 255])
        #expect(try await unary("Unary", []) == [])
    }

    /// A method given a priority runs at it, deadline or not (the deadline's task
    /// inherits it); the others run above it (DESIGN 12.2).
    @Test func methodsRunAtTheirPriority() async throws {
        func priority(_ method: String, timeout: Duration? = nil) async throws -> UInt8 {
            UInt8(String(decoding: try await unary(method, timeout: timeout), as: UTF8.self)) ?? 0
        }
        #expect(try await priority("BulkPriority") == TaskPriority.utility.rawValue)
        #expect(try await priority("BulkPriority", timeout: .seconds(60)) == TaskPriority.utility.rawValue)
        #expect(try await priority("Priority") > TaskPriority.utility.rawValue)
        #expect(try await priority("Priority", timeout: .seconds(60)) > TaskPriority.utility.rawValue)
    }

    @Test func serverStreaming() async throws {
        let call = try await Self.client.serverStreaming("/test.Echo/ServerStream", request: Array("1000".utf8))
        var received: [String] = []
        for try await m in call.messages { received.append(String(decoding: m, as: UTF8.self)) }
        #expect(received.count == 1000)
        #expect(received.last == "999")
        #expect(await call.result().status == .ok)
    }

    @Test func clientStreaming() async throws {
        let call = try await Self.client.start("/test.Echo/ClientStream")
        for i in 1...500 { try await call.send([UInt8](repeating: 120, count: i)) }
        call.closeSend()
        var reply: [UInt8] = []
        for try await m in call.messages { reply = m }
        #expect(String(decoding: reply, as: UTF8.self) == "500 messages, 125250 bytes")
    }

    @Test func messageLimits() async throws {
        #expect(try await unary("Unary", [UInt8](repeating: 7, count: (4 << 20) - 64)).count == (4 << 20) - 64)
        await #expect(throws: RPCError.self) { try await unary("Unary", [UInt8](repeating: 7, count: (4 << 20) + 1)) }
        do {
            _ = try await unary("Unary", [UInt8](repeating: 7, count: (4 << 20) + 1))
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
        }
    }

    @Test func deadline() async throws {
        try await Self.withOwnServer { client in
            let start = ContinuousClock.now
            do {
                _ = try await unary("Sleep", timeout: .milliseconds(200), on: client)
                Issue.record("expected DEADLINE_EXCEEDED")
            } catch let e as RPCError {
                #expect(e.code == .deadlineExceeded)
            }
            // The handler sleeps an hour: ending well before proves the deadline cut it.
            // The bound is loose because the whole suite runs at once on two cores.
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }

    @Test func cancellationMidStream() async throws {
        try await Self.withOwnServer { client in
            let call = try await client.serverStreaming("/test.Echo/ServerStream", request: Array("1000000".utf8))
            var n = 0
            for try await _ in call.messages {
                n += 1
                if n == 10 { break }
            }
            call.cancel()
            #expect(await call.result().status.code == .cancelled)
        }
    }

    @Test func taskCancellationCancelsTheCall() async throws {
        try await Self.withOwnServer { client in
            let task = Task { try await unary("Sleep", on: client) }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            await #expect(throws: RPCError.self) { try await task.value }
        }
    }

    @Test func unknownMethodAndErrors() async throws {
        do {
            _ = try await Self.client.unary("/nope.Service/Call", request: [])
            Issue.record("expected UNIMPLEMENTED")
        } catch let e as RPCError {
            #expect(e.code == .unimplemented)
        }
        do {
            _ = try await unary("Fail")
            Issue.record("expected NOT_FOUND")
        } catch let e as RPCError {
            #expect(e.code == .notFound)
            #expect(e.message == "nöt found: 100% gone")
        }
    }

    @Test func metadataRoundTrip() async throws {
        var md = Metadata()
        md.add("x-user", "ana")
        md.add("x-trace-bin", binary: [0, 1, 0xFE, 0xFF])
        let (body, trailers) = try await Self.client.unary("/test.Echo/Metadata", request: [], metadata: md)
        #expect(String(decoding: body, as: UTF8.self) == "x-user=ana")
        #expect(trailers.binaryValues("x-trace-bin") == [[0, 1, 0xFE, 0xFF]])
    }

    @Test func manyParallelCalls() async throws {
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for i in 0..<500 { group.addTask { try await unary("Unary", [UInt8(i % 256)]) } }
            var n = 0
            for try await _ in group { n += 1 }
            #expect(n == 500)
        }
    }

    @Test func gzipRequests() async throws {
        let gzip = GRPCClient(configuration: .init(port: try Self.server.boundPort(), gzipRequests: true))
        let big = [UInt8](repeating: 122, count: 100_000)
        #expect(try await gzip.unary("/test.Echo/Unary", request: big).response == big)
        // Inflated past the server's 4 MiB limit: refused, however small on the wire.
        do {
            _ = try await gzip.unary("/test.Echo/Unary", request: [UInt8](repeating: 0, count: 5 << 20))
            Issue.record("expected RESOURCE_EXHAUSTED")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
        }
    }

    /// A call that ends (here, its deadline) while the connection waits for the
    /// server's SETTINGS is never opened once they come: the first request the server
    /// sees is the next call's.
    @Test func aCallEndedBeforeSettingsIsNeverSent() async throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Subprocess.python)
        server.arguments = [
            Subprocess.packageRoot.appendingPathComponent("Tests/HTTP2TransportTests/Clients/h2_late_settings.py").path
        ]
        let input = Pipe()
        let output = Pipe()
        server.standardInput = input
        server.standardOutput = output
        try server.runSafely()
        defer { if server.isRunning { server.terminate() } }
        let lines = LineReader(output.fileHandleForReading)
        let port = try #require(Int(await lines.next() ?? ""), "h2_late_settings.py printed no port")
        let client = GRPCClient(configuration: .init(port: port))
        defer { client.close() }
        await #expect(throws: RPCError.self) {
            _ = try await client.unary("/test.Echo/First", request: [], timeout: .milliseconds(1))
        }
        // Whenever the second call's open reaches the loop, before the SETTINGS or
        // after, its request is the first one sent unless the ended call's goes out.
        let second = Task { try await client.unary("/test.Echo/Second", request: []) }
        input.fileHandleForWriting.write(Data("go\n".utf8))
        let report = await lines.next() ?? ""
        #expect(report == #"{"first_path": "/test.Echo/Second"}"#)
        _ = await second.result
    }

    /// Lines of a pipe, read on a thread of its own (never on Swift's pool).
    final class LineReader: @unchecked Sendable {
        let handle: FileHandle
        var buffer = Data()
        init(_ handle: FileHandle) { self.handle = handle }

        func next() async -> String? {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    while true {
                        if let i = self.buffer.firstIndex(of: 10) {
                            let line = String(decoding: self.buffer[..<i], as: UTF8.self)
                            self.buffer.removeSubrange(...i)
                            continuation.resume(returning: line)
                            return
                        }
                        let chunk = self.handle.availableData
                        if chunk.isEmpty {
                            continuation.resume(returning: nil)
                            return
                        }
                        self.buffer.append(chunk)
                    }
                }
            }
        }
    }

    @Test func noServerIsUnavailable() async throws {
        let nobody = GRPCClient(configuration: .init(port: 1))
        do {
            _ = try await nobody.unary("/test.Echo/Unary", request: [])
            Issue.record("expected UNAVAILABLE")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
        }
    }

    @Test func overTLS() async throws {
        let fixture = try await TLSTests.fixture.value
        let tls = try TLSContext.client(caFile: fixture.ca)
        let client = GRPCClient(
            configuration: .init(host: "127.0.0.1", port: fixture.port, tls: tls, serverName: "localhost"))
        #expect(
            try await client.unary("/test.Echo/Unary", request: [UInt8](repeating: 3, count: 200_000)).response.count
                == 200_000)
        // A name the certificate does not carry fails verification.
        let wrong = GRPCClient(
            configuration: .init(host: "127.0.0.1", port: fixture.port, tls: tls, serverName: "example.org"))
        await #expect(throws: RPCError.self) { try await wrong.unary("/test.Echo/Unary", request: []) }
    }

    /// Runs `body` with a client of a server of its own, then checks that the calls it
    /// made have all ended there, handler and stream (`waitForIdle`). Not the suite's
    /// server: its other tests' streams run beside this one, and on a loaded machine
    /// they can outlast any bound on this wait (clientStreaming and serverStreaming
    /// were seen still running 30 s after a deadline test's call had ended).
    static func withOwnServer(_ body: (GRPCClient) async throws -> Void) async throws {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let client = GRPCClient(configuration: .init(port: try server.start()))
        defer {
            client.close()
            Task { await server.shutdown(grace: .zero) }
        }
        try await body(client)
        try await waitForIdle(server, client)
    }

    /// The server's calls all end: handlers returned and streams closed. The bound is
    /// for a busy machine, not an idle one; past it, what is still open is described,
    /// on both sides.
    static func waitForIdle(_ server: GRPCServer, _ client: GRPCClient) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if server.executor.activeCalls == 0, await server.openStreamCount() == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let active = server.executor.activeCalls
        let open = await server.describeOpenStreams()
        let clientSide = active == 0 && open.isEmpty ? [] : await client.describeOpenStreams()
        #expect(
            active == 0 && open.isEmpty,
            """
            not idle (waited up to 30 s): \(active) calls active; the server's open streams:
            \(open.isEmpty ? "none" : open.joined(separator: "\n"))
            the client's: \(clientSide.isEmpty ? "none" : clientSide.joined(separator: "\n"))
            """)
    }
}
