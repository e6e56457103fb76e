import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Daemons of their own: auth, crashes and shutdown (the lifecycle logic itself is
/// tested in process in BacktestCoreTests).
@Suite struct LifecycleTests {
    @Test func bearerTokenWhenConfigured() async throws {
        let daemon = try await DaemonProcess(arguments: ["--token", "s3cret"])
        defer { Task { await daemon.stop() } }
        let none = try await PyClient(port: daemon.port).call("ListActive")
        #expect(none.code == "UNAUTHENTICATED", "\(none)")
        let wrong = try await PyClient(port: daemon.port, token: "nope").call("ListActive")
        #expect(wrong.code == "UNAUTHENTICATED")
        let right = try await PyClient(port: daemon.port, token: "s3cret").call("ListActive")
        #expect(right.code == "OK", "\(right)")
    }

    @Test func sigkillMidRunLeavesTheSessionFailedAsInterrupted() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await DaemonProcess(directory: dir)
        let client = PyClient(port: first.port)
        #expect(try await client.importCSV(Fixtures.googCSV, header: Fixtures.googHeader).code == "OK")
        let id = try await client.start(Fixtures.slowGoogRequest(seconds: 3600))
        _ = try await client.waitFor(id, ["SESSION_STATUS_RUNNING"])
        try await Task.sleep(for: .milliseconds(1500))
        await first.stop(signal: SIGKILL)

        let second = try await DaemonProcess(directory: dir)
        defer { Task { await second.stop() } }
        let session = try await PyClient(port: second.port).session(id)
        #expect(session["status"] as? String == "SESSION_STATUS_FAILED", "\(session)")
        #expect(session["error_message"] as? String == "interrupted: server stopped before completion")
    }

    @Test func sigtermUnderLoadEndsEveryWatchAndLeavesNothingRunning() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let daemon = try await DaemonProcess(directory: dir)
        let client = PyClient(port: daemon.port)
        #expect(try await client.importCSV(Fixtures.googCSV, header: Fixtures.googHeader).code == "OK")
        let ids = [
            try await client.start(Fixtures.slowGoogRequest(seconds: 3600)),
            try await client.start(Fixtures.slowGoogRequest(seconds: 3600)),
            try await client.start(Fixtures.slowGoogRequest(seconds: 3600)),
        ]
        for id in ids.prefix(2) { _ = try await client.waitFor(id, ["SESSION_STATUS_RUNNING"]) }
        async let watchers = client.run(["watchers", ids[0], "4"])
        try await Task.sleep(for: .seconds(1.5))
        let status = await daemon.stop(signal: SIGTERM)
        #expect(status == 0, "exit status \(status): \(daemon.log)")
        for w in try await watchers["watchers"] as? [[String: Any]] ?? [] {
            let clean =
                (w["code"] as? String == "OK" && w["last_status"] as? String == "SESSION_STATUS_STOPPED")
                || w["code"] as? String == "UNAVAILABLE"
            #expect(clean, "\(w)")
        }
        let again = try await DaemonProcess(directory: dir)
        defer { Task { await again.stop() } }
        for id in ids {
            let s = try await PyClient(port: again.port).session(id)
            #expect(s["status"] as? String == "SESSION_STATUS_STOPPED", "\(s)")
            #expect(s["stop_reason"] as? String == "server shutting down")
        }
    }

    func iso(_ epoch: Int) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(epoch)))
    }

    func seconds(_ json: Any?) throws -> Double { try EndToEndTests.seconds(json) }
}

/// The same flow on QuestDB, when one is reachable (QuestDB is not installable here).
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["QUESTDB_HTTP"] != nil
            && ProcessInfo.processInfo.environment["QUESTDB_PG"] != nil,
        "needs a live QuestDB: set QUESTDB_HTTP and QUESTDB_PG"))
struct QuestDBEndToEndTests {
    @Test func startWatchAndReadResultsOnQuestDB() async throws {
        let env = ProcessInfo.processInfo.environment
        let daemon = try await DaemonProcess(arguments: [
            "--store", "questdb", "--questdb-http", env["QUESTDB_HTTP"]!, "--questdb-pg", env["QUESTDB_PG"]!,
            "--node-id", "e2e-\(UUID().uuidString.prefix(8))",
        ])
        defer { Task { await daemon.stop() } }
        let client = PyClient(port: daemon.port)
        var header = Fixtures.googHeader
        header["replace_existing"] = true
        let imported = try await client.importCSV(Fixtures.googCSV, header: header)
        #expect(imported.code == "OK", "\(imported)")
        let id = try await client.start(Fixtures.googRequest())
        let watch = try await client.call("WatchProgress", ["session_id": id])
        #expect(watch.responses.last?["status"] as? String == "SESSION_STATUS_COMPLETED", "\(watch)")
        let trades = try await client.call("GetTrades", ["session_id": id])
        let count = trades.responses.flatMap { $0["trades"] as? [[String: Any]] ?? [] }.count
        #expect("\(count)" == (watch.responses.last?["statistics"] as? [String: Any])?["total_trades"] as? String)
        // The bars read back from QuestDB as the run read them.
        let bars = try await client.call(
            "GetMarketData", ["symbol": "GOOG", "timeframe": "1d", "chunk_size": 1000])
        #expect(bars.code == "OK", "\(bars)")
        let candles = bars.responses.compactMap { $0["candles"] as? [String: Any] }
        #expect(
            candles.count == 3 && candles.flatMap { $0["time_us"] as? [Any] ?? [] }.count == 2148, "\(candles.count)")
        #expect((candles.first?["close"] as? [Double])?.first == 100.34, "GOOG's first close")
    }
}

@Suite struct DaemonFlagTests {
    @Test func questdbWithoutAddressesIsRefusedAtStart() async throws {
        let out = try await Subprocess.run(
            DaemonProcess.binDirectory.appendingPathComponent("backtestd").path, ["--store", "questdb", "--port", "0"],
            environment: ["QUESTDB_HTTP": "", "QUESTDB_PG": ""])
        #expect(out.status != 0)
        #expect(out.text.contains("--questdb-http"), "\(out.text)")
    }

    @Test func corsOriginMustBeAnOrigin() async throws {
        let out = try await Subprocess.run(
            DaemonProcess.executable,
            // A store that cannot be opened: the flag must be refused before any store is.
            ["--cors-origin", "dash.example/app", "--port", "0", "--store", "sqlite:/nonexistent/never-opened.db"])
        #expect(out.status != 0)
        #expect(out.text.contains("--cors-origin: 'dash.example/app' is not an origin"), "\(out.text)")
    }

    /// `--cors-origin` reaches the transport: a browser's preflight is answered.
    @Test func corsOriginIsServed() async throws {
        let daemon = try await DaemonProcess(arguments: ["--cors-origin", "https://dash.example"])
        defer { daemon.terminate() }
        let out = try await Subprocess.run(
            "/usr/bin/curl",
            [
                "-sS", "--http2-prior-knowledge", "-X", "OPTIONS", "-o", "/dev/null", "-D", "-",
                "-H", "origin: https://dash.example", "-H", "access-control-request-method: POST",
                "http://\(daemon.server)/backtest.v1.BacktestService/ListActive",
            ])
        #expect(out.text.hasPrefix("HTTP/2 204"), "\(out.text)")
        #expect(out.text.contains("access-control-allow-origin: https://dash.example"), "\(out.text)")
    }

    @Test(arguments: ["-1", "1048577", "lots"])
    func sweepColumnMemoryMustBeMiB(value: String) async throws {
        let out = try await Subprocess.run(
            DaemonProcess.executable,
            ["--sweep-column-memory", value, "--port", "0", "--store", "sqlite:/nonexistent/never-opened.db"])
        #expect(out.status != 0)
        #expect(out.text.contains("sweep-column-memory"), "\(out.text)")
    }

    @Test(arguments: [
        (["--broker", "127.0.0.1:6379", "--store", "questdb"], "--broker must be redis://HOST:PORT"),
        (["--broker", "redis://127.0.0.1", "--store", "questdb"], "--broker must be redis://HOST:PORT"),
        (["--broker", "redis://127.0.0.1:70000", "--store", "questdb"], "--broker must be redis://HOST:PORT"),
        (["--broker", "redis://:6379", "--store", "questdb"], "--broker must be redis://HOST:PORT"),
        (
            ["--broker", "redis://127.0.0.1:6379", "--store", "sqlite:/nonexistent/never-opened.db"],
            "--broker needs --store questdb"
        ),
        (
            ["--advertise", "node a:50051", "--store", "sqlite:/nonexistent/never-opened.db"],
            "--advertise must be HOST or HOST:PORT"
        ),
        (
            ["--advertise", "10.0.0.1:0", "--store", "sqlite:/nonexistent/never-opened.db"],
            "--advertise must be HOST or HOST:PORT"
        ),
    ])
    func clusterFlagsAreChecked(arguments: [String], message: String) async throws {
        // Refused before any store is opened or any broker reached.
        let out = try await Subprocess.run(
            DaemonProcess.executable, arguments + ["--port", "0"], environment: ["QUESTDB_HTTP": "", "QUESTDB_PG": ""])
        #expect(out.status != 0)
        #expect(out.text.contains(message), "\(out.text)")
    }

    @Test func unknownStoreIsRefused() async throws {
        let out = try await Subprocess.run(
            DaemonProcess.binDirectory.appendingPathComponent("backtestd").path, ["--store", "mysql:x", "--port", "0"])
        #expect(out.status != 0)
        #expect(out.text.contains("sqlite:PATH or questdb"), "\(out.text)")
    }
}
