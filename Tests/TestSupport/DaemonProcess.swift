import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `backtestd` on 127.0.0.1 (a free port) with a SQLite file of its own, for
/// the tests that talk to the server as its users do.
public final class DaemonProcess: @unchecked Sendable {
    public let process = Process()
    public let port: Int
    public let directory: URL
    public let databasePath: String
    public let logPath: String
    /// A directory made here is removed when the daemon stops; one given is the caller's.
    let ownsDirectory: Bool

    public var server: String { "127.0.0.1:\(port)" }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The build's bin directory: where this test bundle lives (`.build/debug`), or
    /// BACKTEST_BIN_DIR.
    public static let binDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["BACKTEST_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the runner is the .xctest file itself; elsewhere it sits inside a bundle.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("backtestd").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir
    }()

    public static var executable: String { binDirectory.appendingPathComponent("backtestd").path }

    /// Starts the daemon and waits until it listens. Give `directory` to keep the
    /// database across restarts.
    public init(arguments: [String] = [], environment: [String: String] = [:], directory: URL? = nil) async throws {
        let dir = try directory ?? Self.temporaryDirectory()
        self.directory = dir
        ownsDirectory = directory == nil
        databasePath = dir.appendingPathComponent("backtest.db").path
        logPath = dir.appendingPathComponent("backtestd-\(UUID().uuidString.prefix(8)).log").path
        let portFile = dir.appendingPathComponent("port-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--port", "0", "--port-file", portFile, "--store", "sqlite:\(databasePath)"] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("BACKTESTD_") { env[key] = nil }
        // A QuestDB daemon's spool lives with the daemon, not in the user's state directory.
        env["BACKTESTD_QUESTDB_SPOOL"] = dir.appendingPathComponent("questdb-spool").path
        process.environment = env.merging(environment) { $1 }
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.runSafely()
        Self.track(process.processIdentifier, ownsDirectory ? dir : nil)
        var found: Int?
        let deadline = ContinuousClock.now + .seconds(60)
        while found == nil, ContinuousClock.now < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                found = p
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw Failure(
                description:
                    "backtestd did not start:\n\((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        port = found
    }

    /// Set once a test has asked it to end: an exit after that is not a crash.
    private let endAsked = Mutex(false)

    /// Why it ended when nobody asked it to (a crash, a trap, an exit on its own), with
    /// the end of its log; nil while it runs or once it was told to stop.
    public var unaskedExit: String? {
        guard !endAsked.withLock({ $0 }), !process.isRunning else { return nil }
        let how =
            process.terminationReason == .uncaughtSignal
            ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
        return
            "backtestd (pid \(process.processIdentifier), port \(port)) \(how); the end of its log:\n\(log.lastLines(40))"
    }

    /// SIGTERM (graceful) or SIGKILL; the wait for the exit runs on a thread of its own.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) async -> Int32 {
        endAsked.withLock { $0 = true }
        if process.isRunning { kill(process.processIdentifier, signal) }
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.waitForExit()) }
        }
    }

    /// Sends `signal` and returns at once (SIGSTOP and SIGCONT freeze and thaw it).
    public func send(_ signal: Int32) {
        if signal == SIGTERM || signal == SIGKILL || signal == SIGINT { endAsked.withLock { $0 = true } }
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Removes the directory if this daemon made it.
    func cleanUp() {
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// SIGTERM, for `defer` where nothing can be awaited: the wait (and the removal of
    /// the directory) happens on a thread of its own, so no test thread blocks on it.
    public func terminate() {
        endAsked.withLock { $0 = true }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        Thread.detachNewThread { _ = self.waitForExit() }
    }

    /// The exit status; a daemon that does not exit within 30 s is killed. Its
    /// directory goes with it when it was made here.
    func waitForExit() -> Int32 {
        defer {
            Self.untrack(process.processIdentifier)
            cleanUp()
        }
        return ProcessExit.wait(process, killAfter: 30)
    }

    // Daemons still running when the test process exits (a shared one, a failed test)
    // are killed then, not left behind, and the directories made for them removed.
    private static let running = Mutex<[Int32: URL?]>([:])
    private static let killAtExit: Void = {
        atexit {
            for (pid, directory) in DaemonProcess.running.withLock({ $0 }) {
                kill(pid, SIGKILL)
                if let directory { try? FileManager.default.removeItem(at: directory) }
            }
        }
    }()

    static func track(_ pid: Int32, _ ownedDirectory: URL?) {
        _ = killAtExit
        running.withLock { $0[pid] = ownedDirectory }
    }

    static func untrack(_ pid: Int32) {
        _ = running.withLock { $0.removeValue(forKey: pid) }
    }

    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("backtestd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }
}
