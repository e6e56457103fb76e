import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `backtestd` on 127.0.0.1, on a free port, with a SQLite file of its own:
/// what the CLI talks to in the end-to-end tests.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let directory: URL
    let logPath: String

    var server: String { "127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    init(arguments: [String] = []) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logPath = directory.appendingPathComponent("backtestd.log").path
        let portFile = directory.appendingPathComponent("port").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: CLIProcess.daemon)
        process.arguments = ["--port", "0", "--port-file", portFile,
                             "--store", "sqlite:" + directory.appendingPathComponent("backtest.db").path] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("BACKTESTD_") { env[key] = nil }
        process.environment = env
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var found: Int?
        let deadline = ContinuousClock.now + .seconds(60)
        while found == nil, ContinuousClock.now < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                found = p
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw CLIProcess.Failure("backtestd did not start:\n\((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        port = found
    }

    /// SIGTERM and a blocking wait: for `defer`, where nothing can be awaited.
    func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGTERM, and the wait for the exit on a thread of its own.
    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.process.waitUntilExit()
                try? FileManager.default.removeItem(at: self.directory)
                c.resume()
            }
        }
    }
}
