import Foundation
import TestSupport
import Testing

/// The built `backtest` binary against a real `backtestd` on 127.0.0.1: every
/// command, its --json fields (the proto3 JSON of the responses), its text, and the
/// exit codes of the statuses.
@Suite(.serialized) struct CLIEndToEndTests {
    /// Ten hours of one-minute candles from 2024-01-01T00:00:00Z.
    static let bars = 600
    static let csvPath = Fixtures.writeTemporary(Fixtures.minuteBarsCSV(count: bars), name: "SYN.csv")
    static let range = ["--from", "2024-01-01", "--to", "2024-01-01T10:00:00Z"]
    static let smaCross =
        ["start", "--symbol", "SYN", "--timeframe", "1m"] + range
        + ["--strategy", "sma_cross", "--param", "n1=10", "--param", "n2=20"]

    func withDaemon(
        _ arguments: [String] = [], directory: URL? = nil, _ body: (DaemonProcess) async throws -> Void
    ) async throws {
        let daemon = try await DaemonProcess(arguments: arguments, directory: directory)
        do {
            try await body(daemon)
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }

    func cli(_ daemon: DaemonProcess, _ arguments: [String], environment: [String: String] = [:]) async throws
        -> CLIProcess.Result
    {
        try await CLIProcess.run(arguments + ["--server", daemon.server], environment: environment)
    }

    /// Imports the candles and checks the answer.
    func importBars(_ d: DaemonProcess) async throws {
        let r = try await cli(d, ["import", Self.csvPath, "--symbol", "SYN", "--timeframe", "1m", "--json"])
        #expect(r.status == 0, "\(r)")
        // uint64 is a string in proto3 JSON; enums are their full value names.
        #expect(r.json["rowsImported"] as? String == String(Self.bars), "\(r)")
        #expect(r.json["symbol"] as? String == "SYN")
        #expect(r.json["kind"] as? String == "DATA_KIND_CANDLES")
        #expect(r.json["timeframe"] as? String == "1m")
        #expect(r.json["firstTime"] as? String == "2024-01-01T00:00:00Z")
        #expect(r.json["lastTime"] as? String == "2024-01-01T09:59:00Z")
    }

    @Test func everyCommandWithJSON() async throws {
        try await withDaemon { d in
            let health = try await cli(d, ["health", "--json"])
            #expect(health.status == 0, "\(health)")
            #expect(health.json["status"] as? String == "SERVING")

            let empty = try await cli(d, ["data", "--json"])
            #expect(empty.status == 0 && (empty.json["series"] as? [Any])?.isEmpty == true, "\(empty)")
            try await importBars(d)
            let data = try await cli(d, ["data", "--json"])
            let series = try #require((data.json["series"] as? [[String: Any]])?.first, "\(data)")
            #expect(series["symbol"] as? String == "SYN")
            #expect(series["rows"] as? String == String(Self.bars))
            #expect(series["firstTime"] as? String == "2024-01-01T00:00:00Z")

            let started = try await cli(d, Self.smaCross + ["--label", "suite=cli", "--json"])
            #expect(started.status == 0, "\(started)")
            let id = try #require(started.json["sessionId"] as? String, "\(started)")
            #expect(started.json["status"] as? String == "SESSION_STATUS_STARTED")
            // Every field is present, false included.
            #expect(started.json["deduplicated"] as? Bool == false)
            #expect((started.json["createdAt"] as? String)?.hasSuffix("Z") == true)

            let watch = try await cli(d, ["watch", id, "--json"])
            #expect(watch.status == 0, "\(watch)")
            let events = watch.jsonLines
            #expect(events.first?["kind"] as? String == "PROGRESS_EVENT_KIND_SNAPSHOT", "\(watch)")
            #expect(events.map { $0["sessionId"] as? String }.allSatisfy { $0 == id })
            let terminal = try #require(events.last)
            #expect(terminal["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL")
            #expect(terminal["status"] as? String == "SESSION_STATUS_COMPLETED")
            #expect(terminal["progressPct"] as? Double == 100)
            #expect(events.filter { $0["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL" }.count == 1)
            let sequences = events.compactMap { ($0["sequence"] as? String).flatMap { UInt64($0) } }
            #expect(sequences.count == events.count && sequences == sequences.sorted(), "\(watch)")
            let stats = try #require(terminal["statistics"] as? [String: Any], "\(watch)")
            let totalTrades = try #require((stats["totalTrades"] as? String).flatMap { Int($0) })
            #expect(totalTrades > 0)
            // Ten hours less a minute: the first bar's open to the last bar's.
            #expect(stats["duration"] as? String == "35940s")
            #expect(stats["start"] as? String == "2024-01-01T00:00:00Z")

            let show = try await cli(d, ["show", id, "--json"])
            #expect(show.status == 0, "\(show)")
            let session = try #require(show.json["session"] as? [String: Any])
            #expect(session["sessionId"] as? String == id)
            #expect(session["status"] as? String == "SESSION_STATUS_COMPLETED")
            #expect(session["totalTrades"] as? String == String(totalTrades))
            let request = try #require(session["request"] as? [String: Any])
            #expect(request["symbol"] as? String == "SYN")
            #expect(request["startTime"] as? String == "2024-01-01T00:00:00Z")
            #expect(request["endTime"] as? String == "2024-01-01T10:00:00Z")
            #expect((request["labels"] as? [String: String]) == ["suite": "cli"])
            let builtin = (request["strategy"] as? [String: Any])?["builtin"] as? [String: Any]
            #expect(builtin?["name"] as? String == "sma_cross")
            #expect((builtin?["params"] as? [String: Double]) == ["n1": 10, "n2": 20])
            #expect((session["statistics"] as? [String: Any])?["totalTrades"] as? String == String(totalTrades))

            let trades = try await cli(d, ["trades", id, "--json"])
            #expect(trades.status == 0, "\(trades)")
            // The statistics count closed trades; a trade still open has no "exitTime".
            let closed = trades.jsonLines.filter { $0["exitTime"] is String }
            #expect(closed.count == totalTrades, "\(trades)")
            #expect(
                trades.jsonLines.map { $0["tradeNumber"] as? String } == (1...trades.jsonLines.count).map { String($0) }
            )
            #expect(
                trades.jsonLines.allSatisfy {
                    ["TRADE_SIDE_LONG", "TRADE_SIDE_SHORT"].contains($0["side"] as? String ?? "")
                })
            #expect(closed.allSatisfy { ($0["entryTime"] as? String ?? "") <= ($0["exitTime"] as? String ?? "") })
            let csv = try await cli(d, ["trades", id, "--csv"])
            #expect(
                csv.lines.first
                    == "trade_number,side,quantity,entry_time,exit_time,entry_price,exit_price,pnl,return_pct,commission,entry_rule,exit_rule,entry_index,exit_index"
            )
            #expect(csv.lines.count == trades.jsonLines.count + 1)
            // Small chunks give the same rows; the server's limit is its message.
            let chunked = try await cli(d, ["trades", id, "--json", "--chunk-size", "3"])
            #expect(chunked.stdout == trades.stdout)
            let tooBig = try await cli(d, ["trades", id, "--json", "--chunk-size", "10001"])
            #expect(
                tooBig.status == 13 && (tooBig.error["message"] as? String ?? "").contains("chunk_size"), "\(tooBig)")

            let equity = try await cli(d, ["equity", id, "--json"])
            #expect(equity.status == 0, "\(equity)")
            let times = equity.jsonLines.compactMap { $0["time"] as? String }
            #expect(times.count == equity.jsonLines.count && times.count >= Self.bars - 1, "\(times.count) points")
            #expect(times == times.sorted())
            let smallChunks = try await cli(d, ["equity", id, "--json", "--chunk-size", "7"])
            #expect(smallChunks.stdout == equity.stdout)
            let window = try await cli(
                d, ["equity", id, "--from", "2024-01-01T01:00:00Z", "--to", "2024-01-01T02:00:00Z", "--csv"])
            #expect(window.lines.first == "time,equity,cash,position_size,drawdown_pct")
            #expect(window.lines.count == 61, "\(window)")

            let sessions = try await cli(d, ["sessions", "--status", "completed", "--symbol", "SYN", "--json"])
            #expect(sessions.status == 0, "\(sessions)")
            #expect((sessions.json["sessions"] as? [[String: Any]])?.map { $0["sessionId"] as? String } == [id])
            #expect(sessions.json["nextPageToken"] as? String == "")
            let none = try await cli(d, ["sessions", "--status", "failed", "--json"])
            #expect((none.json["sessions"] as? [Any])?.isEmpty == true, "\(none)")
            let labelled = try await cli(d, ["sessions", "--label", "suite=cli", "--since", "2000-01-01", "--json"])
            #expect((labelled.json["sessions"] as? [Any])?.count == 1, "\(labelled)")

            let active = try await cli(d, ["list", "--json"])
            #expect(active.status == 0 && (active.json["sessions"] as? [Any])?.isEmpty == true, "\(active)")

            let stop = try await cli(d, ["stop", id, "--json"])
            #expect(stop.status == 0, "\(stop)")
            #expect(stop.json["alreadyEnded"] as? Bool == true)
            #expect(stop.json["status"] as? String == "SESSION_STATUS_COMPLETED")
        }
    }

    @Test func textOutputForPeople() async throws {
        try await withDaemon { d in
            try await importBars(d)
            // Piped (not a terminal): no bar, the terminal line and the statistics.
            let run = try await cli(d, Self.smaCross + ["--watch"])
            #expect(run.status == 0, "\(run)")
            #expect(!run.stdout.contains("▕") && !run.stdout.contains("\r") && !run.stdout.contains("\u{1B}"), "\(run)")
            let id = try #require(run.lines.first?.split(separator: " ").dropFirst().first.map(String.init))
            #expect(run.stdout.contains("session \(id) completed: equity "), "\(run)")
            #expect(run.stdout.contains("Sharpe Ratio"))
            #expect(run.stdout.contains("# Trades"))

            // Without --watch, piped: the id alone, for ID=$(backtest start ...).
            let bare = try await cli(d, Self.smaCross)
            #expect(bare.lines.count == 1 && bare.lines[0].count >= 8, "\(bare)")

            let show = try await cli(d, ["show", id])
            #expect(show.status == 0, "\(show)")
            for text in [
                "Session", id, "completed", "SYN 1m", "sma_cross (n1=10, n2=20)", "Return [%]", "Equity (", "┤",
            ] {
                #expect(show.stdout.contains(text), "\(text): \(show)")
            }
            let sessions = try await cli(d, ["sessions"])
            #expect(sessions.lines.first?.hasPrefix("SESSION") == true, "\(sessions)")
            #expect(sessions.lines.count == 4)
            let trades = try await cli(d, ["trades", id])
            #expect(trades.lines.first?.contains("ENTRY TIME") == true)
            #expect(trades.lines.last?.hasSuffix("") == true && trades.stdout.contains(" trades, P&L "))
            let data = try await cli(d, ["data"])
            #expect(data.stdout.contains("SYN") && data.stdout.contains("600"), "\(data)")
            let health = try await cli(d, ["health"])
            #expect(health.stdout == "SERVING\n")
        }
    }

    @Test func statusesMapToExitCodes() async throws {
        try await withDaemon { d in
            try await importBars(d)
            for command in [
                ["show", "nope"], ["watch", "nope"], ["trades", "nope"], ["equity", "nope"], ["stop", "nope"],
            ] {
                let r = try await cli(d, command + ["--json"])
                #expect(r.status == 15, "\(command): \(r)")
                #expect(r.error["code"] as? String == "NOT_FOUND", "\(command): \(r)")
                #expect(r.stdout.isEmpty)
                let text = try await cli(d, command)
                #expect(text.stderr.hasPrefix("backtest: NOT_FOUND: "), "\(text)")
            }
            // --to before --from: the server says which field.
            let backwards = try await cli(
                d, ["start", "--symbol", "SYN", "--timeframe", "1m", "--from", "2024-01-02", "--to", "2024-01-01"])
            #expect(backwards.status == 13, "\(backwards)")
            #expect(backwards.stderr.hasPrefix("backtest: INVALID_ARGUMENT: "), "\(backwards)")
            let badRule = Fixtures.writeTemporary("entry_long buy: close > > 1\n", name: "bad.txt")
            let syntax = try await cli(
                d,
                ["start", "--symbol", "SYN", "--timeframe", "1m"] + Self.range + ["--strategy-file", badRule, "--json"])
            #expect(syntax.status == 13, "\(syntax)")
            let noData = try await cli(d, ["start", "--symbol", "NONE", "--timeframe", "1m"] + Self.range + ["--json"])
            #expect(noData.status == 19, "\(noData)")
            #expect(noData.error["code"] as? String == "FAILED_PRECONDITION")
            let badCSV = Fixtures.writeTemporary(
                "time,open,high,low,close,volume\n1704067200,1,2,0.5,1.5,10\n1704067260,1,2,x,1.5,10\n", name: "bad.csv"
            )
            let rejected = try await cli(d, ["import", badCSV, "--symbol", "BAD", "--timeframe", "1m"])
            #expect(rejected.status == 13, "\(rejected)")
            #expect(rejected.stderr.contains("bad.csv"), "\(rejected)")
        }
    }

    @Test func tokens() async throws {
        try await withDaemon(["--token", "s3cret"]) { d in
            let missing = try await cli(d, ["list", "--json"])
            #expect(missing.status == 26, "\(missing)")
            #expect(missing.error["code"] as? String == "UNAUTHENTICATED")
            let wrong = try await cli(d, ["data", "--token", "guess"])
            #expect(wrong.status == 26, "\(wrong)")
            #expect(wrong.stderr.hasPrefix("backtest: UNAUTHENTICATED: "), "\(wrong)")
            let right = try await cli(d, ["list", "--token", "s3cret", "--json"])
            #expect(right.status == 0, "\(right)")
            let fromEnv = try await cli(d, ["data", "--json"], environment: ["BACKTEST_TOKEN": "s3cret"])
            #expect(fromEnv.status == 0, "\(fromEnv)")
            // Health needs no secret.
            #expect(try await cli(d, ["health"]).status == 0)
        }
    }

    @Test func stopAPacedSession() async throws {
        try await withDaemon { d in
            try await importBars(d)
            // One simulated minute per wall second: ten hours would take ten hours.
            let started = try await cli(d, Self.smaCross + ["--acceleration", "60", "--json"])
            let id = try #require(started.json["sessionId"] as? String, "\(started)")
            var listed: [String] = []
            for _ in 0..<100 where listed.isEmpty {
                let active = try await cli(d, ["list", "--json"])
                listed = (active.json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["sessionId"] as? String }
                if listed.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(listed == [id])
            let stop = try await cli(d, ["stop", id, "--reason", "enough", "--json"])
            #expect(stop.status == 0, "\(stop)")
            #expect(stop.json["status"] as? String == "SESSION_STATUS_STOPPED")
            #expect(stop.json["alreadyEnded"] as? Bool == false)
            let watch = try await cli(d, ["watch", id])
            #expect(watch.status == 3, "\(watch)")
            #expect(watch.stdout.contains("session \(id) stopped: enough"), "\(watch)")
            let show = try await cli(d, ["show", id, "--json"])
            #expect((show.json["session"] as? [String: Any])?["stopReason"] as? String == "enough")
        }
    }

    /// `rm` by id and by filter: what it prints, --json, --dry-run, the statuses of a
    /// second delete and of a live session, --allow-missing.
    @Test func removeSessions() async throws {
        try await withDaemon { d in
            try await importBars(d)
            var ids: [String: [String]] = [:]
            for (batch, capital) in [("old", "10000"), ("old", "20000"), ("new", "30000")] {
                let r = try await cli(
                    d, Self.smaCross + ["--capital", capital, "--label", "batch=\(batch)", "--watch"])
                #expect(r.status == 0, "\(r)")
                let listed = try await cli(d, ["sessions", "--label", "batch=\(batch)", "--json"])
                ids[batch] = (listed.json["sessions"] as? [[String: Any]] ?? []).compactMap {
                    $0["sessionId"] as? String
                }
            }
            let old = ids["old"] ?? [], new = ids["new"] ?? []
            #expect(old.count == 2 && new.count == 1)

            let dry = try await cli(d, ["rm", "--label", "batch=old", "--dry-run", "--json"])
            #expect(dry.status == 0, "\(dry)")
            #expect(
                Set((dry.json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["sessionId"] as? String })
                    == Set(old))
            let dryText = try await cli(d, ["rm", "--label", "batch=old", "--dry-run"])
            #expect(dryText.stdout.hasSuffix("2 sessions would be deleted (dry run)\n"), "\(dryText)")
            #expect(try await cli(d, ["show", old[0]]).status == 0, "a dry run deletes nothing")

            let byFilter = try await cli(d, ["rm", "--label", "batch=old"])
            #expect(byFilter.status == 0, "\(byFilter)")
            for id in old {
                #expect(byFilter.stdout.contains("deleted \(id) (completed, SYN 1m sma_cross, created "), "\(byFilter)")
            }
            #expect(byFilter.lines.last == "2 sessions deleted", "\(byFilter)")
            #expect(try await cli(d, ["trades", old[0]]).status == 15)

            let byId = try await cli(d, ["rm", new[0], "--json"])
            #expect(byId.status == 0, "\(byId)")
            let session = byId.json["session"] as? [String: Any]
            #expect(session?["sessionId"] as? String == new[0])
            #expect(session?["status"] as? String == "SESSION_STATUS_COMPLETED")
            #expect(byId.lines.count == 1)
            let again = try await cli(d, ["rm", new[0]])
            #expect(again.status == 15, "\(again)")
            #expect(again.stderr == "backtest: NOT_FOUND: session_id: no session \"\(new[0])\"\n", "\(again)")
            let lenient = try await cli(d, ["rm", new[0], "--allow-missing"])
            #expect(lenient.status == 0 && lenient.stdout == "0 sessions deleted\n", "\(lenient)")
            let none = try await cli(d, ["sessions", "--json"])
            #expect((none.json["sessions"] as? [Any])?.isEmpty == true, "\(none)")

            // A live session is refused, by id and by filter; the command says which.
            let started = try await cli(d, Self.smaCross + ["--acceleration", "60", "--json"])
            let live = try #require(started.json["sessionId"] as? String, "\(started)")
            let refused = try await cli(d, ["rm", live, "--json"])
            #expect(refused.status == 19, "\(refused)")
            #expect(refused.error["code"] as? String == "FAILED_PRECONDITION")
            #expect((refused.error["message"] as? String)?.hasPrefix("session_id: ") == true, "\(refused)")
            let filtered = try await cli(d, ["rm", "--status", "started", "--status", "running"])
            #expect(filtered.status == 19, "\(filtered)")
            #expect(filtered.stdout == "0 sessions deleted\n", "\(filtered)")
            _ = try await cli(d, ["stop", live])
            let stopped = try await cli(d, ["rm", "--all"])
            #expect(stopped.status == 0 && stopped.stdout.contains("deleted \(live) (stopped, "), "\(stopped)")
        }
    }

    /// `backtestd --retain-count` applies at start: a restart on the same database
    /// keeps only the newest ended session.
    @Test func retentionAtStart() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var first: [String] = []
        let before = try await DaemonProcess(directory: dir)
        do {
            try await importBars(before)
            for capital in ["10000", "20000", "30000"] {
                let r = try await cli(before, Self.smaCross + ["--capital", capital, "--watch", "--json"])
                #expect(r.status == 0, "\(r)")
                if let id = r.jsonLines.first?["sessionId"] as? String { first.append(id) }
            }
        } catch {
            await before.stop()
            throw error
        }
        await before.stop()
        #expect(first.count == 3)
        try await withDaemon(["--retain-count", "1"], directory: dir) { d in
            // The first round runs right after start, in the background: ask until it did.
            var left: [String] = []
            for _ in 0..<600 {
                let r = try await cli(d, ["sessions", "--json"])
                left = (r.json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["sessionId"] as? String }
                if left.count <= 1 && d.log.contains("retention deleted ended sessions") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(left == [first[2]], "the newest stays")
            #expect(d.log.contains("retention deleted ended sessions") && d.log.contains("count=2"), "\(d.log)")
        }
    }

    @Test func tlsWithACertificateAuthority() async throws {
        let dir = URL(fileURLWithPath: Fixtures.writeTemporary("", name: "x")).deletingLastPathComponent().path
        let made = try await Subprocess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem",
            ])
        #expect(made.status == 0, "\(made.text)")
        try await withDaemon(["--tls-cert", "\(dir)/cert.pem", "--tls-key", "\(dir)/key.pem"]) { d in
            let health = try await cli(d, ["health", "--ca", "\(dir)/cert.pem", "--json"])
            #expect(health.status == 0, "\(health)")
            #expect(health.json["status"] as? String == "SERVING")
            let byName = try await CLIProcess.run([
                "data", "--tls", "--ca", "\(dir)/cert.pem", "--server", "localhost:\(d.port)", "--json",
            ])
            #expect(byName.status == 0, "\(byName)")
            // The system's CAs do not know this certificate: the failed handshake is
            // UNAVAILABLE, however the request and the connection's end race.
            for _ in 0..<5 {
                let untrusted = try await cli(d, ["health", "--tls", "--json"])
                #expect(untrusted.status == 24, "\(untrusted)")
                #expect(untrusted.error["code"] as? String == "UNAVAILABLE", "\(untrusted)")
            }
            // Cleartext to a TLS port is not a gRPC conversation.
            let cleartext = try await cli(d, ["health", "--timeout", "5"])
            #expect(cleartext.status != 0, "\(cleartext)")
        }
    }
}
