import BacktestStore
import Foundation

/// The registry's sweeps among other nodes (docs/DESIGN.md section 15.6): each sweep's
/// progress relayed to them, their stop requests, sweeps watched, stopped and read
/// through any node, and the sweeps of a coordinator that died taken over.
extension SweepRegistry: SweepMember {
    /// Joins the cluster's sweeps: this node may adopt the sweeps of coordinators that
    /// die. Before the sessions' join, which hands this node's leftovers from a previous
    /// process to it.
    public func joinCluster() async {
        await cluster?.joinSweeps(self)
    }

    /// This node computes shards of every node's sweeps from now on. After the sessions'
    /// join: a node takes shards only once it holds its lease (a shard held by a node
    /// without one is offered again).
    public func startComputingShards() {
        worker?.start()
    }

    /// Relays a sweep's events to the other nodes (at most ten a second, and its end).
    func startRelay(_ id: String) {
        guard let cluster, let hub = entries[id]?.hub else { return }
        relays[id] = Task.detached { [weak self] in
            try? await hub.watch(minInterval: .milliseconds(100)) { event in
                if event.kind == .terminal { await cluster.close(event) } else { await cluster.announce(event) }
            }
            await self?.relayEnded(id)
        }
    }

    private func relayEnded(_ id: String) { relays[id] = nil }

    public func stopRequested(_ sweepId: String, reason: String) async {
        guard entries[sweepId] != nil else { return }
        _ = try? await stop(sweepId, reason: reason)
    }

    // MARK: Another node's sweep

    /// Stops a sweep another node coordinates, answered from its end as a local stop
    /// is; nil when no live node coordinates it.
    func stopElsewhere(_ id: String, reason: String) async throws(ServiceError) -> Stopped? {
        guard let cluster, let latest = await cluster.latest(id), latest.kind != .terminal else { return nil }
        try await cluster.requestStop(id, reason: reason)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            if let p = await cluster.latest(id), p.kind == .terminal {
                return Stopped(sweepId: id, state: p.state, alreadyEnded: p.state != .stopped)
            }
        }
        throw ServiceError(.unavailable, "sweep \"\(id)\" has not stopped within a minute; retry")
    }

    /// A stored record of a sweep live on another node, with that node's latest counts.
    func liveElsewhere(_ id: String, stored: SweepRecord?) async -> SweepRecord? {
        guard let cluster, var r = stored, !r.state.isTerminal, let p = await cluster.latest(id), p.kind != .terminal
        else { return nil }
        r.state = p.state
        r.done = p.done
        r.failed = p.failed
        r.bestCombination = p.best?.combination
        r.bestValue = p.bestValue
        return r
    }

    /// A watch of a sweep another node coordinates: a hub of this node fed from its
    /// latest progress, so the watch has a local one's semantics (snapshot, latest
    /// wins, exactly one terminal).
    nonisolated(nonsending) func watchElsewhere(
        _ id: String, from first: SweepProgress, minInterval: Duration, _ emit: (SweepProgress) async throws -> Void
    ) async throws {
        guard let cluster else { return }
        let hub = ProgressHub(initial: first, clock: clock)
        let feed = Task { [store] in
            var last = first
            var quiet = 0
            while (try? await Task.sleep(for: .milliseconds(100))) != nil {
                if var p = await cluster.latest(id) {
                    quiet = 0
                    if p.kind == .snapshot { p.kind = .update }  // the relay's first event
                    guard p.sequence != last.sequence || p.kind != last.kind else { continue }
                    last = p
                    hub.publish(p)
                    if p.kind == .terminal { return }
                    continue
                }
                // The broker forgot it (restarted, or the end expired): the store has the end.
                quiet += 1
                if quiet % 10 == 1, let r = try? await store.sweep(id: id), r.state.isTerminal {
                    hub.publish(SweepProgress(ended: r, best: last.best, kind: .terminal, sequence: 0))
                    return
                }
            }
        }
        defer { feed.cancel() }
        try await hub.watch(minInterval: minInterval, emit)
    }

    // MARK: Adoption

    /// Takes over a sweep whose coordinator died: its shards go on being computed by
    /// every node and this node counts them, from the first report. A sweep that
    /// cannot be taken over (a walk-forward, which runs on its coordinator alone) ends
    /// FAILED "node X lost", as a session of a lost node does.
    public func adopt(_ sweepId: String, request: [UInt8], from node: String) async {
        guard let cluster, entries[sweepId] == nil else { return }
        guard accepting else {
            await cluster.handBack(sweepId, to: node)  // this node is leaving
            return
        }
        var stored: SweepRecord?
        var failure: (any Error)?
        for _ in 0..<10 {
            do {
                stored = try await store.sweep(id: sweepId)
                failure = nil
            } catch {
                failure = error
            }
            if stored != nil { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        if let failure {
            logger.warning(
                "the store cannot be read to take over a sweep of a lost node: handed back",
                metadata: ["sweep": "\(sweepId)", "node": "\(node)", "error": "\(failure)"])
            await cluster.handBack(sweepId, to: node)
            return
        }
        guard var record = stored else {
            logger.error("cannot adopt a sweep not in the store", metadata: ["sweep": "\(sweepId)", "node": "\(node)"])
            return
        }
        guard !record.state.isTerminal, entries[sweepId] == nil else {
            if record.state.isTerminal {
                await cluster.close(SweepProgress(ended: record, best: nil, kind: .terminal, sequence: 0))
            }
            return
        }
        let plan: SweepPlan
        do {
            guard let decode else { throw ServiceError(.unimplemented, "this node cannot read sweep requests") }
            plan = try SweepPlan(try Self.accepted(try decode(request)), limits: limits)
            guard plan.walkForward == nil, UInt64(plan.runs) == record.total else {
                throw ServiceError(.failedPrecondition, "it ran on that node alone")
            }
        } catch {
            logger.warning(
                "a sweep of a lost node cannot be taken over: failed",
                metadata: ["sweep": "\(sweepId)", "node": "\(node)", "why": "\(error)"])
            record.state = .failed
            record.errorMessage = "node \(node) lost"
            record.completedAt = clock.wallMicros
            try? await StoreRetry.run(budget: limits.storeRetryBudget) { [store, record] in
                try await store.saveSweep(record)
            }
            await cluster.close(SweepProgress(ended: record, best: nil, kind: .terminal, sequence: 0))
            return
        }
        // Where its watchers are: the first coordinator's last word, else its last save.
        var initial =
            await cluster.latest(sweepId) ?? SweepProgress(ended: record, best: nil, kind: .update, sequence: 0)
        initial.kind = .update
        initial.wallTime = clock.wallMicros
        var entry = Entry(record: record, plan: plan, hub: ProgressHub(initial: initial, clock: clock))
        // A sweep that was running has its shards offered (if the broker lost them, its
        // coordinator offers them again); a waiting one is offered now.
        entry.adopted = record.state == .running
        entries[sweepId] = entry
        startRelay(sweepId)
        launch(sweepId)
    }
}
