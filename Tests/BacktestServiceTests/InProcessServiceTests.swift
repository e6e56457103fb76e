import BacktestCore
import BacktestProto
import BacktestStore
import Foundation
import RPC
@testable import BacktestService
import Testing
import TestSupport

/// The gRPC face of the core with no sockets: the same router, interceptors and
/// status mapping as over HTTP/2, through the client seam's in-process transport.
@Suite struct InProcessServiceTests {
    struct Server {
        let server: BacktestServer
        let client: RPCClient
        let directory: URL

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("inproc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: directory.appendingPathComponent("s.db").path)
            server = BacktestServer(configuration: .init(port: 0), store: store)
            client = RPCClient(transport: server.inProcess)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        func call<Response: ProtoMessage>(_ method: String, _ request: some ProtoMessage, _: Response.Type) async throws -> Response {
            let bytes = try await client.unary("/backtest.v1.BacktestService/\(method)", request: try request.serializedBytes()).response
            return try Response(serializedBytes: bytes)
        }

        func importGOOG() async throws {
            let csv = try Data(contentsOf: Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv"))
            let header = ImportHeader(symbol: "GOOG", kind: .candles, timeframe: "", format: .csv, sourceName: "GOOG.csv")
            let bytes = try await client.clientStreaming("/backtest.v1.BacktestService/ImportMarketData") { send in
                try await send(try ImportMarketDataRequest(payload: .header(header)).serializedBytes())
                var offset = 0
                while offset < csv.count {
                    let end = min(offset + 10_000, csv.count)
                    try await send(try ImportMarketDataRequest(payload: .csvChunk([UInt8](csv[offset..<end]))).serializedBytes())
                    offset = end
                }
            }
            let response = try ImportMarketDataResponse(serializedBytes: bytes)
            #expect(response.rowsImported == 2148)
            #expect(response.timeframe == "1d", "inferred from the rows, through the one import path")
        }
    }

    static func googRequest(clientRequestId: String = "", capital: Double = 10_000) -> StartBacktestRequest {
        var r = StartBacktestRequest()
        r.symbol = "GOOG"
        r.timeframe = "1d"
        r.startTime = ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000)
        r.endTime = ProtoTimestamp(microsecondsSinceEpoch: 1_362_182_400_000_000)
        r.initialCapital = capital
        r.clientRequestID = clientRequestId
        r.strategy = StrategySpec(kind: .builtin(BuiltinStrategy(name: "sma_cross", params: ["n1": 10, "n2": 20])))
        return r
    }

    @Test func startWatchAndReadResultsInProcess() async throws {
        let s = try await Server()
        defer { s.remove() }
        try await s.importGOOG()
        let started = try await s.call("StartBacktest", Self.googRequest(), StartBacktestResponse.self)
        var events: [ProgressEvent] = []
        try await s.client.serverStreaming("/backtest.v1.BacktestService/WatchProgress",
                                           request: try WatchProgressRequest(sessionID: started.sessionID).serializedBytes()) {
            events.append(try ProgressEvent(serializedBytes: $0))
        }
        #expect(events.first?.kind == .snapshot)
        #expect(events.last?.kind == .terminal && events.last?.status == .completed)
        let total = try #require(events.last?.statistics?.totalTrades)
        #expect(total > 0)
        let session = try await s.call("GetSession", GetSessionRequest(sessionID: started.sessionID), GetSessionResponse.self)
        #expect(session.session?.status == .completed)
        #expect(session.session?.request?.fillMode == .nextOpen, "stored as accepted, defaults filled in")
        var trades = 0
        try await s.client.serverStreaming("/backtest.v1.BacktestService/GetTrades",
                                           request: try GetTradesRequest(sessionID: started.sessionID).serializedBytes()) {
            trades += try GetTradesResponse(serializedBytes: $0).trades.count
        }
        #expect(trades == total)
    }

    /// The core's errors leave as statuses whose message names the field.
    @Test func coreErrorsBecomeStatusesNamingTheField() async throws {
        let s = try await Server()
        defer { s.remove() }
        try await s.importGOOG()
        func status(_ method: String, _ request: some ProtoMessage) async -> RPCError? {
            do {
                _ = try await s.client.unary("/backtest.v1.BacktestService/\(method)", request: try request.serializedBytes())
                return nil
            } catch {
                return error as? RPCError
            }
        }
        var bad = Self.googRequest()
        bad.symbol = ""
        #expect(await status("StartBacktest", bad) == RPCError(.invalidArgument, "symbol: required"))
        bad = Self.googRequest()
        bad.costs = Costs(commissionFixed: 0, commissionRate: -0.1, slippageBps: 0)
        #expect(await status("StartBacktest", bad)?.message.hasPrefix("costs.commission_rate: ") == true)
        bad = Self.googRequest()
        bad.timeframe = "1h"
        #expect(await status("StartBacktest", bad)?.code == .failedPrecondition)
        #expect(await status("GetSession", GetSessionRequest(sessionID: "nope")) == RPCError(.notFound, "session_id: no session \"nope\""))
        #expect(await status("GetSession", GetSessionRequest(sessionID: ""))?.code == .invalidArgument)
        _ = try await s.call("StartBacktest", Self.googRequest(clientRequestId: "k"), StartBacktestResponse.self)
        let again = try await s.call("StartBacktest", Self.googRequest(clientRequestId: "k"), StartBacktestResponse.self)
        #expect(again.deduplicated)
        let other = await status("StartBacktest", Self.googRequest(clientRequestId: "k", capital: 5000))
        #expect(other?.code == .alreadyExists && other?.message.hasPrefix("client_request_id: ") == true, "\(String(describing: other))")
        #expect(await status("ListSessions", ListSessionsRequest(pageToken: "garbage!"))?.message.hasPrefix("page_token: ") == true)
    }
}
