import BacktestEngine
import Foundation
import TestSupport
import Testing

/// The real `backtestd` on 127.0.0.1 with its SQLite store, called through grpcio.
@Suite struct EndToEndTests {
    @Test func completedSessionMatchesTheEngineRunDirectly() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let id = try await client.start(Fixtures.googRequest())
        let watch = try await client.call("WatchProgress", ["session_id": id, "min_interval": "0.001s"])
        #expect(watch.code == "OK", "\(watch)")
        let events = watch.responses
        #expect(events.first?["kind"] as? String == "PROGRESS_EVENT_KIND_SNAPSHOT")
        #expect(events.last?["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL")
        #expect(events.last?["status"] as? String == "SESSION_STATUS_COMPLETED")
        #expect(events.filter { $0["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL" }.count == 1)
        #expect(events.last?["events_processed"] as? String == "2148", "the terminal event has the final figures")
        let pcts = events.map { $0["progress_pct"] as? Double ?? -1 }
        #expect(zip(pcts, pcts.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back: \(pcts)")
        #expect(pcts.last == 100)
        for e in events where e["progress_pct"] as? Double == 100 {
            #expect(e["status"] as? String == "SESSION_STATUS_COMPLETED", "100% only when completed: \(e)")
        }

        // The same configuration run by the engine in this process.
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 10000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])))
        try engine.process(candles: try GoogData.candles())
        let expected = engine.finish()
        let trades = engine.takeTrades()
        let stats = events.last?["statistics"] as? [String: Any] ?? [:]
        #expect(close(stats["equity_final"], expected.equityFinal), "\(stats)")
        #expect(close(stats["return_pct"], expected.returnPct))
        #expect(close(stats["sharpe_ratio"], expected.sharpeRatio))
        #expect(close(stats["max_drawdown_pct"], expected.maxDrawdownPct))
        #expect(close(stats["win_rate_pct"], expected.winRatePct))
        #expect(Int(stats["total_trades"] as? String ?? "") == expected.totalTrades)

        let session = try await client.session(id)
        #expect(session["status"] as? String == "SESSION_STATUS_COMPLETED")
        #expect(session["progress_pct"] as? Double == 100)
        #expect(close(session["final_pnl"], expected.finalPnl))
        #expect(close((session["statistics"] as? [String: Any])?["equity_final"], expected.equityFinal))
        #expect(Int(session["events_processed"] as? String ?? "") == 2148)

        let stored = try await client.call("GetTrades", ["session_id": id, "chunk_size": 7])
        let storedTrades = stored.responses.flatMap { $0["trades"] as? [[String: Any]] ?? [] }
        #expect(storedTrades.count == trades.count)
        for (s, t) in zip(storedTrades, trades) {
            #expect(
                close(s["entry_price"], t.entryPrice) && close(s["exit_price"], t.exitPrice) && close(s["pnl"], t.pnl))
            #expect(s["entry_rule"] as? String == t.entryRule)
        }
        let curve = try await client.call("GetEquityCurve", ["session_id": id])
        let points = curve.responses.flatMap { $0["points"] as? [[String: Any]] ?? [] }
        #expect(points.count == 2148)
        #expect(close(points.last?["equity"], expected.equityFinal))
        let window = try await client.call(
            "GetEquityCurve",
            ["session_id": id, "start_time": "2010-01-01T00:00:00Z", "end_time": "2010-02-01T00:00:00Z"])
        let january = window.responses.flatMap { $0["points"] as? [[String: Any]] ?? [] }
        #expect(january.count == 19, "trading days in January 2010")
    }

    @Test func aWatcherThatNeverReadsDoesNotSlowTheRun() async throws {
        let (daemon, client) = try await SharedDaemon.shared.get()
        let rssBefore = Self.rss(daemon.process.processIdentifier)
        let request = String(
            decoding: try JSONSerialization.data(withJSONObject: Fixtures.slowGoogRequest(seconds: 2)), as: UTF8.self)
        // The client starts the session and opens its watch at once, then reads nothing for 4 s.
        let idle = try await client.run(["watch_idle", request, "4"])
        let id = idle["session_id"] as? String ?? ""
        let done = try await client.waitFor(id, ["SESSION_STATUS_COMPLETED"], timeout: .seconds(20))
        // The server's own times: a paced 2 s run is not held up by the reader (held, it
        // would end only after the 4 s the watcher reads nothing).
        let took = try Self.seconds(done["completed_at"]) - Self.seconds(done["started_at"])
        #expect(took < 3.5, "the run took \(took) s with an idle watcher")
        let kinds = idle["kinds"] as? [String] ?? []
        #expect(kinds.first == "PROGRESS_EVENT_KIND_SNAPSHOT")
        #expect(kinds.last == "PROGRESS_EVENT_KIND_TERMINAL")
        #expect(kinds.count <= 12, "a slow reader gets the latest, not a backlog: \(kinds.count) events")
        let growth = Self.rss(daemon.process.processIdentifier) - rssBefore
        #expect(growth < 64 << 20, "RSS grew by \(growth) bytes")
    }

    @Test(arguments: ["GetSession", "StopBacktest", "WatchProgress", "GetTrades", "GetEquityCurve", "DeleteSession"])
    func unknownSessionIdsAreNotFound(method: String) async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let r = try await client.call(method, ["session_id": "no-such-session"])
        #expect(r.code == "NOT_FOUND", "\(r)")
        #expect(r.details.contains("session_id"))
    }

    /// DeleteSession through grpcio: the session as it was, then nothing of it.
    @Test func deleteSessionOverTheWire() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let id = try await client.start(Fixtures.googRequest())
        _ = try await client.waitFor(id, ["SESSION_STATUS_COMPLETED"], timeout: .seconds(60))
        let deleted = try await client.call("DeleteSession", ["session_id": id])
        #expect(deleted.code == "OK", "\(deleted)")
        let session = deleted.response["session"] as? [String: Any]
        #expect(session?["session_id"] as? String == id)
        #expect(session?["status"] as? String == "SESSION_STATUS_COMPLETED")
        for method in ["GetSession", "GetTrades", "DeleteSession"] {
            #expect(try await client.call(method, ["session_id": id]).code == "NOT_FOUND", "\(method)")
        }
        let lenient = try await client.call("DeleteSession", ["session_id": id, "allow_missing": true])
        #expect(lenient.code == "OK" && lenient.response["session"] == nil, "\(lenient)")
    }

    /// `buf curl` through reflection, as the README shows: no .proto needed.
    @Test func bufCurlListsAndCallsTheService() async throws {
        let (daemon, _) = try await SharedDaemon.shared.get()
        let buf = Subprocess.packageRoot.appendingPathComponent(".venv/bin/buf").path
        let url = "http://127.0.0.1:\(daemon.port)"
        let services = try await Subprocess.run(
            buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", url])
        #expect(services.status == 0 && services.text.contains("backtest.v1.BacktestService"), "\(services.text)")
        let data = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", #"{"symbol": "GOOG"}"#,
                url + "/backtest.v1.BacktestService/ListMarketData",
            ])
        #expect(data.status == 0 && data.text.contains("\"rows\": \"2148\""), "\(data.text)")
        // buf curl exits with the gRPC code times 8: INVALID_ARGUMENT (3) is 24.
        let bad = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", #"{"symbol": "GOOG"}"#,
                url + "/backtest.v1.BacktestService/StartBacktest",
            ])
        #expect(bad.status == 24 && bad.text.contains("timeframe"), "\(bad.text)")
    }

    static func close(_ json: Any?, _ value: Double) -> Bool {
        if value.isNaN { return (json as? String) == "NaN" || json == nil }
        guard let x = (json as? Double) ?? (json as? Int).map(Double.init) else { return value == 0 && json == nil }
        return x == value || abs(x - value) <= 1e-9 * max(abs(x), abs(value))
    }

    func close(_ json: Any?, _ value: Double) -> Bool { Self.close(json, value) }

    static func seconds(_ json: Any?) throws -> Double {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = json as? String ?? ""
        if let d = f.date(from: text) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        guard let d = f.date(from: text) else { throw PyClient.ClientError(message: "not a time: \(text)") }
        return d.timeIntervalSince1970
    }

    static func rss(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}
