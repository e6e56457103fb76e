import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// HTTP/1.1 on the RPC port, from raw sockets (http1_client.py): connections kept
/// alive and pipelined, malformed and oversized requests answered and closed, bodies
/// over the flow-control window delivered whole to a slow reader, a client gone
/// mid-stream leaving nothing behind.
@Suite struct HTTP1SessionTests {
    static let server: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    func run(_ testCase: String, port: Int = server.1) async throws -> [String: Any] {
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/http1_client.py", [String(port), testCase])
        #expect(!json.isEmpty, "http1_client.py \(testCase): \(out.text)")
        return json
    }

    @Test func aConnectionServesRequestAfterRequest() async throws {
        let r = try await run("keepalive")
        #expect(r["answers"] as? [[AnyHashable]] == [[200, "one"], [200, "two"], [200, "three"]], "\(r)")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let r = try await run("pipelined")
        #expect(r["answers"] as? [String] == ["a", "b", "c"], "\(r)")
    }

    @Test func malformedRequestsGet400AndTheConnectionCloses() async throws {
        let r = try await run("malformed")
        #expect(r["status"] as? Int == 400 && r["connection"] as? String == "close", "\(r)")
        #expect(r["closed"] as? Bool == true, "\(r)")
        let smuggled = try await run("smuggling")
        #expect(smuggled["status"] as? Int == 400 && smuggled["closed"] as? Bool == true, "\(smuggled)")
    }

    @Test func headersBeyondTheParsersBoundGet431() async throws {
        let r = try await run("header_overflow")
        #expect(r["status"] as? Int == 431 && r["closed"] as? Bool == true, "\(r)")
    }

    /// As over HTTP/2: the call alone ends RESOURCE_EXHAUSTED; the connection serves on.
    @Test func headerListsOverTheLimitEndTheCallOnly() async throws {
        let r = try await run("header_list")
        #expect(r["grpc-status"] as? String == "8", "\(r)")
        #expect(r["next"] as? String == "after", "\(r)")
    }

    @Test func http10AndConnectionCloseEndTheConnectionAfterTheResponse() async throws {
        let old = try await run("http10")
        #expect(old["body"] as? String == "old" && old["closed"] as? Bool == true, "\(old)")
        let bye = try await run("connection_close")
        #expect(bye["connection"] as? String == "close" && bye["closed"] as? Bool == true, "\(bye)")
    }

    @Test func expectContinueIsAnswered() async throws {
        let r = try await run("expect_continue")
        #expect(r["interim"] as? String == "HTTP/1.1 100 Continue", "\(r)")
        #expect(r["status"] as? Int == 200 && r["length"] as? Int == 4000, "\(r)")
    }

    @Test func chunkedRequestBodiesAreReassembled() async throws {
        let r = try await run("chunked_request")
        #expect(r["answer"] as? String == "chunky", "\(r)")
    }

    /// 20 MiB to a reader that takes 20 ms a message: input waits while the reader is
    /// behind (the connection stops reading) and every byte arrives.
    @Test func aBodyBeyondTheWindowReachesASlowReaderWhole() async throws {
        let r = try await run("slow_reader")
        #expect(r["answer"] as? String == "40 messages, \(40 * (512 << 10)) bytes", "\(r)")
    }

    @Test(arguments: ["disconnect", "gone_while_paused"]) func aClientGoneMidCallLeavesNoStream(
        testCase: String
    ) async throws {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        let r = try await run(testCase, port: port)
        #expect(!r.isEmpty, "\(r)")
        // The handler is cancelled and the stream ends once the loop sees the close, even
        // on a connection whose input was paused for a slow reader.
        var open = await server.openStreamCount()
        for _ in 0..<1200 where open > 0 {
            try await Task.sleep(for: .milliseconds(50))
            open = await server.openStreamCount()
        }
        #expect(open == 0)
        #expect(server.connectionCount == 0)
        await server.shutdown(grace: .seconds(1))
    }
}
