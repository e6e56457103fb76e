import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shape `tools/cluster.sh` starts, for Swift tests: a real redis-server (the
/// broker), N real backtestd nodes on one live QuestDB (QUESTDB_HTTP / QUESTDB_PG) and
/// HAProxy in front, all on 127.0.0.1. Nodes can be killed and restarted on their port,
/// Redis restarted on its port; everything stops with `stop`, `terminate` or deinit.
public final class LocalCluster: @unchecked Sendable {
    /// Why a cluster cannot start here, or nil when it can.
    public static var unavailable: String? {
        let env = ProcessInfo.processInfo.environment
        if (env["QUESTDB_HTTP"] ?? "").isEmpty || (env["QUESTDB_PG"] ?? "").isEmpty {
            return "QUESTDB_HTTP / QUESTDB_PG are unset: cluster tests skipped (the nodes share a live QuestDB)"
        }
        return RedisServer.unavailable ?? HAProxy.unavailable
    }

    /// What a node's extra arguments may depend on.
    public struct Node: Sendable {
        /// 0-based; the node's id is `NAME-(index + 1)`, as cluster.sh's node-1..N.
        public let index: Int
        public let id: String
        /// The broker's address for `--broker`: redis://127.0.0.1:PORT.
        public let broker: String
    }

    public let directory: URL
    public let redis: RedisServer
    public let balancer: HAProxy
    /// Each node's full arguments (the port aside), for restarts.
    private let arguments: [[String]]
    private let daemons: Mutex<[DaemonProcess]>
    private let stopped = Mutex(false)

    /// The address clients use: the load balancer's port.
    public var lbPort: Int { balancer.port }
    public var redisPort: Int { redis.port }
    public var nodeCount: Int { arguments.count }
    /// The node as it runs now (a restart replaces it).
    public func node(_ index: Int) -> DaemonProcess { daemons.withLock { $0[index] } }
    public func nodePort(_ index: Int) -> Int { node(index).port }
    public var nodePorts: [Int] { daemons.withLock { $0.map(\.port) } }
    public func nodeID(_ index: Int) -> String { "\(name)-\(index + 1)" }
    /// Node ids are NAME-1..N: unique per cluster by default, since start-up recovery
    /// acts on every session of its own id in the shared QuestDB.
    public let name: String

    /// `slots`: each node's --max-running. `arguments`: extra arguments per node (the
    /// broker flag, for one).
    public init(
        nodes count: Int = 3, slots: Int? = nil, name: String = "cluster-\(UUID().uuidString.prefix(8).lowercased())",
        arguments extra: @Sendable (Node) -> [String] = { _ in [] }
    ) async throws {
        let env = ProcessInfo.processInfo.environment
        guard let http = env["QUESTDB_HTTP"], let pg = env["QUESTDB_PG"], !http.isEmpty, !pg.isEmpty else {
            throw DaemonProcess.Failure(description: LocalCluster.unavailable ?? "no QuestDB")
        }
        self.name = name
        directory = try DaemonProcess.temporaryDirectory()
        let directory = directory
        var started: [DaemonProcess] = []
        var redis: RedisServer?
        do {
            let broker = try await RedisServer()
            redis = broker
            let arguments = (0..<count).map { index in
                let node = Node(index: index, id: "\(name)-\(index + 1)", broker: "redis://127.0.0.1:\(broker.port)")
                return ["--store", "questdb", "--questdb-http", http, "--questdb-pg", pg, "--node-id", node.id]
                    + (slots.map { ["--max-running", "\($0)"] } ?? []) + extra(node)
            }
            // The nodes start together (each takes a second or more on a busy machine).
            started = try await withThrowingTaskGroup(of: (Int, DaemonProcess).self) { group in
                for (index, args) in arguments.enumerated() {
                    group.addTask {
                        (
                            index,
                            try await DaemonProcess(
                                arguments: args, directory: LocalCluster.nodeDirectory(directory, index))
                        )
                    }
                }
                // Every start is waited for, so that none that succeeds after one failed is left running.
                var byIndex: [Int: DaemonProcess] = [:]
                var failure: (any Error)?
                while let result = await group.nextResult() {
                    switch result {
                    case .success(let (index, daemon)): byIndex[index] = daemon
                    case .failure(let error): failure = failure ?? error
                    }
                }
                if let failure {
                    for daemon in byIndex.values { await daemon.stop(signal: SIGKILL) }
                    throw failure
                }
                return (0..<count).map { byIndex[$0]! }
            }
            balancer = try await HAProxy(
                nodes: started.map(\.port), directory: directory.appendingPathComponent("haproxy"))
            self.redis = broker
            self.arguments = arguments
            daemons = Mutex(started)
        } catch {
            for daemon in started { await daemon.stop(signal: SIGKILL) }
            redis?.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    static func nodeDirectory(_ directory: URL, _ index: Int) throws -> URL {
        let url = directory.appendingPathComponent("node-\(index + 1)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Stops a node (SIGTERM: it drains; SIGKILL: lost without goodbye) and returns its
    /// exit status. Its port stays its own for `restartNode`.
    @discardableResult
    public func stopNode(_ index: Int, signal: Int32 = SIGTERM) async -> Int32 {
        await node(index).stop(signal: signal)
    }

    /// SIGKILL: a node lost.
    public func killNode(_ index: Int) async { await stopNode(index, signal: SIGKILL) }

    /// Starts the node again (stopping it first if it runs) with its id, arguments,
    /// directory (its spool) and port, so the load balancer finds it where it was.
    public func restartNode(_ index: Int) async throws {
        let old = node(index)
        if old.process.isRunning { await old.stop() }
        let daemon = try await DaemonProcess(
            arguments: arguments[index] + ["--port", "\(old.port)"],
            directory: Self.nodeDirectory(directory, index))
        daemons.withLock { $0[index] = daemon }
    }

    /// Each node that ended without being told to (a crash), described with its log's
    /// end: as they are now, or as they were when the cluster was stopped.
    public var unaskedExits: [String] { stoppedWith.withLock { $0 } ?? liveUnaskedExits }
    private let stoppedWith = Mutex<[String]?>(nil)

    private var liveUnaskedExits: [String] {
        daemons.withLock { $0 }.enumerated().compactMap { index, daemon in
            daemon.unaskedExit.map { "node \(nodeID(index)): \($0)" }
        }
    }

    /// Kills Redis and starts it again, empty, on the same port.
    public func restartRedis() async throws { try await redis.restart() }

    /// Stops everything: the balancer, the nodes (SIGTERM, together), Redis.
    public func stop() async {
        guard markStopped() else { return }
        balancer.stop()
        await withTaskGroup(of: Void.self) { group in
            for daemon in daemons.withLock({ $0 }) { group.addTask { await daemon.stop() } }
        }
        redis.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops everything without waiting, for `defer` where nothing can be awaited:
    /// the nodes get SIGKILL (a test's cluster has nothing to drain).
    public func terminate() {
        guard markStopped() else { return }
        balancer.stop()
        for daemon in daemons.withLock({ $0 }) where daemon.process.isRunning {
            kill(daemon.process.processIdentifier, SIGKILL)
        }
        for daemon in daemons.withLock({ $0 }) { _ = daemon.waitForExit() }
        redis.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// True the first time only; then keeps what had crashed before the stop.
    private func markStopped() -> Bool {
        let first = stopped.withLock { stopped in
            let first = !stopped
            stopped = true
            return first
        }
        if first {
            let exits = liveUnaskedExits
            stoppedWith.withLock { $0 = exits }
        }
        return first
    }

    deinit { terminate() }
}
