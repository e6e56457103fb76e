import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// backtestd on a real QuestDB that fails under it: stopped for 60 s mid-run, killed
/// mid-run, answers lost after commits (a session's, a sweep's), and two daemons
/// sharing it. Each test starts
/// its own QuestDB (LiveQuestDB) behind a relay (QuestDBRelay) so the daemon keeps one
/// address across restarts. What must hold: the session ends as it would have,
/// every trade and equity point is stored exactly once, the terminal state reaches
/// QuestDB once it is back, and health says NOT_SERVING only while it is away.
@Suite(
    .enabled(
        if: LiveQuestDB.script != nil,
        "QUESTDB_SH is unset: QuestDB fault tests skipped (.ci/run sets it to a questdb.sh that starts a real QuestDB)"),
    .serialized)
struct QuestDBFaultTests {
    /// A daemon on `relay`, importing GOOG; returns the daemon and its client.
    static func daemon(_ relay: QuestDBRelay, node: String, directory: URL? = nil, extra: [String] = []) async throws
        -> (DaemonProcess, PyClient)
    {
        let dir = try directory ?? DaemonProcess.temporaryDirectory()
        let daemon = try await DaemonProcess(
            arguments: [
                "--store", "questdb", "--questdb-http", relay.http, "--questdb-pg", relay.pg, "--node-id", node,
                "--questdb-spool", dir.appendingPathComponent("spool-\(node)").path,
            ] + extra, directory: dir)
        return (daemon, PyClient(port: daemon.port))
    }

    static func importGOOG(_ client: PyClient) async throws {
        var header = Fixtures.googHeader
        header["replace_existing"] = true
        let imported = try await client.importCSV(Fixtures.googCSV, header: header)
        #expect(imported.code == "OK", "\(imported)")
    }

    static func status(_ client: PyClient, _ id: String) async throws -> String {
        let r = try await client.call("GetSession", ["session_id": id])
        return (r.response["session"] as? [String: Any])?["status"] as? String ?? r.code
    }

    static func waitFor(_ timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DaemonProcess.Failure(description: "timed out waiting for \(what)")
    }

    static func health(_ client: PyClient) async throws -> String {
        (try await client.run(["health", ""]))["status"] as? String ?? "?"
    }

    /// What QuestDB itself holds for a session: rows, distinct write keys, and state.
    static func stored(_ questdb: LiveQuestDB, _ id: String) throws -> (
        trades: Int64, tradeKeys: Int64, equity: Int64, equityKeys: Int64, state: String, owner: String
    ) {
        let db = try PGConnection(url: questdb.pg + "?sslmode=disable")
        defer { db.close() }
        func one(_ sql: String) throws -> [PGValue] { try db.query(sql, [.text(id)]).rows.first ?? [] }
        let t = try one("SELECT count(), count_distinct(ts) FROM backtest_trades WHERE session_id = $1")
        let e = try one("SELECT count(), count_distinct(ts) FROM backtest_equity_curve WHERE session_id = $1")
        let s = try one("SELECT state, owner FROM backtest_sessions WHERE session_id = $1")
        return (
            t.first?.int ?? -1, t.last?.int ?? -1, e.first?.int ?? -1, e.last?.int ?? -1, s.first?.text ?? "",
            s.last?.text ?? ""
        )
    }

    /// The results of a completed session, through the service, checked complete.
    static func checkComplete(_ client: PyClient, _ id: String, questdb: LiveQuestDB, node: String, bars: Int? = nil)
        async throws
    {
        let session =
            try await client.call("GetSession", ["session_id": id]).response["session"] as? [String: Any] ?? [:]
        #expect(session["status"] as? String == "SESSION_STATUS_COMPLETED", "\(session)")
        let totalTrades = Int((session["statistics"] as? [String: Any])?["total_trades"] as? String ?? "") ?? -1
        let trades = try await client.call("GetTrades", ["session_id": id])
        let tradeRows = trades.responses.flatMap { $0["trades"] as? [[String: Any]] ?? [] }
        #expect(
            trades.code == "OK" && tradeRows.count >= totalTrades && totalTrades > 0,
            "\(trades.code) \(tradeRows.count) vs \(totalTrades)")
        let numbers = tradeRows.compactMap { Int($0["trade_number"] as? String ?? "") }
        #expect(numbers == Array(1...max(1, numbers.count)), "trade numbers \(numbers.prefix(5))...")
        let equity = try await client.call("GetEquityCurve", ["session_id": id])
        let points = equity.responses.reduce(0) { $0 + ($1["points"] as? [Any] ?? []).count }
        let bars = try bars ?? GoogData.candles().count
        #expect(points == bars, "equity points \(points), bars \(bars)")
        let stored = try Self.stored(questdb, id)
        #expect(stored.trades == Int64(tradeRows.count) && stored.tradeKeys == stored.trades, "\(stored)")
        #expect(stored.equity == Int64(bars) && stored.equityKeys == stored.equity, "\(stored)")
        #expect(stored.state == "completed" && stored.owner == node, "\(stored)")
    }

    @Test func questDBStoppedFor60sMidRunLosesNothing() async throws {
        let questdb = try await LiveQuestDB()
        let relay = try await QuestDBRelay()
        defer {
            relay.stop()
            questdb.removeNow()
        }
        try relay.point(at: questdb)
        let (daemon, client) = try await Self.daemon(relay, node: "outage")
        defer { daemon.terminate() }
        try await Self.importGOOG(client)
        // About 20 s of paced run: it goes on, and ends, while QuestDB is away.
        let id = try await client.start(Fixtures.slowGoogRequest(seconds: 20))
        try await Self.waitFor(.seconds(30), "the run to progress") {
            try await Self.status(client, id) == "SESSION_STATUS_RUNNING"
        }
        relay.cut()
        try await questdb.stop()
        let down = ContinuousClock.now
        try await Self.waitFor(.seconds(20), "health NOT_SERVING") { try await Self.health(client) == "NOT_SERVING" }
        // The watcher's last status and how many terminal events it saw.
        var watcher = client
        watcher.timeout = 300
        let watch = Task { [watcher] () -> (String, Int) in
            let events = try await watcher.call("WatchProgress", ["session_id": id]).responses
            return (
                events.last?["status"] as? String ?? "",
                events.filter { $0["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL" }.count
            )
        }
        try await Task.sleep(until: down + .seconds(60))
        try await questdb.start()
        try relay.point(at: questdb)
        try await Self.waitFor(.seconds(30), "health SERVING") { try await Self.health(client) == "SERVING" }
        let (lastStatus, terminals) = try await watch.value
        #expect(
            lastStatus == "SESSION_STATUS_COMPLETED" && terminals == 1, "\(lastStatus), \(terminals) terminal event(s)")
        try await Self.waitFor(.seconds(60), "the spool to be delivered") {
            (try? Self.stored(questdb, id).state) == "completed"
        }
        try await Self.checkComplete(client, id, questdb: questdb, node: "outage")
        #expect(daemon.log.contains("spooling writes"), "the outage did not reach the writes")
    }

    /// Killed while the run still reads its data (200,000 minute bars: several pages),
    /// so the run waits out the restart on reads as well as on writes.
    @Test func questDBKilledMidRunLosesNothing() async throws {
        let questdb = try await LiveQuestDB()
        let relay = try await QuestDBRelay()
        defer {
            relay.stop()
            questdb.removeNow()
        }
        try relay.point(at: questdb)
        let (daemon, client) = try await Self.daemon(relay, node: "killed")
        defer { daemon.terminate() }
        let bars = 200_000
        let start = 1_577_836_800  // 2020-01-01
        let csv = try Fixtures.minuteBarsCSV(count: bars, start: start)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let imported = try await client.importCSV(
            csv,
            header: [
                "symbol": "KILLED", "kind": "DATA_KIND_CANDLES", "timeframe": "1m",
                "format": "IMPORT_FORMAT_CSV", "source_name": "bars.csv",
            ])
        #expect(imported.code == "OK", "\(imported)")
        // About 15 s of paced run.
        let id = try await client.start([
            "symbol": "KILLED", "timeframe": "1m", "start_time": "2020-01-01T00:00:00Z",
            "end_time": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(start + bars * 60))),
            "initial_capital": 100_000,
            "strategy": ["builtin": ["name": "sma_cross", "params": ["n1": 10, "n2": 20]]],
            "acceleration_factor": Double(bars * 60) / 15,
        ])
        try await Task.sleep(for: .seconds(3))
        relay.cut()
        try await questdb.kill()
        try await questdb.start()
        try relay.point(at: questdb)
        try await Self.waitFor(.seconds(120), "the session to complete") {
            try await Self.status(client, id) == "SESSION_STATUS_COMPLETED"
        }
        try await Self.waitFor(.seconds(60), "QuestDB to hold the terminal state") {
            (try? Self.stored(questdb, id).state) == "completed"
        }
        let session =
            try await client.call("GetSession", ["session_id": id]).response["session"] as? [String: Any] ?? [:]
        #expect(Int(session["events_processed"] as? String ?? "") == bars, "\(session)")
        try await Self.checkComplete(client, id, questdb: questdb, node: "killed", bars: bars)
    }

    @Test func answersLostAfterCommitAreNeitherFailuresNorCopies() async throws {
        let questdb = try await LiveQuestDB()
        let relay = try await QuestDBRelay()
        defer {
            relay.stop()
            questdb.removeNow()
        }
        try relay.point(at: questdb)
        let (daemon, client) = try await Self.daemon(relay, node: "lossy")
        defer { daemon.terminate() }
        // An import whose one write committed but whose answer was lost: retried, stored once, reported OK.
        try relay.dropAnswers(1)
        try await Self.importGOOG(client)
        #expect(relay.dropped == 1)
        let db = try PGConnection(url: questdb.pg + "?sslmode=disable")
        defer { db.close() }
        let bars = try GoogData.candles().count
        #expect(
            try db.query("SELECT count(), count_distinct(ts) FROM market_candles WHERE symbol = 'GOOG'").rows == [
                [.int(Int64(bars)), .int(Int64(bars))]
            ])
        // A run whose first writes lose their answers: completed, everything once.
        try relay.dropAnswers(3)
        let id = try await client.start(Fixtures.googRequest())
        try await Self.waitFor(.seconds(120), "the session to complete") {
            try await Self.status(client, id) == "SESSION_STATUS_COMPLETED"
        }
        #expect(relay.dropped == 4)
        try await Self.checkComplete(client, id, questdb: questdb, node: "lossy")
    }

    /// A sweep whose first writes (its record, its rows) lose their answers: retried,
    /// the sweep completes, and every row is stored once.
    @Test func sweepWritesWhoseAnswersAreLostAreStoredOnce() async throws {
        let questdb = try await LiveQuestDB()
        let relay = try await QuestDBRelay()
        defer {
            relay.stop()
            questdb.removeNow()
        }
        try relay.point(at: questdb)
        let (daemon, client) = try await Self.daemon(relay, node: "lossy-sweep")
        defer { daemon.terminate() }
        try await Self.importGOOG(client)
        try relay.dropAnswers(4)
        let started = try await client.call(
            "StartSweep",
            [
                "backtest": Fixtures.googRequest(),
                "axes": [
                    ["name": "n1", "range": ["start": 5, "stop": 10, "step": 1]],
                    ["name": "n2", "range": ["start": 15, "stop": 25, "step": 5]],
                ],
                "constraints": ["n1 < n2"], "top_k": 2,
            ])
        #expect(started.code == "OK", "\(started)")
        let id = try #require(started.response["sweep_id"] as? String)
        let watch = try await client.call("WatchSweep", ["sweep_id": id])
        #expect(watch.responses.last?["status"] as? String == "SESSION_STATUS_COMPLETED", "\(watch)")
        #expect(relay.dropped == 4)
        let db = try PGConnection(url: questdb.pg + "?sslmode=disable")
        defer { db.close() }
        #expect(
            try db.query(
                "SELECT count(), count_distinct(ts) FROM backtest_sweep_results WHERE sweep_id = $1", [.text(id)]
            ).rows == [[.int(18), .int(18)]])
        #expect(
            try db.query("SELECT count() FROM backtest_sweeps WHERE sweep_id = $1", [.text(id)]).rows == [[.int(1)]])
        let got = try await client.call("GetSweep", ["sweep_id": id, "page_size": 100])
        #expect((got.response["results"] as? [[String: Any]])?.count == 18, "\(got)")
    }

    @Test func twoDaemonsShareOneQuestDBAndRecoverOnlyTheirOwn() async throws {
        let questdb = try await LiveQuestDB()
        let relay = try await QuestDBRelay()
        defer {
            relay.stop()
            questdb.removeNow()
        }
        try relay.point(at: questdb)
        let (a, clientA) = try await Self.daemon(relay, node: "node-a")
        defer { a.terminate() }
        try await Self.importGOOG(clientA)
        let long = try await clientA.start(Fixtures.slowGoogRequest(seconds: 25))
        // B starts (its recovery runs) while A's session runs, runs one of its own, and is killed.
        let dirB = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dirB) }
        let (b, clientB) = try await Self.daemon(relay, node: "node-b", directory: dirB)
        #expect(try await Self.status(clientA, long) == "SESSION_STATUS_RUNNING")
        let orphan = try await clientB.start(Fixtures.slowGoogRequest(seconds: 60))
        try await Self.waitFor(.seconds(30), "B's session to run") {
            try await Self.status(clientB, orphan) == "SESSION_STATUS_RUNNING"
        }
        await b.stop(signal: SIGKILL)
        // B again, same node: its own session is failed as interrupted, A's is untouched.
        let (b2, clientB2) = try await Self.daemon(relay, node: "node-b", directory: dirB)
        defer { b2.terminate() }
        let recovered =
            try await clientB2.call("GetSession", ["session_id": orphan]).response["session"] as? [String: Any] ?? [:]
        #expect(recovered["status"] as? String == "SESSION_STATUS_FAILED", "\(recovered)")
        #expect((recovered["error_message"] as? String ?? "").contains("interrupted"), "\(recovered)")
        #expect(try await Self.status(clientA, long) == "SESSION_STATUS_RUNNING")
        #expect(try Self.stored(questdb, long).owner == "node-a")
        try await Self.waitFor(.seconds(120), "A's session to complete") {
            try await Self.status(clientA, long) == "SESSION_STATUS_COMPLETED"
        }
        try await Self.checkComplete(clientA, long, questdb: questdb, node: "node-a")
        // Any daemon reads any session.
        #expect(try await Self.status(clientB2, long) == "SESSION_STATUS_COMPLETED")
    }

    /// A table whose WAL QuestDB stopped applying (suspended): the store's read-your-writes
    /// wait is an error naming it, not a hang; resumed, the writes become visible.
    /// (SUSPEND WAL needs QuestDB's dev mode, so this QuestDB runs in it.)
    @Test func suspendedTableIsAnErrorNotAHang() async throws {
        let questdb = try await LiveQuestDB(configuration: "dev.mode.enabled=true")
        defer { questdb.removeNow() }
        var options = QuestDBStore.Options()
        options.owner = "suspended"
        options.visibilityTimeout = 60
        let store = try await QuestDBStore(httpURL: questdb.http, pgURL: questdb.pg, options: options)
        let db = try PGConnection(url: questdb.pg + "?sslmode=disable")
        defer { db.close() }
        let points = (0..<100).map {
            EquitySample(time: 1_700_000_000_000_000 + Int64($0), equity: 1, cash: 1, positionSize: 0, drawdownPct: 0)
        }
        try await store.appendEquity(sessionId: "s-1", startingAt: 0, points)
        try await store.sync()
        try db.query("ALTER TABLE backtest_equity_curve SUSPEND WAL")
        try await store.appendEquity(sessionId: "s-2", startingAt: 0, points)
        let started = ContinuousClock.now
        do {
            try await store.sync()
            Issue.record("sync returned on a suspended table")
        } catch let error as StoreError {
            #expect(
                error.description.contains("suspended") && error.description.contains("backtest_equity_curve"),
                "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(30), "the suspended table was waited on, not reported")
        try db.query("ALTER TABLE backtest_equity_curve RESUME WAL")
        try await store.sync()
        #expect(
            try db.query("SELECT count() FROM backtest_equity_curve WHERE session_id = 's-2'").rows == [[.int(100)]])
        await store.close()
    }
}
