import Foundation
import RPC
import Testing

@testable import BacktestProto

/// The generated method descriptors are the contract's methods: every service and
/// method of the embedded descriptor set (read by Python's protobuf, independently
/// of the generator), with its streaming shape and its `/package.Service/Method` path.
@Suite struct MethodDescriptorTests {
    static let generated: [MethodDescriptor] =
        BacktestServiceMethods.all + GRPCHealthV1.HealthMethods.all
        + GRPCReflectionV1.ServerReflectionMethods.all + GRPCReflectionV1Alpha.ServerReflectionMethods.all

    @Test func descriptorsMatchTheDescriptorSet() async throws {
        let dir = try PythonTools.temporaryDirectory("descriptor-set")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("set.binpb")
        try Data(DescriptorSet.serialized).write(to: file)
        let answers = try await JSONReference.run([JSONReference.services(descriptorSet: file.path)])
        guard case .methods(let methods) = answers.first else {
            Issue.record("Python could not list the services: \(answers)")
            return
        }
        #expect(methods.count == 23)
        let expected = methods.map { m -> MethodDescriptor in
            let kind: MethodDescriptor.Kind =
                switch (m.clientStreaming, m.serverStreaming) {
                case (false, false): .unary
                case (false, true): .serverStreaming
                case (true, false): .clientStreaming
                case (true, true): .bidirectionalStreaming
                }
            return MethodDescriptor(service: m.service, method: m.method, kind: kind)
        }
        #expect(Set(Self.generated) == Set(expected))
        #expect(Self.generated.count == expected.count)
        #expect(Set(Self.generated.map(\.path)) == Set(methods.map { "/\($0.service)/\($0.method)" }))
        // Each method's message types are the descriptor set's input and output types.
        let messages = Self.messages
        for m in methods {
            let d = expected.first { $0.service == m.service && $0.method == m.method }!
            #expect(messages[d]?.request.protoName == m.input, "\(d.path) request")
            #expect(messages[d]?.response.protoName == m.output, "\(d.path) response")
        }
    }

    static var messages: [MethodDescriptor: MethodMessages] {
        BacktestServiceMethods.messages.merging(GRPCHealthV1.HealthMethods.messages) { a, _ in a }
            .merging(GRPCReflectionV1.ServerReflectionMethods.messages) { a, _ in a }
            .merging(GRPCReflectionV1Alpha.ServerReflectionMethods.messages) { a, _ in a }
    }

    @Test func everyMethodHasItsMessageTypes() {
        #expect(Set(Self.messages.keys) == Set(Self.generated))
        let start = BacktestServiceMethods.messages[BacktestServiceMethods.startBacktest]
        #expect(start?.request == StartBacktestRequest.self)
        #expect(start?.response == StartBacktestResponse.self)
    }

    @Test func namesAndPaths() throws {
        #expect(BacktestServiceMethods.serviceName == "backtest.v1.BacktestService")
        #expect(BacktestServiceMethods.startBacktest.path == "/backtest.v1.BacktestService/StartBacktest")
        #expect(BacktestServiceMethods.importMarketData.kind == .clientStreaming)
        #expect(BacktestServiceMethods.watchProgress.kind == .serverStreaming)
        #expect(GRPCHealthV1.HealthMethods.check.path == "/grpc.health.v1.Health/Check")
        #expect(
            GRPCReflectionV1Alpha.ServerReflectionMethods.serverReflectionInfo.path
                == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        #expect(GRPCReflectionV1.ServerReflectionMethods.serverReflectionInfo.kind == .bidirectionalStreaming)
        // Each `all` is in proto order and every service is in its own namespace.
        #expect(
            BacktestServiceMethods.all.map(\.method) == [
                "StartBacktest", "StopBacktest", "ListActive", "WatchProgress", "GetSession", "ListSessions",
                "GetTrades",
                "GetEquityCurve", "ImportMarketData", "ListMarketData", "GetMarketData", "DeleteSession", "StartSweep",
                "WatchSweep",
                "StopSweep", "GetSweep", "ListSweeps", "DeleteSweep",
            ])
        #expect(Set(Self.generated.map(\.service)).count == 4)
    }
}
