import BacktestProto
import GRPCServices
import RPC
import Testing

/// Health's Check and List are non-blocking: answered on the event loop that read
/// them, with a JSON codec like every proto method; Watch, a stream, runs as a task.
@Suite struct HealthServiceTests {
    @Test func checkAndListRunInline() throws {
        let health = HealthService(services: ["backtest.v1.BacktestService"])
        var router = RPCRouter()
        health.register(into: &router)
        let executor = ServerCallExecutor(router: router)
        let check = GRPCHealthV1.HealthMethods.check.path
        let json = router.methods[check]?.json
        #expect(json != nil)
        #expect(executor.inlineHandler(for: GRPCHealthV1.HealthMethods.list.path) != nil)
        #expect(executor.inlineHandler(for: GRPCHealthV1.HealthMethods.watch.path) == nil)
        let handler = try #require(executor.inlineHandler(for: check))

        let request = try GRPCHealthV1.HealthCheckRequest(service: "backtest.v1.BacktestService").serializedBytes()
        guard
            case .response(let bytes, _) = executor.runInline(
                handler, request: request, context: ServerContext(path: check))
        else {
            Issue.record("Check failed")
            return
        }
        #expect(try GRPCHealthV1.HealthCheckResponse(serializedBytes: bytes).status == .serving)

        let unknown = try GRPCHealthV1.HealthCheckRequest(service: "nope").serializedBytes()
        guard
            case .status(let status, _) = executor.runInline(
                handler, request: unknown, context: ServerContext(path: check))
        else {
            Issue.record("an unknown service was answered")
            return
        }
        #expect(status == Status(.notFound, "unknown service nope"))
    }
}
