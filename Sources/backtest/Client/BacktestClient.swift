import BacktestProto
import HTTP2Transport
import RPC

/// Typed calls of `backtest.v1.BacktestService` and the health check over our own
/// GRPCClient, with the bearer token and deadline on every call. A non-OK status
/// throws RPCError; a response that does not decode is INTERNAL.
struct BacktestClient: Sendable {
    let grpc: GRPCClient
    let metadata: Metadata
    let timeout: Duration?

    static let service = "/backtest.v1.BacktestService/"

    func close() { grpc.close() }

    // MARK: generic shapes

    func unary<Request: ProtoMessage, Response: ProtoMessage>(_ method: String, _ request: Request, _: Response.Type) async throws -> Response {
        let bytes = try await grpc.unary(Self.service + method, request: try request.serializedBytes(), metadata: metadata, timeout: timeout).response
        return try Self.decode(bytes, Response.self)
    }

    /// Calls `each` for every response of a server stream, in order; throws the final
    /// status when it is not OK.
    func serverStream<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ request: Request, _: Response.Type, each: (Response) async throws -> Void
    ) async throws {
        let call = try await grpc.serverStreaming(path, request: try request.serializedBytes(), metadata: metadata, timeout: timeout)
        do {
            for try await message in call.messages {
                try await each(try Self.decode(message, Response.self))
            }
        } catch let error as RPCError {
            throw error
        } catch {
            call.cancel()
            throw error
        }
        let (status, trailers) = await call.result()
        guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: trailers) }
    }

    static func decode<M: ProtoMessage>(_ bytes: [UInt8], _: M.Type) throws -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw RPCError(.internal, "the server's \(M.protoName) does not decode: \(error)")
        }
    }

    // MARK: the service

    func start(_ request: StartBacktestRequest) async throws -> StartBacktestResponse {
        try await unary("StartBacktest", request, StartBacktestResponse.self)
    }

    func stop(_ id: String, reason: String) async throws -> StopBacktestResponse {
        try await unary("StopBacktest", StopBacktestRequest(sessionID: id, reason: reason), StopBacktestResponse.self)
    }

    func listActive(symbol: String) async throws -> ListActiveResponse {
        try await unary("ListActive", ListActiveRequest(symbol: symbol), ListActiveResponse.self)
    }

    func watch(_ id: String, minInterval: ProtoDuration?, each: (ProgressEvent) async throws -> Void) async throws {
        try await serverStream(Self.service + "WatchProgress", WatchProgressRequest(sessionID: id, minInterval: minInterval),
                               ProgressEvent.self, each: each)
    }

    func session(_ id: String) async throws -> Session {
        let response = try await unary("GetSession", GetSessionRequest(sessionID: id), GetSessionResponse.self)
        guard let session = response.session else { throw RPCError(.internal, "GetSession answered without a session") }
        return session
    }

    func listSessions(_ request: ListSessionsRequest) async throws -> ListSessionsResponse {
        try await unary("ListSessions", request, ListSessionsResponse.self)
    }

    func trades(_ id: String, chunkSize: UInt32 = 0, each: ([Trade]) async throws -> Void) async throws {
        try await serverStream(Self.service + "GetTrades", GetTradesRequest(sessionID: id, chunkSize: chunkSize), GetTradesResponse.self) {
            try await each($0.trades)
        }
    }

    func equityCurve(_ request: GetEquityCurveRequest, each: ([EquityPoint]) async throws -> Void) async throws {
        try await serverStream(Self.service + "GetEquityCurve", request, GetEquityCurveResponse.self) {
            try await each($0.points)
        }
    }

    func listMarketData(symbol: String) async throws -> ListMarketDataResponse {
        try await unary("ListMarketData", ListMarketDataRequest(symbol: symbol), ListMarketDataResponse.self)
    }

    /// Client streaming: the header, then the chunks as `next` gives them (nil ends).
    /// A server that fails early (a bad row) ends the call; its status is what throws.
    func importMarketData(header: ImportHeader, next: () throws -> [UInt8]?) async throws -> ImportMarketDataResponse {
        let call = try await grpc.start(Self.service + "ImportMarketData", metadata: metadata, timeout: timeout)
        do {
            try await call.send(ImportMarketDataRequest(payload: .header(header)).serializedBytes())
            while let chunk = try next() {
                try await call.send(ImportMarketDataRequest(payload: .csvChunk(chunk)).serializedBytes())
            }
            call.closeSend()
        } catch is RPCError {
            // The stream ended under us; the status below says why.
        } catch {
            call.cancel()
            throw error
        }
        var response: [UInt8]?
        do {
            for try await message in call.messages { response = message }
        } catch is RPCError {}
        let (status, trailers) = await call.result()
        guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: trailers) }
        guard let response else { throw RPCError(.internal, "ImportMarketData answered without a response") }
        return try Self.decode(response, ImportMarketDataResponse.self)
    }

    func health(service: String) async throws -> GRPCHealthV1.HealthCheckResponse {
        let bytes = try await grpc.unary("/grpc.health.v1.Health/Check", request: try GRPCHealthV1.HealthCheckRequest(service: service).serializedBytes(),
                                         metadata: metadata, timeout: timeout).response
        return try Self.decode(bytes, GRPCHealthV1.HealthCheckResponse.self)
    }
}
