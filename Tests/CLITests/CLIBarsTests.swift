import Foundation
import TestSupport
import Testing

/// `backtest bars` against a real `backtestd`: a series printed, and its CSV read back
/// by `backtest import` as the same rows (a copy of the data through the API).
@Suite struct CLIBarsTests {
    func cli(_ daemon: DaemonProcess, _ arguments: [String]) async throws -> CLIProcess.Result {
        try await CLIProcess.run(arguments + ["--server", daemon.server])
    }

    @Test func csvOutputImportsBackAsTheSameRows() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        let csv = Fixtures.writeTemporary(Fixtures.minuteBarsCSV(count: 300), name: "SYN.csv")
        let imported = try await cli(daemon, ["import", csv, "--symbol", "SYN", "--timeframe", "1m"])
        try #require(imported.status == 0, "\(imported)")

        let table = try await cli(daemon, ["bars", "SYN", "--timeframe", "1m"])
        #expect(table.status == 0 && table.stdout.contains("300 candles"), "\(table)")
        let exported = try await cli(daemon, ["bars", "SYN", "--timeframe", "1m", "--csv"])
        #expect(exported.lines.first == "Time,Open,High,Low,Close,Volume", "\(exported.lines.prefix(2))")
        #expect(exported.lines.count == 301)
        let copy = Fixtures.writeTemporary(exported.stdout, name: "copy.csv")
        let reimported = try await cli(daemon, ["import", copy, "--symbol", "COPY", "--timeframe", "1m"])
        #expect(reimported.status == 0, "\(reimported)")
        let original = try await cli(daemon, ["bars", "SYN", "--timeframe", "1m", "--json"])
        let copied = try await cli(daemon, ["bars", "COPY", "--timeframe", "1m", "--json"])
        #expect(!original.lines.isEmpty && original.lines == copied.lines, "the same rows, bit for bit")

        // A window, and errors as the server words them.
        let window = try await cli(
            daemon,
            ["bars", "SYN", "--timeframe", "1m", "--from", "2024-01-01T01:00:00Z", "--to", "2024-01-01T02:00:00Z"])
        #expect(window.stdout.contains("60 candles"), "\(window)")
        let missing = try await cli(daemon, ["bars", "NOPE", "--timeframe", "1m"])
        #expect(missing.status != 0 && missing.stderr.contains("NOT_FOUND"), "\(missing)")
        let both = try await cli(daemon, ["bars", "SYN", "--ticks", "--timeframe", "1m"])
        #expect(both.status != 0 && both.stderr.contains("--ticks takes no --timeframe"), "\(both)")
    }
}
