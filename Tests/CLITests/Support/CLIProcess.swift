import Foundation
import TestSupport

/// Runs the built `backtest` binary (and finds `backtestd`) the way a user does:
/// a real process, arguments, environment, stdout and stderr kept apart, exit code.
enum CLIProcess {
    /// Built beside `backtestd` (TestSupport finds the build's bin directory).
    static var cli: String { DaemonProcess.binDirectory.appendingPathComponent("backtest").path }

    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// stdout as one JSON object.
        var json: [String: Any] { Self.object(stdout) }
        /// stdout as JSON lines.
        var jsonLines: [[String: Any]] { lines.map(Self.object) }
        /// stderr's JSON error object (with --json).
        var error: [String: Any] { Self.object(stderr)["error"] as? [String: Any] ?? [:] }

        static func object(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// Runs `backtest` with these arguments. NO_COLOR and a fixed width keep the text
    /// stable; `environment` adds to (or overrides) the inherited one.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(cli, arguments, environment: environment) })
            }
        }
    }

    static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Result
    {
        // Both streams go to files, not pipes: reading two pipes from one thread can
        // deadlock, and a daemon the command leaves behind (tmux's server) would hold a
        // pipe open forever.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let process = Process()
        var env = ProcessInfo.processInfo.environment
        env["BACKTEST_SERVER"] = nil
        env["BACKTEST_TOKEN"] = nil
        env["COLUMNS"] = "120"
        env.merge(environment) { $1 }
        env["OUTFILE"] = outURL.path
        env["ERRFILE"] = errURL.path
        process.environment = env
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.currentDirectoryURL = Subprocess.packageRoot
        process.arguments =
            ["-c", "exec \"$0\" \"$@\" >\"$OUTFILE\" 2>\"$ERRFILE\" </dev/null", executable] + arguments
        try process.runSafely()
        let status = ProcessExit.wait(process, killAfter: 600)
        let out = (try? Data(contentsOf: outURL)) ?? Data()
        let err = (try? Data(contentsOf: errURL)) ?? Data()
        return Result(
            status: status, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// A port on 127.0.0.1 where connections are refused, held (bound, not listening)
    /// until closed: a port freed at once could be taken by another server of the tests.
    static func closedPort() throws -> TCPListener {
        try TCPListener(listening: false)
    }
}
