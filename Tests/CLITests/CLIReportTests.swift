import Foundation
import TestSupport
import Testing

/// `backtest report` against a real `backtestd`: the file holds the session, every
/// trade and equity point as the API gives them, and the page to draw them, with
/// nothing to fetch. (Tests/DashboardTests opens such a file in Chromium.)
@Suite(.serialized) struct CLIReportTests {
    func cli(_ daemon: DaemonProcess, _ arguments: [String]) async throws -> CLIProcess.Result {
        try await CLIProcess.run(arguments + ["--server", daemon.server])
    }

    /// The report's inlined data: the JSON object in its `report-data` script element.
    static func data(_ html: String) throws -> [String: Any] {
        let open = try #require(html.range(of: #"<script type="application/json" id="report-data">"#))
        let close = try #require(html.range(of: "</script>", range: open.upperBound..<html.endIndex))
        let json = try JSONSerialization.jsonObject(with: Data(html[open.upperBound..<close.lowerBound].utf8))
        return try #require(json as? [String: Any])
    }

    @Test func writesOneSelfContainedFile() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        let csv = Fixtures.writeTemporary(Fixtures.minuteBarsCSV(count: 600), name: "SYN.csv")
        let imported = try await cli(daemon, ["import", csv, "--symbol", "SYN", "--timeframe", "1m"])
        try #require(imported.status == 0, "\(imported)")
        let started = try await cli(
            daemon,
            [
                "start", "--symbol", "SYN", "--timeframe", "1m", "--from", "2024-01-01", "--to", "2024-01-01T10:00:00Z",
                "--strategy", "sma_cross", "--watch", "--json",
            ])
        try #require(started.status == 0, "\(started)")
        let id = try #require(started.jsonLines.first?["sessionId"] as? String, "\(started)")

        let file = URL(fileURLWithPath: Fixtures.writeTemporary("", name: "report.html"))
        let written = try await cli(daemon, ["report", id, "-o", file.path])
        #expect(written.status == 0, "\(written)")
        #expect(written.stdout.contains("wrote \(file.path)"), "\(written)")
        let html = try String(contentsOf: file, encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains(" src=") && !html.contains(" href="), "nothing may be fetched")
        let data = try Self.data(html)
        #expect((data["session"] as? [String: Any])?["sessionId"] as? String == id)
        let trades = try await cli(daemon, ["trades", id, "--json"])
        let points = try await cli(daemon, ["equity", id, "--json"])
        #expect(!trades.lines.isEmpty)
        #expect((data["trades"] as? [Any])?.count == trades.lines.count)
        #expect((data["points"] as? [Any])?.count == points.lines.count)
        // The bars the session ran over, for its price chart and buy and hold.
        let bars = (data["bars"] as? [[String: Any]]) ?? []
        #expect(bars.flatMap { $0["timeUs"] as? [Any] ?? [] }.count == 600, "\(bars.count) batches")

        // To stdout, and --json says what it wrote.
        let piped = try await cli(daemon, ["report", id, "-o", "-"])
        #expect(piped.status == 0 && piped.stdout.hasPrefix("<!doctype html>"), "\(piped.stderr)")
        let json = try await cli(daemon, ["report", id, "-o", file.path, "--json"])
        #expect(json.json["trades"] as? Int == trades.lines.count, "\(json)")
        #expect(json.json["output"] as? String == file.path)
    }

    @Test func unknownSessionWritesNothing() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).html")
        let r = try await cli(daemon, ["report", "00000000-0000-0000-0000-000000000000", "-o", file.path])
        #expect(r.status == 15, "\(r)")
        #expect(r.stderr.contains("NOT_FOUND"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }
}
