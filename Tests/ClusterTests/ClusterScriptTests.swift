import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// tools/cluster.sh as users run it: start prints the addresses, a call through the
/// balancer is answered, status sees every part, stop leaves no process behind.
struct ClusterScriptTests {
    static let script = Subprocess.packageRoot.appendingPathComponent("tools/cluster.sh").path
    static let buf = Subprocess.packageRoot.appendingPathComponent(".venv/bin/buf").path

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Subprocess.Output {
        try await Subprocess.run(
            "/bin/bash", [script] + arguments,
            environment: ["BACKTESTD_BIN": DaemonProcess.executable].merging(environment) { $1 })
    }

    /// `export NAME=VALUE` lines.
    static func exports(_ text: String) -> [String: String] {
        var found: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { found[String(pair[0])] = String(pair[1]) }
        }
        return found
    }

    /// Running, and not a zombie waiting for its parent.
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    static func healthCheck(_ address: String) async throws -> Subprocess.Output {
        try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", "{}",
                "http://\(address)/grpc.health.v1.Health/Check",
            ])
    }

    @Test(.enabled(if: LocalCluster.unavailable == nil, "\(LocalCluster.unavailable ?? "")"))
    func startStatusAndStop() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer {
            _ = try? Subprocess.runBlocking("/bin/bash", [Self.script, "stop", dir.path])
            try? FileManager.default.removeItem(at: dir)
        }
        let name = "script-\(UUID().uuidString.prefix(8).lowercased())"
        let start = try await Self.run(["start", dir.path, "--nodes", "2", "--slots", "1", "--name", name])
        #expect(start.status == 0, "\(start.text)")
        let exports = Self.exports(start.text)
        let lb = try #require(exports["CLUSTER_LB"], "\(start.text)")
        #expect(exports["BACKTEST_SERVER"] == lb)
        let nodes = try [1, 2].map { try #require(exports["CLUSTER_NODE_\($0)"], "\(start.text)") }
        #expect(exports["CLUSTER_NODES"] == "'\(nodes.joined(separator: " "))'")
        #expect(exports["CLUSTER_REDIS"]?.hasPrefix("redis://127.0.0.1:") == true)

        // grpcio's neighbour buf curl, through the balancer and to each node.
        for address in [lb] + nodes {
            let health = try await Self.healthCheck(address)
            #expect(health.status == 0 && health.text.contains("\"status\": \"SERVING\""), "\(address): \(health.text)")
        }
        for (index, node) in nodes.enumerated() {
            let log = try String(
                contentsOf: dir.appendingPathComponent("node-\(index + 1)/backtestd.log"), encoding: .utf8)
            #expect(log.contains("listening on \(node)") && log.contains("node \(name)-\(index + 1)"), "\(log)")
        }

        let status = try await Self.run(["status", dir.path])
        #expect(status.status == 0, "\(status.text)")
        let lines = status.text.split(separator: "\n")
        for part in ["haproxy", "node-1", "node-2"] {
            #expect(lines.contains { $0.hasPrefix(part + " ") && $0.hasSuffix("SERVING") }, "\(status.text)")
        }
        #expect(lines.contains { $0.hasPrefix("redis ") && $0.hasSuffix("PONG") }, "\(status.text)")
        #expect(lines.filter { $0.hasPrefix("lb sees") && $0.hasSuffix(" UP") }.count == 2, "\(status.text)")

        let pids = try ["haproxy", "node-1", "node-2", "redis"].map { part in
            try #require(
                Int32(
                    String(contentsOf: dir.appendingPathComponent("\(part)/pid"), encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        #expect(pids.allSatisfy(Self.alive))
        let stop = try await Self.run(["stop", dir.path])
        #expect(stop.status == 0, "\(stop.text)")
        #expect(pids.filter(Self.alive).isEmpty, "still running after stop: \(pids.filter(Self.alive))")
        let after = try await Self.run(["status", dir.path])
        #expect(after.status == 3 && after.text.contains("not running"), "\(after.text)")
        let again = try await Self.run(["stop", dir.path])
        #expect(again.status == 0, "stop is idempotent: \(again.text)")
    }

    /// Needs nothing but bash: it stops before starting anything.
    @Test func startWithoutQuestDBSaysSoAndStartsNothing() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let start = try await Self.run(["start", dir.path], environment: ["QUESTDB_HTTP": "", "QUESTDB_PG": ""])
        #expect(start.status == 1 && start.text.contains("QUESTDB_HTTP and QUESTDB_PG"), "\(start.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
