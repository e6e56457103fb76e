import Foundation
import TestSupport
import Testing

/// `backtest walk-forward`, `sweep-show --heatmap`, `compare` and the `sessions`
/// columns, built, against a real `backtestd` (stdout not a terminal: no escape codes).
@Suite(.serialized) struct CLIWalkForwardTests {
    static let base = [
        "--symbol", "SYN", "--timeframe", "1m", "--from", "2024-01-01", "--to", "2024-01-01T10:00:00Z",
        "--strategy", "sma_cross",
    ]
    /// Ranked by return: within one day of minute bars, daily Sharpe ratios are undefined.
    static let axes = [
        "--param", "n1=5..10", "--param", "n2=15..25:5", "--where", "n1 < n2", "--maximize", "return_pct",
    ]

    func cli(_ daemon: DaemonProcess, _ arguments: [String]) async throws -> CLIProcess.Result {
        try await CLIProcess.run(arguments + ["--server", daemon.server])
    }

    func daemon() async throws -> DaemonProcess {
        let d = try await DaemonProcess(arguments: ["--sweep-workers", "2"])
        let imported = try await cli(d, ["import", CLISweepTests.csvPath, "--symbol", "SYN", "--timeframe", "1m"])
        #expect(imported.status == 0, "\(imported)")
        return d
    }

    @Test func walkForwardPrintsTheWindowsAndTheStitchedRun() async throws {
        let d = try await daemon()
        defer { Task { await d.stop() } }
        let run = try await cli(d, ["walk-forward"] + Self.base + Self.axes + ["--windows", "3", "--watch"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("walk-forward ") && run.stdout.contains(": 54/54 in-sample runs"), "\(run)")
        #expect(!run.stdout.contains("\u{1B}["), "no escape codes off a terminal")
        let header = try #require(run.lines.first { $0.contains("IN-SAMPLE") }, "\(run)")
        #expect(header.contains("OUT-OF-SAMPLE") && header.contains("IS RETURN_PCT") && header.contains("n1"))
        let windows = run.lines.drop { !$0.contains("IN-SAMPLE") }.dropFirst(2).prefix { !$0.hasPrefix("stitched") }
        #expect(windows.count == 3, "\(run)")
        // 10 hours: an in-sample part of 5 hours, then three of 1 h 40 min, back to back.
        #expect(windows.first?.contains("2024-01-01 .. 2024-01-01 05:00:00") == true, "\(run)")
        #expect(windows.last?.contains("2024-01-01 08:20:00 .. 2024-01-01 10:00:00") == true, "\(run)")
        #expect(run.stdout.contains("stitched out-of-sample run: session "), "\(run)")
        #expect(run.stdout.contains("Sharpe Ratio") && run.stdout.contains("# Trades"))

        // --json: the response, events, then GetSweep with the windows and the stitched run.
        let json = try await cli(
            d, ["walk-forward"] + Self.base + Self.axes + ["--windows", "2", "--anchored", "--watch", "--json"])
        #expect(json.status == 0, "\(json)")
        let id = try #require(json.jsonLines.first?["sweepId"] as? String, "\(json)")
        let last = try #require(json.jsonLines.last)
        let result = try #require(last["walkForward"] as? [String: Any], "\(json)")
        let rows = try #require(result["windows"] as? [[String: Any]])
        #expect(rows.count == 2 && rows.allSatisfy { $0["inSampleStart"] as? String == "2024-01-01T00:00:00Z" })
        let session = try #require(result["sessionId"] as? String)
        #expect(result["statistics"] != nil)

        // sweep-show shows it again; the stitched session is a session like any.
        let show = try await cli(d, ["sweep-show", id])
        #expect(show.status == 0 && show.stdout.contains("walk-forward: 2 windows, in-sample 3x"), "\(show)")
        #expect(show.stdout.contains("anchored") && show.stdout.contains(session))
        let heat = try await cli(d, ["sweep-show", id, "--heatmap", "n1,n2"])
        #expect(heat.status == 1 && heat.stderr.contains("a walk-forward keeps no results"), "\(heat)")
        let trades = try await cli(d, ["trades", session, "--csv"])
        #expect(trades.status == 0 && trades.lines.count > 1, "\(trades)")

        // Bad cuts: the server's refusal naming the field; missing ones before sending.
        let bad = try await cli(d, ["walk-forward"] + Self.base + Self.axes + ["--windows", "101"])
        #expect(bad.status == 13 && bad.stderr.contains("walk_forward.windows: 1 to 100"), "\(bad)")
        let both = try await cli(
            d,
            ["walk-forward"] + Self.base + Self.axes + ["--windows", "2", "--in-sample", "2h", "--out-of-sample", "1h"])
        #expect(both.status == 13 && both.stderr.contains("walk_forward.windows: give either"), "\(both)")
        let none = try await cli(d, ["walk-forward"] + Self.base + Self.axes)
        #expect(none.status == 64 && none.stderr.contains("--windows"), "\(none)")
        let lengths = try await cli(
            d, ["walk-forward"] + Self.base + Self.axes + ["--in-sample", "4h", "--out-of-sample", "2h", "--watch"])
        #expect(lengths.status == 0 && lengths.stdout.contains(": 54/54 in-sample runs"), "\(lengths)")
    }

    @Test func heatmapCompareAndSessionColumns() async throws {
        let d = try await daemon()
        defer { Task { await d.stop() } }
        let json = try await cli(d, ["sweep"] + Self.base + Self.axes + ["--top", "2", "--watch", "--json"])
        #expect(json.status == 0, "\(json)")
        let id = try #require(json.jsonLines.first?["sweepId"] as? String)
        let results = try #require(json.jsonLines.last?["results"] as? [[String: Any]])
        func sharpe(_ r: [String: Any]) -> Double? {
            let s = (r["statistics"] as? [String: Any])?["returnPct"]
            return (s as? NSNumber)?.doubleValue
        }
        let best = try #require(results.compactMap(sharpe).max())

        // The ranked table names the statistic once (no second SHARPE or RETURN% column).
        let show = try await cli(d, ["sweep-show", id])
        let header = try #require(show.lines.first { $0.contains("RANK") }, "\(show)")
        let titles = header.split(separator: " ")
        #expect(titles.contains("RETURN_PCT") && !titles.contains("RETURN%") && titles.contains("SHARPE"))
        let bySharpe = try await cli(d, ["sweep-show", id, "--sort", "sharpe_ratio"])
        let sharpeTitles = try #require(bySharpe.lines.first { $0.contains("RANK") }).split(separator: " ")
        #expect(sharpeTitles.contains("SHARPE_RATIO") && !sharpeTitles.contains("SHARPE"))

        // The heatmap: n1 5..10 as rows, n2 15, 20, 25 as columns, the best cell marked.
        let heat = try await cli(d, ["sweep-show", id, "--heatmap", "n1,n2"])
        #expect(heat.status == 0, "\(heat)")
        #expect(!heat.stdout.contains("\u{1B}["), "no escape codes off a terminal")
        let grid = heat.lines.drop { !$0.contains("n1 \\ n2") }
        let gridHeader = try #require(grid.first, "\(heat)")
        #expect(gridHeader.split(separator: " ").suffix(3) == ["15", "20", "25"])
        let cells = grid.dropFirst(2).prefix { !$0.hasPrefix("legend") }
        #expect(cells.map { $0.split(separator: " ").first } == ["5", "6", "7", "8", "9", "10"])
        #expect(heat.stdout.filter { $0 == "*" }.count == 2, "the best cell, and its legend entry: \(heat)")
        let starred = try #require(cells.first { $0.contains("*") })
        let value = starred.split(separator: " ").first { $0.contains("*") }.map { $0.prefix { $0 != "*" } }
        #expect(value.flatMap { Double($0) } == (best * 1000).rounded() / 1000, "\(heat)")
        #expect(heat.stdout.contains("legend: ░") && heat.stdout.contains("█"))
        let unknown = try await cli(d, ["sweep-show", id, "--heatmap", "n1,n9"])
        #expect(unknown.status == 1 && unknown.stderr.contains("the sweep's axes are n1, n2"), "\(unknown)")
        let malformed = try await cli(d, ["sweep-show", id, "--heatmap", "n1"])
        #expect(malformed.status == 64 && malformed.stderr.contains("--heatmap"), "\(malformed)")

        // compare: the best two side by side.
        let ids = results.prefix(2).compactMap { $0["sessionId"] as? String }
        #expect(ids.count == 2)
        let compare = try await cli(d, ["compare"] + ids)
        #expect(compare.status == 0, "\(compare)")
        let top = try #require(compare.lines.first)
        #expect(top.contains(String(ids[0].prefix(8))) && top.contains(String(ids[1].prefix(8))))
        let n1 = try #require(compare.lines.first { $0.hasPrefix("n1 ") }, "\(compare)")
        #expect(n1.split(separator: " ").count == 3)
        #expect(compare.lines.contains { $0.hasPrefix("Sharpe Ratio") })
        let compareJSON = try await cli(d, ["compare", "--json"] + ids)
        let sessions = try #require(compareJSON.json["sessions"] as? [[String: Any]])
        #expect(sessions.map { $0["sessionId"] as? String } == ids)
        let missing = try await cli(d, ["compare", ids[0], "nope"])
        #expect(missing.status == 15, "\(missing)")

        // sessions: return and Sharpe columns.
        let list = try await cli(d, ["sessions", "--label", "sweep=\(id)"])
        let listHeader = try #require(list.lines.first, "\(list)")
        #expect(listHeader.contains("RETURN%") && listHeader.contains("SHARPE"))
        #expect(list.lines.count == 4, "a header, a rule and the two best: \(list)")
    }

    @Test func heatmapIsColouredOnATerminal() async throws {
        let d = try await daemon()
        defer { Task { await d.stop() } }
        let run = try await cli(d, ["sweep"] + Self.base + Self.axes + ["--top", "1", "--watch", "--json"])
        let id = try #require(run.jsonLines.first?["sweepId"] as? String, "\(run)")
        let command =
            "env -u NO_COLOR TERM=xterm-256color "
            + [CLIProcess.cli, "sweep-show", id, "--heatmap", "n1,n2", "--server", d.server].map {
                "'" + $0 + "'"
            }.joined(separator: " ")
        let tmux = try Tmux(command: command)
        defer { tmux.close() }
        let screen = try await tmux.waitFor { $0.contains("EXIT=") }
        #expect(screen.contains("EXIT=0") && screen.contains("legend: ░"), "\(screen)")
        let coloured = try tmux.capture(escapes: true)
        // The best quarter in green, the worst in red (tmux writes the colours back as SGR).
        #expect(coloured.contains("\u{1B}[32m") && coloured.contains("\u{1B}[31m"), "\(coloured)")
    }
}
