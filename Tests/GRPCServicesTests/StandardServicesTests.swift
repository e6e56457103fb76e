import BacktestProto
import Foundation
import GRPCServices
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Health and reflection, called by grpcio's own clients and by `buf curl`.
@Suite(.serialized) struct StandardServicesTests {
    static let health = HealthService(services: ["backtest.v1.BacktestService", "test.Watched"])

    static let server: (GRPCServer, Int) = {
        var router = RPCRouter()
        health.register(into: &router)
        ReflectionService(serviceNames: ["backtest.v1.BacktestService", HealthService.serviceName]).register(
            into: &router)
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: router))
        let port = try! server.start()
        return (server, port)
    }()

    func client(_ testCase: String) async throws -> [String: Any] {
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/GRPCServicesTests/Clients/services_client.py", [String(Self.server.1), testCase])
        #expect(!json.isEmpty, "\(out.text)")
        return json
    }

    @Test func healthCheck() async throws {
        let r = try await client("check")
        #expect(r["server"] as? String == "SERVING")
        #expect(r["service"] as? String == "SERVING")
        let unknown = try await client("check_unknown")
        #expect(unknown["code"] as? String == "NOT_FOUND")
    }

    @Test func healthWatchSeesChanges() async throws {
        let port = Self.server.1
        async let watched = Subprocess.pythonJSON(
            "Tests/GRPCServicesTests/Clients/services_client.py", [String(port), "watch"])
        // Once the watch has subscribed (Python may take a while to start; the call may
        // reach the server well before its handler runs on a loaded machine), change
        // the status: it gets SERVING, the status it subscribed at, then NOT_SERVING.
        let deadline = ContinuousClock.now + .seconds(120)
        while Self.health.watcherCount(for: "test.Watched") == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        Self.health.setStatus(.notServing, for: "test.Watched")
        let r = try await watched.json
        #expect(r["statuses"] as? [String] == ["SERVING", "NOT_SERVING"], "\(r)")
        Self.health.setStatus(.serving, for: "test.Watched")
    }

    @Test func reflectionWithGrpcio() async throws {
        let r = try await client("reflection")
        #expect(r["code"] as? String == "OK", "\(r)")
        #expect((r["services"] as? [String] ?? []).contains("backtest.v1.BacktestService"))
        #expect((r["services"] as? [String] ?? []).contains("grpc.reflection.v1.ServerReflection"))
        #expect((r["methods"] as? [String])?.count == 18)
        #expect(r["start_fields"] as? [String] == ["symbol", "timeframe", "start_time"])
        #expect(
            Set(r["streaming"] as? [String] ?? []) == [
                "WatchProgress", "GetTrades", "GetEquityCurve", "GetMarketData", "WatchSweep",
            ])
    }

    var buf: String { Subprocess.packageRoot.appendingPathComponent(".venv/bin/buf").path }

    @Test func bufCurlListsServicesThroughReflection() async throws {
        let out = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services",
                "http://127.0.0.1:\(Self.server.1)",
            ])
        #expect(out.status == 0, "\(out.text)")
        let services = Set(out.text.split(separator: "\n").map(String.init))
        #expect(
            services.isSuperset(of: [
                "backtest.v1.BacktestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            ]), "\(out.text)")
        let methods = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods",
                "http://127.0.0.1:\(Self.server.1)",
            ])
        #expect(methods.text.contains("backtest.v1.BacktestService/WatchProgress"), "\(methods.text)")
    }

    @Test func bufCurlCallsAMethod() async throws {
        let out = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d",
                "{\"service\": \"backtest.v1.BacktestService\"}",
                "http://127.0.0.1:\(Self.server.1)/grpc.health.v1.Health/Check",
            ])
        #expect(out.status == 0, "\(out.text)")
        #expect(out.text.contains("\"status\": \"SERVING\""), "\(out.text)")
        // buf curl's exit code is the gRPC code times 8: NOT_FOUND (5) = 40.
        let missing = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", "{\"service\": \"nope\"}",
                "http://127.0.0.1:\(Self.server.1)/grpc.health.v1.Health/Check",
            ])
        #expect(missing.status == 40, "\(missing.text)")
    }

    /// The same server as gRPC-Web and as Connect (HTTP/2): buf curl's clients,
    /// reflection (a bidirectional stream) included.
    @Test(arguments: ["grpcweb", "connect"]) func bufCurlOverTheOtherProtocols(_ protocolName: String) async throws {
        let url = "http://127.0.0.1:\(Self.server.1)"
        let out = try await Subprocess.run(
            buf,
            ["curl", "--protocol", protocolName, "--http2-prior-knowledge", "\(url)/grpc.health.v1.Health/Check"])
        #expect(out.status == 0 && out.text.contains("\"status\": \"SERVING\""), "\(out.text)")
        let missing = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", protocolName, "--http2-prior-knowledge", "-d", "{\"service\": \"nope\"}",
                "\(url)/grpc.health.v1.Health/Check",
            ])
        #expect(missing.status == 40, "NOT_FOUND: \(missing.text)")
        let methods = try await Subprocess.run(
            buf, ["curl", "--protocol", protocolName, "--http2-prior-knowledge", "--list-methods", url])
        #expect(methods.text.contains("backtest.v1.BacktestService/WatchProgress"), "\(methods.text)")
    }

    /// Connect's JSON codec, from the generated proto3 JSON mapping: what a browser's
    /// connect-web client and a shell's curl send.
    @Test func connectWithJSON() async throws {
        func post(_ path: String, _ contentType: String, _ body: String) async throws -> Subprocess.Output {
            try await Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--http2-prior-knowledge", "-H", "content-type: \(contentType)", "-d", body, "-w",
                    "\n%{http_code} %{content_type}", "http://127.0.0.1:\(Self.server.1)\(path)",
                ])
        }
        let ok = try await post("/grpc.health.v1.Health/Check", "application/json", #"{"service": ""}"#)
        #expect(ok.text == "{\"status\":\"SERVING\"}\n200 application/json", "\(ok.text)")
        let bad = try await post("/grpc.health.v1.Health/Check", "application/json", #"{"service": 7}"#)
        #expect(bad.text.hasSuffix("400 application/json") && bad.text.contains("service"), "\(bad.text)")
        #expect(bad.text.contains(#""code":"invalid_argument""#), "\(bad.text)")
        let missing = try await post("/grpc.health.v1.Health/Check", "application/json", #"{"service": "nope"}"#)
        #expect(missing.text.hasSuffix("404 application/json") && missing.text.contains("not_found"), "\(missing.text)")
    }

    @Test func descriptorIndexFindsEverySymbolKind() {
        #expect(DescriptorSet.fileName(containingSymbol: "backtest.v1.BacktestService") == "backtest/v1/backtest.proto")
        #expect(
            DescriptorSet.fileName(containingSymbol: "backtest.v1.BacktestService.WatchProgress")
                == "backtest/v1/backtest.proto")
        #expect(
            DescriptorSet.fileName(containingSymbol: "grpc.health.v1.HealthCheckResponse.ServingStatus")
                == "grpc/health/v1/health.proto")
        #expect(
            DescriptorSet.fileName(containingSymbol: "google.protobuf.Timestamp") == "google/protobuf/timestamp.proto")
        #expect(DescriptorSet.fileName(containingSymbol: "backtest.v1.Nope") == nil)
        #expect(DescriptorSet.fileWithDependencies("backtest/v1/backtest.proto")?.count == 3)
        #expect(DescriptorSet.fileWithDependencies("nope.proto") == nil)
    }
}
