import BacktestProto
import RPC

/// The CLI's connection: the generated clients of `backtest.v1.BacktestService` and
/// `grpc.health.v1.Health` over one RPCClient (our GRPCClient, with the bearer token
/// and deadline on every call), and the two calls that add to the stubs.
struct BacktestClient: Sendable {
    let service: BacktestServiceClient
    let health: GRPCHealthV1.HealthClient

    init(rpc: RPCClient) {
        service = BacktestServiceClient(rpc)
        health = GRPCHealthV1.HealthClient(rpc)
    }

    func close() { service.rpc.close() }

    /// GetSession's session: a response without one breaks the contract (INTERNAL).
    func session(_ id: String) async throws -> Session {
        guard let session = try await service.getSession(GetSessionRequest(sessionID: id)).session else {
            throw RPCError(.internal, "GetSession answered without a session")
        }
        return session
    }

    /// ImportMarketData with CSV: the header, then the chunks as `next` reads them
    /// (nil ends). A server that fails early (a bad row) ends the call; its status is
    /// what throws.
    func importCSV(header: ImportHeader, next: () throws -> [UInt8]?) async throws -> ImportMarketDataResponse {
        try await service.importMarketData { send in
            try await send(ImportMarketDataRequest(payload: .header(header)))
            while let chunk = try next() {
                try await send(ImportMarketDataRequest(payload: .csvChunk(chunk)))
            }
        }
    }
}
