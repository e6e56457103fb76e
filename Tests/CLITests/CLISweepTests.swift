import Foundation
import TestSupport
import Testing

/// `backtest sweep`, `sweeps`, `sweep-show`, `sweep-stop` and `sweep-rm`, built, against
/// a real `backtestd`: the ranked table, --json, one terminal event, exit codes, a stop,
/// deletion.
@Suite(.serialized) struct CLISweepTests {
    static let csvPath = Fixtures.writeTemporary(Fixtures.minuteBarsCSV(count: 600), name: "SWEEP.csv")
    static let base = [
        "sweep", "--symbol", "SYN", "--timeframe", "1m", "--from", "2024-01-01", "--to", "2024-01-01T10:00:00Z",
        "--strategy", "sma_cross",
    ]

    func cli(_ daemon: DaemonProcess, _ arguments: [String]) async throws -> CLIProcess.Result {
        try await CLIProcess.run(arguments + ["--server", daemon.server])
    }

    @Test func aSweepRunsRanksAndShows() async throws {
        let d = try await DaemonProcess(arguments: ["--sweep-workers", "2"])
        defer { Task { await d.stop() } }
        let imported = try await cli(d, ["import", Self.csvPath, "--symbol", "SYN", "--timeframe", "1m"])
        #expect(imported.status == 0, "\(imported)")

        // Plain text (not a terminal): the end's line, then the ranked table.
        let run = try await cli(
            d,
            Self.base + [
                "--param", "n1=5..10", "--param", "n2=15..25:5", "--where", "n1 < n2", "--maximize", "return_pct",
                "--top", "2", "--watch",
            ])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains(": 18/18 combinations"), "\(run)")
        let header = try #require(run.lines.first { $0.contains("RANK") })
        #expect(header.contains("n1") && header.contains("n2") && header.contains("RETURN_PCT"))
        let ranked = run.lines.drop { !$0.contains("RANK") }.dropFirst(2)
        #expect(ranked.count == 18)
        #expect(ranked.first?.hasPrefix("   1") == true || ranked.first?.hasPrefix("1") == true, "\(run)")

        // --json: the response, one event a line with one terminal, then the results.
        let json = try await cli(
            d, Self.base + ["--param", "n1=5,8", "--param", "n2=20", "--watch", "--json", "--top", "1"])
        #expect(json.status == 0, "\(json)")
        let lines = json.jsonLines
        let id = try #require(lines.first?["sweepId"] as? String)
        #expect(lines.first?["total"] as? String == "2")
        let events = lines.dropFirst().filter { $0["kind"] != nil }
        #expect(events.filter { $0["kind"] as? String == "PROGRESS_EVENT_KIND_TERMINAL" }.count == 1)
        let results = try #require(lines.last?["results"] as? [[String: Any]])
        #expect(results.count == 2 && (results.first?["sessionId"] as? String)?.isEmpty == false)

        let list = try await cli(d, ["sweeps", "--json"])
        let sweeps = try #require(list.json["sweeps"] as? [[String: Any]])
        #expect(sweeps.count == 2 && sweeps.first?["sweepId"] as? String == id)
        let text = try await cli(d, ["sweeps"])
        #expect(text.status == 0 && text.stdout.contains("completed"), "\(text)")

        let show = try await cli(d, ["sweep-show", id, "--sort", "total_trades", "--limit", "1"])
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("sweep \(id)") && show.stdout.contains("TOTAL_TRADES"), "\(show)")
        #expect(show.stderr.contains("more results: --page-token"))
        let best = try #require(results.first?["sessionId"] as? String)
        let session = try await cli(d, ["show", best, "--json"])
        #expect(session.status == 0, "\(session)")

        // Bad input: the server's refusal naming the field, with the status's exit code.
        let bad = try await cli(d, Self.base + ["--param", "n3=1..2"])
        #expect(bad.status == 13 && bad.stderr.contains("axes[0].name: unknown parameter"), "\(bad)")
        let badStep = try await cli(d, Self.base + ["--param", "n1=1..5:0"])
        #expect(badStep.status == 13 && badStep.stderr.contains("axes[0].range.step"), "\(badStep)")
        let usage = try await cli(d, Self.base + ["--param", "n1=a..b"])
        #expect(usage.status != 0 && usage.stderr.contains("--param: n1=a..b"), "\(usage)")
    }

    @Test func sweepStopEndsARunningSweep() async throws {
        let d = try await DaemonProcess(arguments: ["--sweep-workers", "1"])
        defer { Task { await d.stop() } }
        _ = try await cli(d, ["import", Self.csvPath, "--symbol", "SYN", "--timeframe", "1m"])
        let started = try await cli(d, Self.base + ["--param", "n1=1..100", "--param", "n2=1..300", "--json"])
        let id = try #require(started.json["sweepId"] as? String, "\(started)")
        let stop = try await cli(d, ["sweep-stop", id, "--reason", "enough", "--json"])
        #expect(stop.status == 0 && stop.json["status"] as? String == "SESSION_STATUS_STOPPED", "\(stop)")
        let show = try await cli(d, ["sweep-show", id])
        #expect(show.stdout.contains("stopped: enough"), "\(show)")
        let again = try await cli(d, ["sweep-stop", id])
        #expect(again.stdout.contains("had already ended"), "\(again)")
    }

    @Test func sweepRmDeletesSweepsAndTheirSessions() async throws {
        let d = try await DaemonProcess(arguments: ["--sweep-workers", "1"])
        defer { Task { await d.stop() } }
        _ = try await cli(d, ["import", Self.csvPath, "--symbol", "SYN", "--timeframe", "1m"])
        func sweep(_ extra: [String]) async throws -> String {
            let r = try await cli(
                d, Self.base + ["--param", "n1=5,8", "--param", "n2=20", "--top", "1", "--json"] + extra)
            return try #require(r.jsonLines.first?["sweepId"] as? String, "\(r)")
        }
        let first = try await sweep(["--watch"])
        let second = try await sweep(["--watch"])
        let third = try await sweep(["--watch"])
        func bestSession(_ id: String) async throws -> String {
            let show = try await cli(d, ["sweep-show", id, "--json"])
            let rows = show.json["results"] as? [[String: Any]] ?? []
            return try #require(rows.compactMap { $0["sessionId"] as? String }.first { !$0.isEmpty }, "\(show)")
        }
        let firstBest = try await bestSession(first)
        let thirdBest = try await bestSession(third)

        // --dry-run deletes nothing.
        let dry = try await cli(d, ["sweep-rm", first, "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("1 sweep would be deleted (dry run)"), "\(dry)")
        #expect(try await cli(d, ["sweep-show", first]).status == 0)

        // By id, in text: the sweep with its session.
        let rm = try await cli(d, ["sweep-rm", first])
        #expect(rm.status == 0, "\(rm)")
        #expect(rm.stdout.contains("deleted \(first) (completed, SYN 1m sma_cross, 2 combinations"), "\(rm)")
        #expect(rm.stdout.contains("with 1 session") && rm.stdout.contains("1 sweep deleted"), "\(rm)")
        #expect(try await cli(d, ["sweep-show", first]).status == 15)
        #expect(try await cli(d, ["show", firstBest]).status == 15)

        // Again: NOT_FOUND (exit 15) unless --allow-missing.
        let again = try await cli(d, ["sweep-rm", first])
        #expect(again.status == 15 && again.stderr.contains("sweep_id: no sweep"), "\(again)")
        let lenient = try await cli(d, ["sweep-rm", first, "--allow-missing"])
        #expect(lenient.status == 0 && lenient.stdout.contains("0 sweeps deleted"), "\(lenient)")

        // --keep-sessions, --json: one DeleteSweepResponse a line; the session stays.
        let kept = try await cli(d, ["sweep-rm", third, "--keep-sessions", "--json"])
        #expect(kept.status == 0, "\(kept)")
        #expect((kept.jsonLines.first?["sweep"] as? [String: Any])?["sweepId"] as? String == third, "\(kept)")
        #expect((kept.jsonLines.first?["deletedSessionIds"] as? [String])?.isEmpty == true, "\(kept)")
        #expect(try await cli(d, ["show", thirdBest]).status == 0)

        // A running sweep (about 255,000 combinations) is refused (FAILED_PRECONDITION,
        // exit 19) and kept, the others deleted anyway; by filter, the ended ones go.
        let running = try await cli(d, Self.base + ["--param", "n1=1..300", "--param", "n2=1..1000", "--json"])
        let live = try #require(running.json["sweepId"] as? String, "\(running)")
        let refused = try await cli(d, ["sweep-rm", live, second])
        #expect(refused.status == 19 && refused.stderr.contains("stop it first"), "\(refused)")
        #expect(
            refused.stdout.contains("deleted \(second)") && refused.stdout.contains("1 sweep deleted"), "\(refused)")
        _ = try await cli(d, ["sweep-stop", live])
        let byFilter = try await cli(d, ["sweep-rm", "--status", "stopped", "--symbol", "SYN"])
        #expect(byFilter.status == 0 && byFilter.stdout.contains("deleted \(live)"), "\(byFilter)")
        let none = try await cli(d, ["sweeps", "--json"])
        #expect((none.json["sweeps"] as? [[String: Any]])?.isEmpty == true, "\(none)")
    }

    /// `backtestd --retain-count 1` at start: sweeps are counted on their own (the same
    /// number unless --retain-sweeps), the older go with their sessions, and the kept
    /// sweep's session is neither counted nor deleted as a session.
    @Test func retentionOfSweepsAtStart() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var sweeps: [String] = []
        var plain = ""
        let before = try await DaemonProcess(arguments: ["--sweep-workers", "1"], directory: dir)
        do {
            _ = try await cli(before, ["import", Self.csvPath, "--symbol", "SYN", "--timeframe", "1m"])
            for _ in 0..<3 {
                let r = try await cli(
                    before, Self.base + ["--param", "n1=5,8", "--param", "n2=20", "--top", "1", "--watch", "--json"])
                if let id = r.jsonLines.first?["sweepId"] as? String { sweeps.append(id) }
            }
            let start = try await cli(
                before,
                [
                    "start", "--symbol", "SYN", "--timeframe", "1m", "--from", "2024-01-01", "--to",
                    "2024-01-01T10:00:00Z", "--strategy", "sma_cross", "--watch", "--json",
                ])
            plain = start.jsonLines.first?["sessionId"] as? String ?? ""
        } catch {
            await before.stop()
            throw error
        }
        await before.stop()
        #expect(sweeps.count == 3 && !plain.isEmpty)

        let d = try await DaemonProcess(arguments: ["--retain-count", "1"], directory: dir)
        defer { Task { await d.stop() } }
        // The first round runs right after start, in the background: ask until it did.
        var left: [String] = []
        for _ in 0..<600 {
            let r = try await cli(d, ["sweeps", "--json"])
            left = (r.json["sweeps"] as? [[String: Any]] ?? []).compactMap { $0["sweepId"] as? String }
            if left.count <= 1 && d.log.contains("retention deleted ended sweeps") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(left == [sweeps[2]], "the newest sweep stays")
        #expect(d.log.contains("retention deleted ended sweeps") && d.log.contains("sessions=2"), "\(d.log)")
        let sessions = try await cli(d, ["sessions", "--json"])
        let ids = (sessions.json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["sessionId"] as? String }
        let kept = try await cli(d, ["sessions", "--label", "sweep=\(sweeps[2])", "--json"])
        let best = (kept.json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["sessionId"] as? String }
        #expect(best.count == 1 && Set(ids) == Set(best + [plain]), "\(sessions)")
    }

    /// backtestd refuses a --retain-sweeps that is not a count, naming the flag, and
    /// documents it.
    @Test func retainSweepsIsACount() async throws {
        for bad in ["-1", "many"] {
            let r = try await Subprocess.run(DaemonProcess.executable, ["--retain-sweeps=\(bad)", "--port", "0"])
            #expect(r.status != 0, "\(r.text)")
            #expect(r.text.contains("--retain-sweeps: '\(bad)' is not a number of sweeps (0 or more)"), "\(r.text)")
        }
        let help = try await Subprocess.run(DaemonProcess.executable, ["--help"])
        #expect(help.text.contains("--retain-sweeps <count>") && help.text.contains("BACKTESTD_RETAIN_SWEEPS"))
    }
}
