import Foundation
import TestSupport
import Testing

/// The dashboard and the report in a real browser (headless Chromium) against a real
/// backtestd on the GOOG sample: what a user sees, checked against the API.
@Suite(.serialized) struct DashboardBrowserTests {
    /// The CLI beside backtestd, reaching the daemon as the browser does.
    struct CLI {
        let server: String
        let tlsArguments: [String]

        func run(_ arguments: [String]) async throws -> Subprocess.Output {
            let cli = DaemonProcess.binDirectory.appendingPathComponent("backtest").path
            return try await Subprocess.run(cli, arguments + ["--server", server] + tlsArguments)
        }
    }

    /// A daemon with the GOOG sample imported; with TLS, on a certificate made here for
    /// 127.0.0.1. Its directory goes when the caller removes it.
    static func daemon(tls: Bool) async throws -> (DaemonProcess, CLI, URL) {
        let dir = try DaemonProcess.temporaryDirectory()
        var arguments: [String] = []
        var tlsArguments: [String] = []
        if tls {
            let cert = dir.appendingPathComponent("cert.pem").path
            let key = dir.appendingPathComponent("key.pem").path
            let made = try await Subprocess.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            try #require(made.status == 0, "\(made.text)")
            arguments = ["--tls-cert", cert, "--tls-key", key]
            tlsArguments = ["--ca", cert]
        }
        let daemon = try await DaemonProcess(arguments: arguments)
        let cli = CLI(server: daemon.server, tlsArguments: tlsArguments)
        let imported = try await cli.run([
            "import", Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path, "--symbol", "GOOG",
            "--timeframe", "1d",
        ])
        try #require(imported.status == 0, "\(imported.text)")
        return (daemon, cli, dir)
    }

    @Test(.enabled(if: Browser.missing == nil, Browser.skipReason), .timeLimit(.minutes(15)))
    func dashboardAndReportInChromium() async throws {
        let (daemon, cli, dir) = try await Self.daemon(tls: false)
        defer {
            daemon.terminate()
            try? FileManager.default.removeItem(at: dir)
        }
        print("DashboardBrowserTests: screenshots in \(Browser.artifacts.path)")

        // The page: start, watch, stop, open, filter.
        let (page, pageOutput) = try await Browser.run("dashboard", "http://\(daemon.server)/")
        try #require(!page.isEmpty, "the browser script failed:\n\(pageOutput)\n\(daemon.log)")
        #expect(page["title"] as? String == "Backtests")
        #expect(page["series"] as? Int == 1)
        #expect(page["chart_library"] as? Bool == true, "built without libjs-dygraphs")
        // As the CLI prints them (Format.swift), NaN an em dash.
        #expect(
            page["formats"] as? [String] == [
                "\u{2014}", "1,234,567.89", "0.00", "+70,964.98", "-1,234.50", "3d 04h", "0.25s", "2004-08-19",
                "2024-01-01 09:30:05", "12.3k", "94",
            ])
        // The server's rule error, with a caret under position 22 of the rule text.
        #expect((page["rule_error"] as? String)?.contains(#"rule "entry_long" at 22"#) == true)
        #expect(
            page["rule_error_caret"] as? String == "close > sma(close, 10\n" + String(repeating: " ", count: 21) + "^")
        #expect(page["rule_error_invalid"] as? String == "true")
        // Progress moved over WatchProgress (the speed only comes from its events).
        let seen = page["progress_seen"] as? [Double] ?? []
        #expect(seen.count == 2 && seen[1] > seen[0] && seen[0] > 0)
        #expect((page["speed_text"] as? String)?.hasSuffix("/s") == true)
        let stoppedAt = page["stopped_progress"] as? Double ?? 0
        #expect(stoppedAt > 0 && stoppedAt < 100)
        for chart in ["equity-chart", "drawdown-chart", "price-chart"] {
            #expect((page[chart] as? Int ?? 0) >= 1, "\(chart) has no canvas")
        }
        // Drawn from the bars the session ran over (GetMarketData): the price band and
        // buy and hold's curve beside the equity.
        #expect(page["price-chart-series"] as? String == "close (high-low)|entry|exit", "\(page)")
        #expect(page["equity-chart-series"] as? String == "equity|buy & hold", "\(page)")
        #expect(page["filtered_statuses"] as? [String] == ["COMPLETED"])
        // The only error the page logs is the refused start of the bad rule (HTTP 400).
        let errors = (page["console_errors"] as? [String] ?? []).filter { !$0.contains("StartBacktest") }
        #expect(errors.isEmpty, "console: \(errors)")

        // The trade list and statistics agree with GetTrades and GetSession.
        let completed = try #require(page["completed"] as? String)
        let trades = try await cli.run(["trades", completed, "--json"])
        try #require(trades.status == 0, "\(trades.text)")
        let count = trades.text.split(separator: "\n").count
        #expect(count > 0)
        #expect(page["trades"] as? Int == count)
        #expect(page["trade_rows"] as? Int == count)
        #expect(page["stats_trades"] as? String == String(count))
        let show = try await cli.run(["show", completed, "--json"])
        let session = (try? JSONSerialization.jsonObject(with: Data(show.text.utf8))) as? [String: Any]
        let statistics = (session?["session"] as? [String: Any])?["statistics"] as? [String: Any]
        let pnl = try #require(statistics?["finalPnl"] as? Double)
        #expect(page["pnl_text"] as? String == Self.signedMoney(pnl))
        let paced = try #require(page["paced"] as? String)
        let pacedShow = try await cli.run(["show", paced, "--json"])
        #expect(pacedShow.text.contains("SESSION_STATUS_STOPPED"))

        // Without the chart library (blocked): the page says so and the tables remain.
        let (bare, bareOutput) = try await Browser.run("nocharts", "http://\(daemon.server)/")
        try #require(!bare.isEmpty, "the browser script failed:\n\(bareOutput)")
        #expect((bare["notice"] as? String)?.contains("chart library is missing") == true, "\(bare)")
        #expect((bare["missing"] as? [String])?.first?.contains("libjs-dygraphs") == true, "\(bare)")
        #expect(bare["trades"] as? Int == count)

        // The report, opened from disk: same charts and trades, nothing fetched.
        let file = Browser.artifacts.appendingPathComponent("report.html").path
        let written = try await cli.run(["report", completed, "-o", file])
        try #require(written.status == 0, "\(written.text)")
        daemon.terminate()  // the file needs no server
        let (report, reportOutput) = try await Browser.run("report", file)
        try #require(!report.isEmpty, "the browser script failed:\n\(reportOutput)")
        #expect(report["trades"] as? Int == count)
        for chart in ["equity-chart", "drawdown-chart", "price-chart"] {
            #expect((report[chart] as? Int ?? 0) >= 1, "report: \(chart) has no canvas")
        }
        #expect(report["price-chart-series"] as? String == "close (high-low)|entry|exit", "\(report)")
        #expect((report["console_errors"] as? [String])?.isEmpty == true, "report console: \(report)")
    }

    /// The same page over TLS (HTTP/2 by ALPN): it loads and reads the API.
    @Test(.enabled(if: Browser.missing == nil, Browser.skipReason), .timeLimit(.minutes(5)))
    func dashboardOverTLS() async throws {
        let (daemon, _, dir) = try await Self.daemon(tls: true)
        defer {
            daemon.terminate()
            try? FileManager.default.removeItem(at: dir)
        }
        let (page, output) = try await Browser.run("smoke", "https://\(daemon.server)/")
        try #require(!page.isEmpty, "the browser script failed:\n\(output)\n\(daemon.log)")
        #expect(page["series"] as? Int == 1)
        #expect(page["chart_library"] as? Bool == true)
        #expect((page["console_errors"] as? [String])?.isEmpty == true, "console: \(page)")
    }

    /// With --token every call needs it (the page itself does not): the page says it
    /// was refused, and works once the token is typed in, which it keeps.
    @Test(.enabled(if: Browser.missing == nil, Browser.skipReason), .timeLimit(.minutes(5)))
    func bearerTokenFromThePage() async throws {
        let daemon = try await DaemonProcess(arguments: ["--token", "s3cret-token"])
        defer { daemon.terminate() }
        let (page, output) = try await Browser.run(
            "token", "http://\(daemon.server)/", environment: ["DASHBOARD_TOKEN": "s3cret-token"])
        try #require(!page.isEmpty, "the browser script failed:\n\(output)\n\(daemon.log)")
        #expect((page["refused"] as? String)?.hasPrefix("unauthenticated:") == true, "\(page)")
        #expect((page["refused"] as? String)?.contains("set the bearer token above") == true, "\(page)")
        #expect(page["series"] as? Int == 1, "no market data: the page lists the placeholder")
        #expect(page["notice_after"] as? String == "", "the refusal is gone once the token works")
        #expect(page["kept"] as? Bool == true)
    }

    /// `+70,964.98`: the CLI's Format.signed, which the page mirrors.
    static func signedMoney(_ x: Double) -> String {
        let text = String(format: "%.2f", abs(x))
        let parts = text.split(separator: ".")
        var grouped = ""
        for (i, ch) in parts[0].enumerated() {
            if i > 0 && (parts[0].count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(ch)
        }
        return (x < 0 ? "-" : x > 0 ? "+" : "") + grouped + "." + parts[1]
    }
}
