import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Sweeps on three real nodes through a real Redis, on one QuestDB (docs/DESIGN.md
/// section 15.6): a sweep's combinations are computed by every node, and its rows are
/// those of the same sweep on a single node, bit for bit, whichever node dies midway
/// (one that computes shards, or the coordinator itself); a stop through any node
/// keeps what was done.
@Suite(.serialized, .enabled(if: LocalCluster.unavailable == nil, "\(LocalCluster.unavailable ?? "")"))
struct ClusterSweepTests {
    typealias Client = ClusterSessionTests.Client

    /// SMA crossover over GOOG's daily bars, n1 in 2..40, n2 in 10..120 step 2, n1 < n2:
    /// about two thousand combinations, long enough to kill a node midway.
    static func sweep(symbol: String) -> StartSweepRequest {
        var r = StartSweepRequest()
        r.backtest = LocalClusterTests.backtest(n1: 10, symbol: symbol)
        r.axes = [axis("n1", 2, 40, 1), axis("n2", 10, 120, 2)]
        r.constraints = ["n1 < n2"]
        r.objective = "sharpe_ratio"
        r.topK = 3
        return r
    }

    static func axis(_ name: String, _ start: Double, _ stop: Double, _ step: Double) -> ParameterAxis {
        var axis = ParameterAxis()
        axis.name = name
        axis.values = .range(ValueRange(start: start, stop: stop, step: step))
        return axis
    }

    /// The same sweep on one node with no cluster (its embedded store): every row, by
    /// combination. Computed once for the suite.
    actor Reference {
        static let shared = Reference()
        private var rows: [UInt64: SweepResult]?

        func get() async throws -> [UInt64: SweepResult] {
            if let rows { return rows }
            let daemon = try await DaemonProcess(arguments: ["--sweep-workers", "2"])
            defer { daemon.terminate() }
            let (grpc, api) = LocalClusterTests.client(daemon.port)
            defer { grpc.close() }
            try await LocalClusterTests.importGOOG(api, as: "GOOG")
            let id = try await api.startSweep(ClusterSweepTests.sweep(symbol: "GOOG")).sweepID
            let end = try await ClusterSweepTests.watch(id, api, into: EventLog())
            #expect(end.status == .completed)
            let found = try await ClusterSweepTests.rows(id, api)
            rows = found
            return found
        }
    }

    /// Every event of a watch through `client` into `log`; the last one.
    @discardableResult
    static func watch(_ id: String, _ client: BacktestServiceClient, into log: EventLog<SweepProgressEvent>)
        async throws -> SweepProgressEvent
    {
        try await client.watchSweep(WatchSweepRequest(sweepID: id)) { log.append($0) }
        let events = log.events
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        #expect(
            zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence && $0.done <= $1.done },
            "\(events.map { "\($0.sequence):\($0.done)" })")
        return try #require(events.last)
    }

    static func watching(_ id: String, _ client: BacktestServiceClient, into log: EventLog<SweepProgressEvent>)
        -> Task<SweepProgressEvent, any Error>
    {
        Task { try await watch(id, client, into: log) }
    }

    /// Every stored row of a sweep, by combination (the best ones' session links left
    /// out: they name sessions of each run).
    static func rows(_ id: String, _ client: BacktestServiceClient) async throws -> [UInt64: SweepResult] {
        var out: [UInt64: SweepResult] = [:]
        var request = GetSweepRequest(sweepID: id, pageSize: 1000)
        while true {
            let page = try await client.getSweep(request)
            for var row in page.results {
                #expect(out[row.combination] == nil, "combination \(row.combination) stored twice")
                row.sessionID = ""
                out[row.combination] = row
            }
            guard !page.nextPageToken.isEmpty else { return out }
            request.pageToken = page.nextPageToken
        }
    }

    /// The cluster's rows are the single node's, all of them, each once.
    static func expectReferenceRows(_ id: String, _ client: BacktestServiceClient) async throws {
        let reference = try await Reference.shared.get()
        let rows = try await rows(id, client)
        #expect(rows.count == reference.count)
        let differing = reference.keys.filter { rows[$0] != reference[$0] }.sorted()
        #expect(differing.isEmpty, "\(differing.count) rows differ from one node's, first \(differing.prefix(5))")
    }

    /// What the coordinator's "sweep ended" line says each node computed.
    static func doneByNode(_ id: String, in cluster: LocalCluster) -> String? {
        for index in 0..<cluster.nodeCount {
            let line = cluster.node(index).log.split(separator: "\n").first {
                $0.contains("sweep ended") && $0.contains("sweep=\(id)")
            }
            if let line, let range = line.range(of: "nodes=") {
                return String(line[range.upperBound...].prefix { $0 != " " })
            }
        }
        return nil
    }

    @Test func aSweepIsComputedByEveryNode() async throws {
        let (cluster, lb, nodes) = try await ClusterSessionTests.start()
        defer { cluster.end() }
        let started = try await nodes[0].api.startSweep(Self.sweep(symbol: cluster.name))
        // Readable through another node as soon as StartSweep has answered.
        let early = try await nodes[2].api.getSweep(GetSweepRequest(sweepID: started.sweepID, pageSize: 1)).sweep
        #expect(early?.sweepID == started.sweepID && early?.total == started.total)
        // Watched through a node that does not coordinate it.
        let end = try await Self.watch(started.sweepID, nodes[1].api, into: EventLog())
        #expect(end.status == .completed && end.done == started.total)
        let stored = try #require(try await nodes[2].api.getSweep(GetSweepRequest(sweepID: started.sweepID)).sweep)
        #expect(stored.status == .completed && stored.done == stored.total && stored.failed == 0)
        let share = try #require(Self.doneByNode(started.sweepID, in: cluster))
        for index in 0..<3 { #expect(share.contains("\(cluster.nodeID(index))="), "\(share)") }
        try await Self.expectReferenceRows(started.sweepID, lb.api)
        // The best combinations' full runs, stored by the coordinator.
        let best = try await lb.api.getSweep(GetSweepRequest(sweepID: started.sweepID, pageSize: 3)).results
        #expect(best.count == 3 && best.allSatisfy { !$0.sessionID.isEmpty })
        await cluster.stop()
    }

    /// A sweep started through node 1 and watched through node 2, once at least
    /// 1/`part` of it is done.
    struct UnderWay {
        let cluster: LocalCluster
        let lb: Client
        let nodes: [Client]
        let started: StartSweepResponse
        let watch: Task<SweepProgressEvent, any Error>
    }

    static func underWay(part: UInt64) async throws -> UnderWay {
        let (cluster, lb, nodes) = try await ClusterSessionTests.start()
        let started = try await nodes[0].api.startSweep(Self.sweep(symbol: cluster.name))
        let log = EventLog<SweepProgressEvent>()
        let run = UnderWay(
            cluster: cluster, lb: lb, nodes: nodes, started: started,
            watch: Self.watching(started.sweepID, nodes[1].api, into: log))
        try await ClusterSessionTests.eventually("1/\(part) done: \(log.events.last.map { "\($0.done)" } ?? "-")") {
            (log.events.last?.done ?? 0) * part >= started.total
        }
        return run
    }

    /// SIGKILL of a node computing shards: the shards it held are offered again and the
    /// sweep completes with every row, once.
    @Test func aKilledNodesShardsAreComputedElsewhere() async throws {
        let run = try await Self.underWay(part: 5)
        defer { run.cluster.end() }
        await run.cluster.killNode(2)
        let end = try await run.watch.value
        #expect(end.status == .completed && end.done == run.started.total && end.failed == 0)
        try await Self.expectReferenceRows(run.started.sweepID, run.lb.api)
        await run.cluster.stop()
    }

    /// A node computing shards leaves (SIGTERM): it hands its shard back, and the sweep
    /// completes with every row, once.
    @Test func aLeavingNodeHandsItsShardBack() async throws {
        let run = try await Self.underWay(part: 5)
        defer { run.cluster.end() }
        #expect(await run.cluster.stopNode(2) == 0)
        let end = try await run.watch.value
        #expect(end.status == .completed && end.done == run.started.total && end.failed == 0)
        try await Self.expectReferenceRows(run.started.sweepID, run.lb.api)
        await run.cluster.stop()
    }

    /// SIGKILL of the sweep's coordinator: a live node adopts the sweep, counts every
    /// shard's report from the first, and completes it; the watcher on another node
    /// gets exactly one terminal event.
    @Test func aKilledCoordinatorsSweepIsAdopted() async throws {
        let run = try await Self.underWay(part: 5)
        defer { run.cluster.end() }
        await run.cluster.killNode(0)
        let end = try await run.watch.value
        #expect(end.status == .completed && end.done == run.started.total, "\(end)")
        let id = run.started.sweepID
        let stored = try #require(try await run.lb.api.getSweep(GetSweepRequest(sweepID: id)).sweep)
        #expect(stored.status == .completed && stored.done == stored.total)
        try await Self.expectReferenceRows(id, run.lb.api)
        let best = try await run.lb.api.getSweep(GetSweepRequest(sweepID: id, pageSize: 3)).results
        #expect(best.allSatisfy { !$0.sessionID.isEmpty }, "the adopter ran the best in full")
        await run.cluster.stop()
    }

    /// SIGKILL of the sweep's coordinator and a restart at once, within its lease: the
    /// restarted node does not fail the sweep as interrupted but takes it over again
    /// (or another node does, should the lease lapse first), and it completes with every
    /// row, once.
    @Test func aCoordinatorRestartedAtOnceGoesOnWithItsSweep() async throws {
        let run = try await Self.underWay(part: 5)
        defer { run.cluster.end() }
        try await run.cluster.explaining {
            await run.cluster.killNode(0)
            try await run.cluster.restartNode(0)
            let end = try await run.watch.value
            #expect(end.status == .completed && end.done == run.started.total, "\(end)")
            let id = run.started.sweepID
            let stored = try #require(try await run.lb.api.getSweep(GetSweepRequest(sweepID: id)).sweep)
            #expect(stored.status == .completed && stored.done == stored.total)
            try await Self.expectReferenceRows(id, run.lb.api)
            await run.cluster.stop()
        }
    }

    /// The broker killed and started again, empty, midway: the coordinator offers again
    /// the shards not yet counted, and the sweep completes with every row, once.
    @Test func aRestartedBrokerLosesNoShard() async throws {
        let run = try await Self.underWay(part: 5)
        defer { run.cluster.end() }
        try await run.cluster.restartRedis()
        let end = try await run.watch.value
        #expect(end.status == .completed && end.done == run.started.total, "\(end)")
        try await Self.expectReferenceRows(run.started.sweepID, run.lb.api)
        await run.cluster.stop()
    }

    /// StopSweep through a node that does not coordinate the sweep: every node stops
    /// computing it, and what was done is stored and counted.
    @Test func aSweepStopsThroughAnyNode() async throws {
        let run = try await Self.underWay(part: 10)
        defer { run.cluster.end() }
        let id = run.started.sweepID
        let stopped = try await run.nodes[2].api.stopSweep(StopSweepRequest(sweepID: id, reason: "enough"))
        #expect(stopped.status == .stopped && !stopped.alreadyEnded)
        let end = try await run.watch.value
        #expect(end.status == .stopped && end.stopReason == "enough" && end.done < run.started.total)
        let stored = try #require(try await run.lb.api.getSweep(GetSweepRequest(sweepID: id)).sweep)
        #expect(stored.status == .stopped)
        let rows = try await Self.rows(id, run.lb.api)
        #expect(UInt64(rows.count) == stored.done, "every row done is counted, and only those")
        await run.cluster.stop()
    }
}
