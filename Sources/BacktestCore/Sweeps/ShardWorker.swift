import BacktestEngine
import BacktestStore
import Foundation
import Logging
import Synchronization

/// This node's share of the cluster's sweeps: it takes one shard at a time, of any
/// node's sweep (its own included), computes its combinations on the node's workers
/// over the sweep's data (read once, kept while that sweep's shards keep coming),
/// stores their rows and reports the shard's counts and best to the coordinator. A
/// node at work does not take more: placement is by who is free.
final class ShardWorker: Sendable {
    /// The sweep's request from its encoded form (the protocol layer's).
    typealias Decode = @Sendable ([UInt8]) throws(ServiceError) -> SweepRequest

    /// A sweep's request and data, at hand for its next shards.
    private struct Prepared: Sendable {
        let sweepId: String
        let request: SweepRequest
        let data: SweepData
        let shared: SharedColumns?
    }

    private struct State {
        var loop: Task<Void, Never>?
        var current: RunControl?
        var leaving = false
        /// One sweep's data at a time: a node's memory holds one sweep's bars and
        /// shared columns, not one per sweep it ever helped.
        var prepared: Prepared?
    }

    static let leavingReason = "the node is leaving"

    private let cluster: any SweepCluster
    private let store: any BacktestStore
    private let limits: SweepRegistry.Limits
    private let decode: Decode
    private let logger: Logger
    private let state = Mutex(State())
    /// How long an idle node waits before it looks for shards again.
    let idlePause: Duration
    /// How often a shard being computed checks that its sweep still wants it.
    let stopCheck: Duration

    init(
        cluster: any SweepCluster, store: any BacktestStore, limits: SweepRegistry.Limits, decode: @escaping Decode,
        logger: Logger, idlePause: Duration = .milliseconds(200), stopCheck: Duration = .milliseconds(250)
    ) {
        self.cluster = cluster
        self.store = store
        self.limits = limits
        self.decode = decode
        self.logger = logger
        self.idlePause = idlePause
        self.stopCheck = stopCheck
    }

    func start() {
        // Background priority, as every run: RPC handlers first.
        let loop = Task.detached(priority: .background) { [self] in
            while !Task.isCancelled {
                guard let taken = await cluster.takeShard() else {
                    if let kept = state.withLock({ $0.prepared?.sweepId }), !(await cluster.wants(kept)) {
                        state.withLock { $0.prepared = nil }  // that sweep is over
                    }
                    try? await Task.sleep(for: idlePause)
                    continue
                }
                await compute(taken)
            }
        }
        state.withLock { $0.loop = loop }
    }

    /// Stops taking shards; the one being computed goes back to be done elsewhere.
    func stop() async {
        let (loop, current) = state.withLock { s in
            s.leaving = true
            defer { s.loop = nil }
            return (s.loop, s.current)
        }
        current?.requestStop(Self.leavingReason)
        loop?.cancel()
        await loop?.value
    }

    private func compute(_ taken: SweepShard.Taken) async {
        let control = RunControl()
        if state.withLock({ s in
            s.current = control
            return s.leaving
        }) {
            control.requestStop(Self.leavingReason)
        }
        defer { state.withLock { $0.current = nil } }
        // The sweep stopping elsewhere stops its shards here.
        let watch = Task { [cluster, stopCheck] in
            while control.stopReason == nil, (try? await Task.sleep(for: stopCheck)) != nil {
                if !(await cluster.wants(taken.sweepId)) { control.requestStop("the sweep is stopping") }
            }
        }
        defer { watch.cancel() }
        let report: ShardReport?
        do {
            report = try await run(taken, control)
        } catch {
            if control.stopReason == Self.leavingReason {
                report = nil
            } else {
                logger.error(
                    "a sweep shard failed",
                    metadata: ["sweep": "\(taken.sweepId)", "shard": "\(taken.shard.index)", "error": "\(error)"])
                report = ShardReport(
                    shard: taken.shard.index, node: cluster.nodeId, done: 0, failed: 0, best: [],
                    error: SweepJob.describe(error))
            }
        }
        await cluster.finish(taken, report: report)
    }

    /// Computes the shard and stores its rows; nil when this node is leaving (the shard
    /// goes back).
    private func run(_ taken: SweepShard.Taken, _ control: RunControl) async throws -> ShardReport? {
        let prepared = try await prepare(taken)
        let shard = taken.shard
        let plan = try SweepPlan(prepared.request, limits: limits, grid: shard.grid)
        let base = plan.request.base.config
        var top = TopResults(k: plan.topK, maximize: plan.request.maximize)
        var rows: [SweepResultRow] = []
        rows.reserveCapacity(shard.grid.count)
        var failed = 0
        try await SweepJob.evaluateAll(
            shard.grid.count, workers: plan.workers, data: prepared.data, shared: prepared.shared, control: control,
            config: { SweepRequest.config(base, plan.params($0)) }
        ) { i, evaluation in
            let combination = shard.first + Int64(i)
            switch evaluation {
            case .stopped: return
            case .statistics(let s):
                let row = SweepResultRow(combination: combination, params: plan.params(i), statistics: s)
                top.offer(plan.objective.value(s), row)
                rows.append(row)
            case .failed(let message):
                failed += 1
                rows.append(
                    SweepResultRow(combination: combination, params: plan.params(i), statistics: nil, error: message))
            }
        }
        // Stored before the report: whoever counts the shard can read its rows.
        if !rows.isEmpty {
            try await StoreRetry.run(budget: limits.storeRetryBudget) { [store, rows] in
                try await store.saveSweepResults(sweepId: taken.sweepId, rows)
            }
        }
        if control.stopReason == Self.leavingReason { return nil }
        return ShardReport(
            shard: shard.index, node: cluster.nodeId, done: rows.count, failed: failed, best: top.entries.map(\.row),
            stopped: rows.count < shard.grid.count)
    }

    /// The sweep's request and data: kept from its last shard, or read now.
    private func prepare(_ taken: SweepShard.Taken) async throws -> Prepared {
        if let kept = state.withLock({ $0.prepared }), kept.sweepId == taken.sweepId { return kept }
        state.withLock { $0.prepared = nil }  // the previous sweep's memory goes first
        let request = try SweepRegistry.accepted(try decode(taken.request))
        let data = try await SweepJob.load(request.base, from: store, retryBudget: limits.storeRetryBudget)
        let prepared = Prepared(
            sweepId: taken.sweepId, request: request, data: data,
            shared: SweepJob.sharedColumns(data, budgetBytes: limits.sharedColumnBytes))
        state.withLock { $0.prepared = prepared }
        logger.debug(
            "helping with a sweep", metadata: ["sweep": "\(taken.sweepId)", "rows": "\(data.count)"])
        return prepared
    }
}
