import BacktestProto
import GRPCServices
import RPC
import Testing

/// The generated method descriptors and typed clients, end to end in one process:
/// handlers registered by descriptor, called through the generated stubs over
/// InProcessTransport, for each call shape, with metadata, statuses and a response
/// that does not decode.
@Suite struct GeneratedClientTests {
    static let executor: ServerCallExecutor = {
        var router = RPCRouter()
        typealias M = BacktestServiceMethods
        router.unary(M.startBacktest) { (request: StartBacktestRequest, context) in
            StartBacktestResponse(sessionID: "\(request.symbol)/\(context.metadata["x-user"] ?? "")", status: .started)
        }
        router.unary(M.stopBacktest) { (request: StopBacktestRequest, _) -> StopBacktestResponse in
            throw RPCError(.notFound, "session \(request.sessionID) not found")
        }
        router.serverStreaming(M.watchProgress) {
            (request: WatchProgressRequest, writer: ResponseWriter<ProgressEvent>, _) in
            for i in 1...3 {
                try await writer.write(
                    ProgressEvent(sessionID: request.sessionID, sequence: UInt64(i), kind: i == 3 ? .terminal : .update)
                )
            }
        }
        router.clientStreaming(M.importMarketData) { (requests: RequestMessages<ImportMarketDataRequest>, _) in
            var response = ImportMarketDataResponse()
            for try await request in requests {
                switch request.payload {
                case .header(let header)?: response.symbol = header.symbol
                case .csvChunk(let chunk)?: response.rowsImported += UInt64(chunk.count)
                default: throw RPCError(.invalidArgument, "rows are not expected here")
                }
            }
            return response
        }
        // A server that breaks the contract: bytes that are no GetSessionResponse.
        router.unary(M.getSession.path, decode: { $0 }, encode: { $0 }, handler: { (_: [UInt8], _) in [0xFF, 0xFF] })
        HealthService(services: [M.serviceName]).register(into: &router)
        ReflectionService(serviceNames: [M.serviceName]).register(into: &router)
        return ServerCallExecutor(router: router)
    }()

    static func rpc(_ metadata: Metadata = Metadata()) -> RPCClient {
        RPCClient(transport: InProcessTransport(executor: executor), metadata: metadata)
    }

    @Test func unaryWithMetadataAndStatus() async throws {
        let client = BacktestServiceClient(Self.rpc(Metadata([("x-user", "ana")])))
        let response = try await client.startBacktest(StartBacktestRequest(symbol: "GOOG"))
        #expect(response == StartBacktestResponse(sessionID: "GOOG/ana", status: .started))
        let error = await #expect(throws: RPCError.self) {
            try await client.stopBacktest(StopBacktestRequest(sessionID: "s9"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "session s9 not found")
    }

    @Test func serverStreamingDeliversEveryMessageInOrder() async throws {
        var events: [ProgressEvent] = []
        try await BacktestServiceClient(Self.rpc()).watchProgress(WatchProgressRequest(sessionID: "s1")) {
            events.append($0)
        }
        #expect(events.map(\.sequence) == [1, 2, 3])
        #expect(events.allSatisfy { $0.sessionID == "s1" })
        #expect(events.last?.kind == .terminal)
    }

    @Test func clientStreamingSendsWhatTheProducerSends() async throws {
        let client = BacktestServiceClient(Self.rpc())
        let response = try await client.importMarketData { send in
            try await send(ImportMarketDataRequest(payload: .header(ImportHeader(symbol: "BTC"))))
            for chunk in [[UInt8](repeating: 1, count: 10), [2, 3]] {
                try await send(ImportMarketDataRequest(payload: .csvChunk(chunk)))
            }
        }
        #expect(response == ImportMarketDataResponse(symbol: "BTC", rowsImported: 12))
        // The server ends the call early: its status is what the caller sees.
        let error = await #expect(throws: RPCError.self) {
            try await client.importMarketData { send in
                try await send(ImportMarketDataRequest(payload: .ticks(TickBatch())))
            }
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func bidirectionalStreamingThroughReflection() async throws {
        var services: [String] = []
        try await GRPCReflectionV1.ServerReflectionClient(Self.rpc()).serverReflectionInfo(
            produce: { send in
                try await send(GRPCReflectionV1.ServerReflectionRequest(messageRequest: .listServices("")))
            },
            each: { response in
                if case .listServicesResponse(let list)? = response.messageResponse {
                    services += list.service.map(\.name)
                }
            })
        #expect(
            services == [
                BacktestServiceMethods.serviceName, GRPCReflectionV1.ServerReflectionMethods.serviceName,
                GRPCReflectionV1Alpha.ServerReflectionMethods.serviceName,
            ])
    }

    @Test func healthByDescriptor() async throws {
        let health = GRPCHealthV1.HealthClient(Self.rpc())
        #expect(try await health.check(.init(service: BacktestServiceMethods.serviceName)).status == .serving)
        let all = try await health.list(.init())
        #expect(all.statuses.keys.sorted() == ["", BacktestServiceMethods.serviceName])
        let unknown = await #expect(throws: RPCError.self) { try await health.check(.init(service: "nope")) }
        #expect(unknown?.code == .notFound)
    }

    @Test func aResponseThatDoesNotDecodeIsInternal() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await BacktestServiceClient(Self.rpc()).getSession(GetSessionRequest(sessionID: "s1"))
        }
        #expect(error?.code == .internal)
        #expect(
            error?.message.hasPrefix(
                "the response of /backtest.v1.BacktestService/GetSession, a backtest.v1.GetSessionResponse, does not decode"
            ) == true)
    }
}
