import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real `backtestd` process on 127.0.0.1 (a free port) with its own SQLite file.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let port: Int
    let directory: URL
    let databasePath: String
    let logPath: String

    /// The built executables live beside the test bundle.
    static var binDirectory: URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: here.appendingPathComponent("backtestd").path) { return here }
        return Subprocess.packageRoot.appendingPathComponent(".build/debug")
    }

    /// Starts the daemon and waits until it listens. `directory` keeps the database
    /// across restarts when given.
    init(arguments: [String] = [], environment: [String: String] = [:], directory: URL? = nil) async throws {
        let dir = try directory ?? Self.temporaryDirectory()
        self.directory = dir
        databasePath = dir.appendingPathComponent("backtest.db").path
        logPath = dir.appendingPathComponent("backtestd-\(UUID().uuidString.prefix(8)).log").path
        let portFile = dir.appendingPathComponent("port-\(UUID().uuidString)").path
        process.executableURL = Self.binDirectory.appendingPathComponent("backtestd")
        process.arguments = ["--port", "0", "--port-file", portFile, "--store", "sqlite:\(databasePath)"] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("BACKTESTD_") { env[key] = nil }
        process.environment = env.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text) { found = p }
            else { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let found else {
            process.terminate()
            throw DaemonError(message: "backtestd did not start: \(Self.read(logPath))")
        }
        port = found
    }

    var log: String { Self.read(logPath) }

    /// SIGTERM (graceful) or SIGKILL; waits for the exit off the cooperative pool.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("backtestd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    struct DaemonError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
