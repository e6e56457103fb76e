import Foundation
import Testing

/// The built binary where no server is needed: nothing listening (UNAVAILABLE), a
/// server that never answers (DEADLINE_EXCEEDED), bad arguments, local files.
@Suite struct CLIOfflineTests {
    /// Every command that calls the server, with valid arguments.
    static let serverCommands: [[String]] = [
        ["start", "--symbol", "GOOG", "--timeframe", "1d", "--from", "2004-08-19", "--to", "2013-03-02"],
        ["start", "--symbol", "GOOG", "--timeframe", "1d", "--from", "2004-08-19", "--to", "2013-03-02", "--watch"],
        ["watch", "abc"], ["stop", "abc", "--reason", "r"], ["list"], ["sessions", "--all"], ["show", "abc"],
        ["trades", "abc"], ["equity", "abc", "--csv"], ["data"], ["health"], ["rm", "abc"], ["rm", "--all"],
        ["sweep-rm", "abc"], ["sweep-rm", "--all"],
        ["import", Fixtures.writeTemporary(Fixtures.minuteBarsCSV(count: 5), name: "mini.csv"), "--symbol", "X"],
    ]

    @Test(arguments: serverCommands)
    func unavailableWhenNothingListens(_ command: [String]) async throws {
        let portSocket = try CLIProcess.closedPort()
        defer { portSocket.close() }
        let port = portSocket.port
        let r = try await CLIProcess.run(command + ["--server", "127.0.0.1:\(port)"])
        #expect(r.status == 24, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "backtest: UNAVAILABLE: cannot connect to 127.0.0.1:\(port): Connection refused\n", "\(r)")

        let j = try await CLIProcess.run(
            command.filter { $0 != "--csv" } + ["--server", "127.0.0.1:\(port)", "--json"])
        #expect(j.status == 24, "\(j)")
        #expect(j.stdout.isEmpty, "\(j)")
        #expect(j.error["code"] as? String == "UNAVAILABLE")
        #expect(j.error["grpc_code"] as? Int == 14)
        #expect((j.error["message"] as? String)?.contains("Connection refused") == true, "\(j)")
    }

    @Test func serverFromEnvironment() async throws {
        let portSocket = try CLIProcess.closedPort()
        defer { portSocket.close() }
        let port = portSocket.port
        let r = try await CLIProcess.run(["list"], environment: ["BACKTEST_SERVER": "127.0.0.1:\(port)"])
        #expect(r.status == 24)
        #expect(r.stderr.contains("127.0.0.1:\(port)"), "\(r)")
        // --server wins over the environment.
        let otherSocket = try CLIProcess.closedPort()
        defer { otherSocket.close() }
        let other = otherSocket.port
        let f = try await CLIProcess.run(
            ["list", "--server", "127.0.0.1:\(other)"], environment: ["BACKTEST_SERVER": "127.0.0.1:\(port)"])
        #expect(f.stderr.contains("127.0.0.1:\(other)"), "\(f)")
    }

    @Test func deadlineWhenTheServerNeverAnswers() async throws {
        let silent = try TCPListener()
        silent.acceptSilently()
        defer { silent.close() }
        // The server never answers: without its deadline the command would never exit,
        // so exiting with DEADLINE_EXCEEDED is the proof. How long it took is not
        // checked: starting the process alone took 12 s once with the machine at load 12.
        let r = try await CLIProcess.run(["data", "--server", "127.0.0.1:\(silent.port)", "--timeout", "0.5", "--json"])
        #expect(r.status == 14, "\(r)")
        #expect(r.error["code"] as? String == "DEADLINE_EXCEEDED", "\(r)")
    }

    @Test func usageErrorsExit64BeforeConnecting() async throws {
        let portSocket = try CLIProcess.closedPort()
        defer { portSocket.close() }
        let port = portSocket.port
        let start = ["start", "--symbol", "GOOG", "--timeframe", "1d", "--server", "127.0.0.1:\(port)"]
        let cases: [([String], String)] = [
            (
                start + ["--from", "2004-08-19", "--to", "2013-03-02", "--param", "n1=ten"],
                "--param: n1=ten: 'ten' is not a number"
            ),
            (
                start + ["--from", "2004-08-19", "--to", "2013-03-02", "--param", "n1"],
                "--param: expected NAME=VALUE, got 'n1'"
            ),
            (start + ["--from", "19/08/2004", "--to", "2013-03-02"], "--from: '19/08/2004' is not an ISO 8601 date"),
            (
                start + ["--from", "2004-08-19", "--to", "2013-03-02", "--sizing", "half"],
                "--sizing: unknown mode 'half'"
            ),
            (
                start + ["--from", "2004-08-19", "--to", "2013-03-02", "--strategy", "x", "--strategy-file", "f"],
                "exclude each other"
            ),
            (["sessions", "--status", "done", "--server", "127.0.0.1:\(port)"], "--status: unknown status 'done'"),
            (["trades", "x", "--csv", "--json"], "--csv and --json exclude each other"),
            (["list", "--server", "localhost:99999"], "--server: expected HOST:PORT, got 'localhost:99999'"),
            (["list", "--timeout", "0"], "--timeout: must be a positive number of seconds"),
            (["import", "f.csv", "--symbol", "X", "--kind", "bars"], "--kind: expected candles or ticks, got 'bars'"),
            (["show"], "Missing expected argument '<id>'"),
            (["rm"], "give session ids, filters (--status, --symbol, --label, --older-than) or --all"),
            (["rm", "abc", "--label", "a=b"], "session ids and filters"),
            (["rm", "--status", "gone"], "--status: unknown status 'gone'"),
            (["rm", "--older-than", "soon"], "--older-than: 'soon' is not a duration"),
            (["rm", "--label", "nokey"], "--label: expected NAME=VALUE, got 'nokey'"),
            (["sweep-rm"], "give sweep ids, filters (--status, --symbol, --older-than) or --all"),
            (["sweep-rm", "abc", "--status", "failed"], "sweep ids and filters"),
            (["sweep-rm", "--status", "gone"], "--status: unknown status 'gone'"),
            (["sweep-rm", "--older-than", "soon"], "--older-than: 'soon' is not a duration"),
        ]
        for (args, message) in cases {
            let r = try await CLIProcess.run(args)
            #expect(r.status == 64, "\(args): \(r)")
            #expect(r.stderr.contains(message), "\(args): \(r)")
            #expect(!r.stderr.contains("UNAVAILABLE"), "\(args): \(r)")
        }
    }

    @Test func localErrorsExit1() async throws {
        let portSocket = try CLIProcess.closedPort()
        defer { portSocket.close() }
        let port = portSocket.port
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.txt")
        try "name: x\nentry_long buy: close > 1\nexit_lnog sell: close < 1\n".write(
            to: bad, atomically: true, encoding: .utf8)
        let base = [
            "start", "--symbol", "GOOG", "--timeframe", "1d", "--from", "2004-08-19", "--to", "2013-03-02", "--server",
            "127.0.0.1:\(port)",
        ]
        let r = try await CLIProcess.run(base + ["--strategy-file", bad.path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(bad.path):3: unknown rule kind 'exit_lnog'"), "\(r)")
        let missing = try await CLIProcess.run(
            base + ["--strategy-file", dir.appendingPathComponent("none.json").path, "--json"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.error["code"] as? String == "LOCAL")
        #expect((missing.error["message"] as? String)?.contains("cannot read the strategy file") == true)
        let noFile = try await CLIProcess.run([
            "import", dir.appendingPathComponent("none.csv").path, "--symbol", "X", "--server", "127.0.0.1:\(port)",
        ])
        #expect(noFile.status == 1, "\(noFile)")
        #expect(noFile.stderr.contains("cannot open"), "\(noFile)")
    }

    @Test func helpDocumentsExitCodesAndFormats() async throws {
        let root = try await CLIProcess.run(["--help"])
        #expect(root.status == 0)
        for line in [
            " 13   INVALID_ARGUMENT", " 15   NOT_FOUND", " 24   UNAVAILABLE", " 26   UNAUTHENTICATED",
            "  2   the watched session FAILED",
        ] {
            #expect(root.stdout.contains(line), "\(line)")
        }
        for command in [
            "start", "watch", "stop", "list", "sessions", "show", "trades", "equity", "report", "import", "data",
            "bars",
            "health",
            "rm", "sweep-rm",
        ] {
            let help = try await CLIProcess.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"), "\(command)")
            for global in [
                "--server <host:port>", "--tls", "--ca <file>", "--token <token>", "--timeout <seconds>", "--json",
            ] {
                #expect(help.stdout.contains(global), "\(command) lacks \(global)")
            }
        }
        let start = try await CLIProcess.run(["start", "--help"])
        #expect(start.stdout.contains("entry_long buy: crosses_above(sma(close, $fast), sma(close, $slow))"))
    }

    @Test func encodeRequestCarriesAStrategyFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("cross.json")
        try
            #"{"name": "cross", "params": {"fast": 10}, "stop_loss_pct": 4, "rules": [{"name": "buy", "kind": "entry_long", "expression": "close > sma(close, $fast)"}]}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try await CLIProcess.run([
            "encode-request", "--symbol", "GOOG", "--timeframe", "1d", "--from", "2004-08-19",
            "--to", "2013-03-02", "--strategy-file", file.path, "--sizing", "fraction=0.5",
            "--equity-interval", "5m", "--label", "team=quant", "--leave-open",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("decodes to the same request"))
        #expect(
            r.stdout.contains(
                #"Rule(name: "buy", kind: BacktestProto.RuleKind.entryLong, expression: "close > sma(close, $fast)")"#),
            "\(r)")
        #expect(r.stdout.contains("stopLossPct: 4.0"))
        #expect(r.stdout.contains("Sizing(mode: BacktestProto.SizingMode.equityFraction, value: 0.5"))
        #expect(r.stdout.contains("ProtoDuration(seconds: 300, nanos: 0)"))
        #expect(r.stdout.contains("leaveOpenAtEnd: true"))
    }
}
