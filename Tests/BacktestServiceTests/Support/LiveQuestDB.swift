import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real QuestDB of the test's own, started, stopped, killed and restarted through
/// the script named by QUESTDB_SH (a `questdb.sh start|stop DIR` that prints
/// QUESTDB_HTTP and QUESTDB_PG; CI sets it). Each start picks new free ports: tests
/// put a QuestDBRelay in front so backtestd keeps one address across restarts.
final class LiveQuestDB: @unchecked Sendable {
    static let script = ProcessInfo.processInfo.environment["QUESTDB_SH"].flatMap { $0.isEmpty ? nil : $0 }

    let directory: URL
    private(set) var http = ""
    private(set) var pg = ""
    private let extraConfiguration: String

    /// `configuration`: extra server.conf lines (QUESTDB_CONF).
    init(configuration: String = "") async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "questdb-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        extraConfiguration = configuration
        try await start()
    }

    var httpPort: Int { Int(http.split(separator: ":").last ?? "") ?? 0 }
    var pgPort: Int { Int(pg.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 0 }

    func start() async throws {
        let out = try await Subprocess.run(
            "/bin/bash", [Self.script!, "start", directory.path], environment: ["QUESTDB_CONF": extraConfiguration])
        for line in out.text.split(separator: "\n") {
            if line.hasPrefix("export QUESTDB_HTTP=") { http = String(line.dropFirst("export QUESTDB_HTTP=".count)) }
            if line.hasPrefix("export QUESTDB_PG=") { pg = String(line.dropFirst("export QUESTDB_PG=".count)) }
        }
        guard out.status == 0, !http.isEmpty, !pg.isEmpty else {
            throw DaemonProcess.Failure(description: "QuestDB did not start: \(out.text)")
        }
    }

    /// A graceful stop (SIGTERM, as an operator's restart).
    func stop() async throws {
        _ = try await Subprocess.run("/bin/bash", [Self.script!, "stop", directory.path])
    }

    /// SIGKILL, then waits until the process is gone.
    func kill() async throws {
        let pidFile = directory.appendingPathComponent("pid").path
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return }
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<500 where Glibc.kill(pid, 0) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Kills it (SIGKILL) and removes its data, at once: for a test's `defer`, where a
    /// `Task { await remove() }` may never run before the test process exits (each such
    /// test left a QuestDB with a 1 GB heap running).
    func removeNow() {
        let pidFile = directory.appendingPathComponent("pid").path
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            Glibc.kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops it and removes its data.
    func remove() async {
        try? await stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Clients/questdb_proxy.py: fixed addresses in front of a LiveQuestDB that may move,
/// and answers to ILP writes that can be lost after QuestDB committed them.
final class QuestDBRelay: @unchecked Sendable {
    let directory: URL
    let process = Process()
    let httpPort: Int
    let pgPort: Int

    var http: String { "http://127.0.0.1:\(httpPort)" }
    var pg: String { "postgresql://admin:quest@127.0.0.1:\(pgPort)/qdb" }

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "questdb-relay-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: Subprocess.python)
        process.arguments = [
            Subprocess.packageRoot.appendingPathComponent("Tests/BacktestServiceTests/Clients/questdb_proxy.py").path,
            directory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runSafely()
        var ports: [String: Int]?
        for _ in 0..<1500 where ports == nil {
            if let data = FileManager.default.contents(atPath: directory.appendingPathComponent("ports.json").path) {
                ports = try JSONSerialization.jsonObject(with: data) as? [String: Int]
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let ports, let h = ports["http"], let p = ports["pg"] else {
            process.terminate()
            throw DaemonProcess.Failure(description: "the QuestDB relay did not start")
        }
        httpPort = h
        pgPort = p
    }

    /// New connections go to `questdb`; open ones are cut.
    func point(at questdb: LiveQuestDB) throws {
        try write("target.json", "{\"http\": \(questdb.httpPort), \"pg\": \(questdb.pgPort)}")
    }

    /// Every connection is refused, as by a QuestDB that is down.
    func cut() {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("target.json"))
    }

    /// The next `count` answers to ILP writes are lost after QuestDB committed them.
    func dropAnswers(_ count: Int) throws { try write("drop-answers", String(count)) }

    var dropped: Int {
        Int(
            (try? String(contentsOf: directory.appendingPathComponent("dropped"), encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    private func write(_ name: String, _ text: String) throws {
        let tmp = directory.appendingPathComponent(name + ".tmp")
        try text.write(to: tmp, atomically: false, encoding: .utf8)
        _ = Glibc.rename(tmp.path, directory.appendingPathComponent(name).path)
    }

    func stop() {
        // SIGKILL, not terminate(): a child started from a thread that blocks signals
        // (as the test process's do) inherits the mask, and ignored SIGTERM, so every
        // fault test left its relay running.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
