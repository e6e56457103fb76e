import BacktestCore
import BacktestProto
import BacktestStore
import Foundation
import RPC
import TestSupport
import Testing

@testable import BacktestService

/// The gRPC face of the core with no sockets: the same router, interceptors and
/// status mapping as over HTTP/2, through the generated typed client on the client
/// seam's in-process transport.
@Suite struct InProcessServiceTests {
    struct Server {
        let server: BacktestServer
        let client: BacktestServiceClient
        let directory: URL

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("inproc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: directory.appendingPathComponent("s.db").path)
            server = BacktestServer(configuration: .init(port: 0), store: store)
            client = BacktestServiceClient(RPCClient(transport: server.inProcess))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        func importGOOG() async throws {
            let csv = try Data(contentsOf: Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv"))
            let header = ImportHeader(
                symbol: "GOOG", kind: .candles, timeframe: "", format: .csv, sourceName: "GOOG.csv")
            let response = try await client.importMarketData { send in
                try await send(ImportMarketDataRequest(payload: .header(header)))
                var offset = 0
                while offset < csv.count {
                    let end = min(offset + 10_000, csv.count)
                    try await send(ImportMarketDataRequest(payload: .csvChunk([UInt8](csv[offset..<end]))))
                    offset = end
                }
            }
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
        let started = try await s.client.startBacktest(Self.googRequest())
        var events: [ProgressEvent] = []
        try await s.client.watchProgress(WatchProgressRequest(sessionID: started.sessionID)) { events.append($0) }
        #expect(events.first?.kind == .snapshot)
        #expect(events.last?.kind == .terminal && events.last?.status == .completed)
        let total = try #require(events.last?.statistics?.totalTrades)
        #expect(total > 0)
        let session = try await s.client.getSession(GetSessionRequest(sessionID: started.sessionID))
        #expect(session.session?.status == .completed)
        #expect(session.session?.request?.fillMode == .nextOpen, "stored as accepted, defaults filled in")
        var trades = 0
        try await s.client.getTrades(GetTradesRequest(sessionID: started.sessionID)) { trades += $0.trades.count }
        #expect(trades == total)
    }

    /// The core's errors leave as statuses whose message names the field.
    @Test func coreErrorsBecomeStatusesNamingTheField() async throws {
        let s = try await Server()
        defer { s.remove() }
        try await s.importGOOG()
        func status(_ body: () async throws -> some Any) async -> RPCError? {
            do {
                _ = try await body()
                return nil
            } catch {
                return error as? RPCError
            }
        }
        let c = s.client
        var bad = Self.googRequest()
        bad.symbol = ""
        #expect(await status { try await c.startBacktest(bad) } == RPCError(.invalidArgument, "symbol: required"))
        bad = Self.googRequest()
        bad.costs = Costs(commissionFixed: 0, commissionRate: -0.1, slippageBps: 0)
        #expect(await status { try await c.startBacktest(bad) }?.message.hasPrefix("costs.commission_rate: ") == true)
        bad = Self.googRequest()
        bad.timeframe = "1h"
        #expect(await status { try await c.startBacktest(bad) }?.code == .failedPrecondition)
        #expect(
            await status { try await c.getSession(GetSessionRequest(sessionID: "nope")) }
                == RPCError(.notFound, "session_id: no session \"nope\""))
        #expect(await status { try await c.getSession(GetSessionRequest(sessionID: "")) }?.code == .invalidArgument)
        _ = try await c.startBacktest(Self.googRequest(clientRequestId: "k"))
        let again = try await c.startBacktest(Self.googRequest(clientRequestId: "k"))
        #expect(again.deduplicated)
        let other = await status { try await c.startBacktest(Self.googRequest(clientRequestId: "k", capital: 5000)) }
        #expect(
            other?.code == .alreadyExists && other?.message.hasPrefix("client_request_id: ") == true,
            "\(String(describing: other))")
        #expect(
            await status { try await c.listSessions(ListSessionsRequest(pageToken: "garbage!")) }?.message.hasPrefix(
                "page_token: ") == true)
    }
}
