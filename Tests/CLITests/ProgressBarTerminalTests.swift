import Foundation
import TestSupport
import Testing

/// `backtest start --watch` on a real terminal (tmux's pty) against a real backtestd:
/// the bar is drawn and redrawn in place, then the final statistics; piped, no bar.
@Suite(.serialized) struct ProgressBarTerminalTests {
    func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    func startCommand(_ daemon: DaemonProcess, acceleration: String) -> String {
        let args =
            CLIEndToEndTests.smaCross + [
                "--watch", "--acceleration", acceleration, "--interval", "100ms", "--server", daemon.server,
            ]
        return "env -u NO_COLOR TERM=xterm-256color " + ([CLIProcess.cli] + args).map(shellQuote).joined(separator: " ")
    }

    func importBars(_ d: DaemonProcess) async throws {
        let r = try await CLIProcess.run([
            "import", CLIEndToEndTests.csvPath, "--symbol", "SYN", "--timeframe", "1m", "--server", d.server,
        ])
        #expect(r.status == 0, "\(r)")
    }

    @Test func liveBarOnATerminal() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        try await importBars(daemon)
        // Ten simulated hours at 7200x: about five seconds to watch.
        let tmux = try Tmux(command: startCommand(daemon, acceleration: "7200"))
        defer { tmux.close() }

        // Mid-run: the bar with its fields, below the "session ... started" line.
        let running = try await tmux.waitFor { screen in
            screen.contains("▕") && screen.contains("%  2024-01-01 ") && !screen.contains("100.0%")
                && !screen.contains("EXIT=")
        }
        let barLine = try #require(
            running.split(separator: "\n").first { $0.contains("▕") }.map(String.init), "\(running)")
        #expect(barLine.contains("2024-01-01 "), "\(barLine)")
        #expect(barLine.contains("P&L "), "\(barLine)")
        #expect(barLine.contains("trades "), "\(barLine)")
        let pct = barLine.split(separator: " ").first { $0.hasSuffix("%") }.flatMap { Double($0.dropLast()) }
        #expect(pct.map { $0 < 100 } == true, "\(barLine)")

        // The end: the bar at 100% drawn once (redrawn in place, not scrolled), the
        // terminal line, the statistics, exit 0.
        let done = try await tmux.waitFor { $0.contains("EXIT=") }
        let lines = done.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.contains("▕") }.count == 1, "\(done)")
        #expect(lines.first { $0.contains("▕") }?.contains("100.0%") == true, "\(done)")
        #expect(done.contains("completed: equity "), "\(done)")
        #expect(done.contains("Return [%]"), "\(done)")
        #expect(done.contains("Sharpe Ratio"), "\(done)")
        #expect(done.contains("EXIT=0"), "\(done)")
    }

    @Test func noBarWhenPiped() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        try await importBars(daemon)
        let tmux = try Tmux(command: startCommand(daemon, acceleration: "36000") + " | cat")
        defer { tmux.close() }
        let done = try await tmux.waitFor { $0.contains("EXIT=") }
        #expect(!done.contains("▕"), "\(done)")
        #expect(!done.contains("%  2024-"), "\(done)")
        #expect(done.contains("completed: equity "), "\(done)")
        #expect(done.contains("Return [%]"), "\(done)")
        #expect(done.contains("EXIT=0"), "\(done)")
    }
}
