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

    @Test func listSessionsFiltersByLabelAndPages() async throws {
        let s = try await SharedInProcessServer.shared.get()
        let tag = UUID().uuidString
        var ids: [String] = []
        for i in 0..<5 {
            var r = Self.googRequest()
            r.labels = ["batch": tag, "n": "\(i)"]
            ids.append(try await s.client.startBacktest(r).sessionID)
        }
        for id in ids { _ = try await s.waitFor(id, [.completed]) }
        var seen: [String] = []
        var token = ""
        repeat {
            let page = try await s.client.listSessions(
                ListSessionsRequest(labels: ["batch": tag], pageSize: 2, pageToken: token))
            #expect(page.sessions.count <= 2)
            seen += page.sessions.map(\.sessionID)
            token = page.nextPageToken
        } while !token.isEmpty && seen.count < 10
        #expect(seen == ids.reversed(), "newest first")
        let completed = try await s.client.listSessions(
            ListSessionsRequest(statuses: [.completed], labels: ["batch": tag, "n": "3"]))
        #expect(completed.sessions.count == 1)
    }

    /// A paced session on a clock that does not move stays running for as long as the
    /// test needs it, however busy the machine.
    @Test func listActiveShowsLiveSessionsAndListMarketDataTheSeries() async throws {
        let clock = ManualTestClock()
        let s = try await InProcessServer(clock: clock)
        defer { s.remove() }
        _ = try await s.importCSV(
            Fixtures.googCSV, ImportHeader(symbol: "GOOG", kind: .candles, format: .csv, sourceName: "GOOG.csv"))
        var request = Self.googRequest()
        request.accelerationFactor = 3117 * 86_400 / 60
        request.labels = ["who": "list-active"]
        let id = try await s.client.startBacktest(request).sessionID
        _ = try await s.waitFor(id, [.running])
        // Until its run has read the data and gone to sleep for the first bar (it asks;
        // it does not time).
        var mine = ActiveSession()
        while mine.waiting.isEmpty {
            let active = try await s.client.listActive(ListActiveRequest(symbol: "GOOG"))
            mine = try #require(active.sessions.first { $0.sessionID == id })
            if mine.waiting.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(mine.status == .running && mine.strategyName == "sma_cross" && mine.labels == ["who": "list-active"])
        #expect(mine.progress?.status == .running)
        // Asleep on a clock that never moves: it holds no run slot, and ListActive says why.
        #expect(mine.waiting.hasPrefix("pacing: next data due in ") && mine.waiting.hasSuffix("s"), "\(mine.waiting)")
        #expect(try await s.client.listActive(ListActiveRequest(symbol: "NOPE")).sessions.isEmpty)
        let stopped = try await s.client.stopBacktest(StopBacktestRequest(sessionID: id))
        #expect(stopped.status == .stopped && !stopped.alreadyEnded)
        let data = try await s.client.listMarketData(ListMarketDataRequest(symbol: "GOOG"))
        #expect(data.series.count == 1)
        #expect(data.series.first?.rows == 2148 && data.series.first?.timeframe == "1d", "the timeframe was inferred")
        #expect(data.series.first?.firstTime == ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000))
    }

    /// DeleteSession: live sessions FAILED_PRECONDITION, ended ones deleted with all
    /// their results (answered with the record as it was), then NOT_FOUND, or OK with
    /// no session under allow_missing.
    @Test func deleteSessionAnswersEachCaseWithItsStatus() async throws {
        let s = try await InProcessServer(clock: ManualTestClock())
        defer { s.remove() }
        _ = try await s.importCSV(
            Fixtures.googCSV, ImportHeader(symbol: "GOOG", kind: .candles, format: .csv, sourceName: "GOOG.csv"))
        let c = s.client
        var paced = Self.googRequest()
        paced.accelerationFactor = 3117 * 86_400 / 60
        let live = try await c.startBacktest(paced).sessionID
        _ = try await s.waitFor(live, [.running])
        let refused = await InProcessServer.status { try await c.deleteSession(DeleteSessionRequest(sessionID: live)) }
        #expect(refused?.code == .failedPrecondition, "\(String(describing: refused))")
        #expect(
            refused?.message.hasPrefix("session_id: ") == true && refused?.message.contains("stop it first") == true)
        #expect(try await c.getSession(GetSessionRequest(sessionID: live)).session?.status == .running)
        _ = try await c.stopBacktest(StopBacktestRequest(sessionID: live, reason: "to delete"))
        let deleted = try await c.deleteSession(DeleteSessionRequest(sessionID: live))
        #expect(deleted.session?.sessionID == live && deleted.session?.status == .stopped)
        #expect(deleted.session?.stopReason == "to delete" && deleted.session?.request?.symbol == "GOOG")

        let done = try await c.startBacktest(Self.googRequest(capital: 20_000)).sessionID
        _ = try await s.waitFor(done, [.completed])
        let completed = try await c.deleteSession(DeleteSessionRequest(sessionID: done))
        #expect(completed.session?.status == .completed && completed.session?.statistics != nil)

        for id in [live, done] {
            let gone = RPCError(.notFound, "session_id: no session \"\(id)\"")
            #expect(await InProcessServer.status { try await c.getSession(GetSessionRequest(sessionID: id)) } == gone)
            #expect(
                await InProcessServer.status { try await c.getTrades(GetTradesRequest(sessionID: id)) { _ in } }
                    == gone)
            #expect(
                await InProcessServer.status {
                    try await c.getEquityCurve(GetEquityCurveRequest(sessionID: id)) { _ in }
                } == gone)
            #expect(
                await InProcessServer.status { try await c.deleteSession(DeleteSessionRequest(sessionID: id)) } == gone,
                "a second delete")
            let missing = try await c.deleteSession(DeleteSessionRequest(sessionID: id, allowMissing: true))
            #expect(missing.session == nil)
        }
        #expect(try await c.listSessions(ListSessionsRequest()).sessions.isEmpty)
    }
}

/// A clock that never moves: paced sessions wait on it until stopped.
struct ManualTestClock: ServiceClock {
    var now: Duration { .zero }
    var wallMicros: Int64 { 1_750_000_000_000_000 }
    func sleep(until deadline: Duration) async throws {
        // Never due: wait for the stop (or a cancellation).
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        throw CancellationError()
    }
}
