import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Sweeps and walk-forwards through the real `backtestd` on a real QuestDB (QUESTDB_HTTP
/// / QUESTDB_PG): every row, window and stitched result equals the SQLite daemon's
/// (SweepEndToEndTests') for the same request, bit for bit, and a second daemon on the
/// same QuestDB (another node) reads the sweep as the first answers it.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["QUESTDB_HTTP"] != nil
            && ProcessInfo.processInfo.environment["QUESTDB_PG"] != nil,
        "needs a live QuestDB: set QUESTDB_HTTP and QUESTDB_PG"),
    .serialized)
struct QuestDBSweepEndToEndTests {
    let run = String(UUID().uuidString.prefix(8))

    /// A daemon on the QuestDB as node `node`, with GOOG imported.
    static func daemon(node: String) async throws -> (DaemonProcess, BacktestServiceClient) {
        let env = ProcessInfo.processInfo.environment
        let daemon = try await DaemonProcess(arguments: [
            "--store", "questdb", "--questdb-http", env["QUESTDB_HTTP"]!, "--questdb-pg", env["QUESTDB_PG"]!,
            "--node-id", node, "--sweep-workers", "2",
        ])
        let grpc = GRPCClient(configuration: .init(port: daemon.port))
        let client = BacktestServiceClient(RPCClient(transport: grpc, metadata: Metadata(), timeout: .seconds(120)))
        let csv = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.googCSV)))
        let header = ImportHeader(
            symbol: "GOOG", kind: .candles, timeframe: "1d", format: .csv, sourceName: "GOOG.csv",
            replaceExisting: true)
        _ = try await client.importMarketData { send in
            try await send(ImportMarketDataRequest(payload: .header(header)))
            try await send(ImportMarketDataRequest(payload: .csvChunk(csv)))
        }
        return (daemon, client)
    }

    /// Every row of a sweep, 5 a page, in GetSweep's order (`sortBy`, or the objective).
    static func rows(_ client: BacktestServiceClient, _ id: String, sortBy: String = "", ascending: Bool = false)
        async throws -> [SweepResult]
    {
        var rows: [SweepResult] = []
        var token = ""
        repeat {
            var request = GetSweepRequest(sweepID: id, pageSize: 5, pageToken: token)
            request.sortBy = sortBy
            request.ascending = ascending
            let page = try await client.getSweep(request)
            rows += page.results
            token = page.nextPageToken
        } while !token.isEmpty
        return rows
    }

    @Test func aSweepEqualsTheSQLiteDaemonsAndAnotherNodeReadsIt() async throws {
        let (daemon, client) = try await Self.daemon(node: "qsweep-\(run)-a")
        defer { daemon.terminate() }
        let (_, sqlite) = try await SweepEndToEndTests.Daemon.shared.get()

        let started = try await client.startSweep(SweepEndToEndTests.smallSweep())
        #expect(started.total == 18 && started.status == .started)
        let events = try await SweepEndToEndTests.events(client, started.sweepID)
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        let terminal = try #require(events.last)
        #expect(terminal.status == .completed && terminal.done == 18, "\(terminal)")
        let rows = try await Self.rows(client, started.sweepID)
        #expect(rows.count == 18 && Set(rows.map(\.combination)) == Set(0..<18))
        #expect(terminal.best?.combination == rows.first?.combination)

        // The same sweep on the SQLite daemon: the same rows in the same order, bit for bit.
        let reference = try await sqlite.startSweep(SweepEndToEndTests.smallSweep())
        _ = try await SweepEndToEndTests.events(sqlite, reference.sweepID)
        for (sortBy, ascending) in [("", false), ("return_pct", true), ("total_trades", false), ("sqn", true)] {
            let got =
                sortBy.isEmpty
                ? rows : try await Self.rows(client, started.sweepID, sortBy: sortBy, ascending: ascending)
            let want = try await Self.rows(sqlite, reference.sweepID, sortBy: sortBy, ascending: ascending)
            #expect(got.map(\.combination) == want.map(\.combination), "sorted by \(sortBy) ascending \(ascending)")
            for (g, w) in zip(got, want) {
                #expect(g.params == w.params && g.error == w.error)
                #expect(
                    try g.statistics?.serializedBytes() == w.statistics?.serializedBytes(),
                    "combination \(g.combination)")
            }
        }

        // The best row is the single backtest of its parameters, and a session in full.
        let best = try #require(rows.first)
        let params = Dictionary(uniqueKeysWithValues: best.params.map { ($0.name, $0.value) })
        let single = try await client.startBacktest(SweepEndToEndTests.backtest(n1: params["n1"]!, n2: params["n2"]!))
        var last: ProgressEvent?
        try await client.watchProgress(WatchProgressRequest(sessionID: single.sessionID)) { last = $0 }
        #expect(last?.status == .completed)
        #expect(try best.statistics?.serializedBytes() == last?.statistics?.serializedBytes())
        for row in rows.prefix(2) {
            let session = try #require(try await client.getSession(GetSessionRequest(sessionID: row.sessionID)).session)
            #expect(session.status == .completed)
            var trades = 0
            try await client.getTrades(GetTradesRequest(sessionID: row.sessionID)) { trades += $0.trades.count }
            #expect(UInt64(trades) == row.statistics?.totalTrades)
        }
        #expect(rows.dropFirst(2).allSatisfy { $0.sessionID.isEmpty })

        // Another node on the same QuestDB: the same record and rows, the end of a watch,
        // the sweep listed.
        let (second, other) = try await Self.daemon(node: "qsweep-\(run)-b")
        defer { second.terminate() }
        let mine = try #require(try await client.getSweep(GetSweepRequest(sweepID: started.sweepID)).sweep)
        let theirs = try #require(try await other.getSweep(GetSweepRequest(sweepID: started.sweepID)).sweep)
        #expect(try theirs.serializedBytes() == mine.serializedBytes())
        #expect(theirs.status == .completed && theirs.done == 18 && UInt64(theirs.bestCombination) == best.combination)
        let fromOther = try await Self.rows(other, started.sweepID)
        #expect(try fromOther.map { try $0.serializedBytes() } == rows.map { try $0.serializedBytes() })
        let late = try await SweepEndToEndTests.events(other, started.sweepID)
        #expect(late.map(\.kind) == [.snapshot, .terminal] && late.last?.status == .completed)
        #expect(late.last?.best?.combination == best.combination)
        var listing = ListSweepsRequest()
        listing.statuses = [.completed]
        var token = ""
        var listed: [String] = []
        repeat {
            listing.pageToken = token
            let page = try await other.listSweeps(listing)
            listed += page.sweeps.map(\.sweepID)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(listed.contains(started.sweepID))

        // Deleted through the other node: gone from both, with the sessions it stored.
        let sessions = rows.map(\.sessionID).filter { !$0.isEmpty }
        let deleted = try await other.deleteSweep(DeleteSweepRequest(sweepID: started.sweepID))
        #expect(deleted.sweep?.sweepID == started.sweepID && Set(deleted.deletedSessionIDs) == Set(sessions))
        let gone = RPCError(.notFound, "sweep_id: no sweep \"\(started.sweepID)\"")
        for node in [client, other] {
            #expect(
                await InProcessServer.status { try await node.getSweep(GetSweepRequest(sweepID: started.sweepID)) }
                    == gone)
            for session in sessions {
                #expect(
                    await InProcessServer.status { try await node.getSession(GetSessionRequest(sessionID: session)) }
                        == RPCError(.notFound, "session_id: no session \"\(session)\""))
            }
        }
        let again = try await client.deleteSweep(DeleteSweepRequest(sweepID: started.sweepID, allowMissing: true))
        #expect(again.sweep == nil)
    }

    @Test func aWalkForwardEqualsTheSQLiteDaemons() async throws {
        let (daemon, client) = try await Self.daemon(node: "qsweep-\(run)-wf")
        defer { daemon.terminate() }
        let (_, sqlite) = try await SweepEndToEndTests.Daemon.shared.get()
        let started = try await client.startSweep(WalkForwardEndToEndTests.walkForward())
        #expect(started.total == 3 * 18)
        let terminal = try #require(try await SweepEndToEndTests.events(client, started.sweepID).last)
        #expect(terminal.kind == .terminal && terminal.status == .completed && terminal.windows == 3, "\(terminal)")
        let got = try await client.getSweep(GetSweepRequest(sweepID: started.sweepID))
        #expect(got.results.isEmpty && got.sweep?.done == 54)
        let result = try #require(got.walkForward)
        #expect(result.windows.map(\.index) == [0, 1, 2])

        let reference = try await sqlite.startSweep(WalkForwardEndToEndTests.walkForward())
        _ = try await SweepEndToEndTests.events(sqlite, reference.sweepID)
        let want = try #require(try await sqlite.getSweep(GetSweepRequest(sweepID: reference.sweepID)).walkForward)
        #expect(
            try result.windows.map { try $0.serializedBytes() } == want.windows.map { try $0.serializedBytes() })
        #expect(try result.statistics?.serializedBytes() == want.statistics?.serializedBytes())
        let stitched = try #require(try await client.getSession(GetSessionRequest(sessionID: result.sessionID)).session)
        #expect(stitched.status == .completed)
    }
}
