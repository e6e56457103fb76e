import BacktestStore
import Foundation

/// A sweep spread over the cluster's nodes (docs/DESIGN.md section 15.6): this node,
/// its coordinator, offers the combinations as shards, every node's `ShardWorker`
/// (this one's too) computes and stores them, and the coordinator counts the shards'
/// reports and ranks their best. A shard is counted once however often it is done (a
/// node that died with it, a broker that restarted empty); its rows are stored by
/// combination, so done twice they are stored once.
extension SweepJob {
    /// How often the coordinator reads reports while none come.
    static let reportPoll = Duration.milliseconds(100)
    /// How often it looks for shards of dead nodes (and for a broker that lost the sweep).
    static let tendInterval = Duration.seconds(1)
    /// How long a stopping sweep waits for the shards being computed to report.
    static let drainLimit = Duration.seconds(30)

    /// Nil when the shards could not be offered (the broker cannot be reached): the
    /// sweep then runs here alone.
    mutating func distributed(_ cluster: any SweepCluster) async throws -> Outcome? {
        let id = record.id
        let shards = SweepShard.cut(plan.grid)
        if !adopted {
            do {
                try await cluster.offer(id, request: plan.request.encoded, shards: shards)
            } catch {
                logger.warning(
                    "the sweep's shards cannot be offered to the other nodes: it runs on this node alone",
                    metadata: ["sweep": "\(id)", "error": "\(error.reason)"])
                return nil
            }
        }
        // Counted from the reports (an adopted sweep's from its first).
        record.done = 0
        record.failed = 0
        var reported = Set<Int>()
        var cursor = "0"
        var brokerAway: ContinuousClock.Instant?
        (lastPublish, lastPersist) = (clock.now, clock.now)
        var lastTend = ContinuousClock.now

        /// Reads the reports that came; false when the broker could not be asked.
        func readReports(_ job: inout SweepJob) async throws(ServiceError) -> Bool {
            let (got, next) = try await cluster.reports(id, after: cursor)
            cursor = next
            for report in got where !reported.contains(report.shard) {
                guard report.error.isEmpty else {
                    throw ServiceError(
                        .internal, "node \(report.node) could not compute shard \(report.shard): \(report.error)")
                }
                if report.stopped && job.control.stopReason == nil {
                    // Cut short by something other than this sweep's stop: done again
                    // in full (its rows stored so far are stored again over themselves).
                    try await cluster.offer(
                        id, request: job.plan.request.encoded, shards: shards.filter { $0.index == report.shard })
                    continue
                }
                reported.insert(report.shard)
                job.count(report)
            }
            return !got.isEmpty
        }

        // An adopted sweep's watchers saw the counts of its first coordinator: they go
        // on from there, not from nought.
        if adopted {
            while (try? await readReports(&self)) == true {}
        }
        hub.publish(event(.update))

        while reported.count < shards.count, control.stopReason == nil {
            var heard = false
            do {
                heard = try await readReports(&self)
                brokerAway = nil
            } catch  where error.kind == .unavailable {
                // Shards go on being computed while the broker is away; not forever.
                let since = brokerAway ?? .now
                brokerAway = since
                if ContinuousClock.now - since >= retryBudget { throw error }
            } catch {
                return .failed(error.reason)
            }
            if ContinuousClock.now - lastTend >= Self.tendInterval {
                lastTend = .now
                if let tending = try? await cluster.tend(id) {
                    if !tending.offered {
                        // The broker restarted empty: what is not counted yet is offered again.
                        logger.warning(
                            "the broker lost the sweep's shards: those not counted yet offered again",
                            metadata: ["sweep": "\(id)", "shards": "\(shards.count - reported.count)"])
                        try? await cluster.offer(
                            id, request: plan.request.encoded, shards: shards.filter { !reported.contains($0.index) })
                        cursor = "0"
                    } else if tending.reclaimed > 0 {
                        logger.warning(
                            "sweep shards of lost nodes offered again",
                            metadata: ["sweep": "\(id)", "shards": "\(tending.reclaimed)"])
                    }
                }
            }
            if publishIfDue() { try await persistCounts() }
            if !heard { try? await Task.sleep(for: Self.reportPoll) }
        }

        if let reason = control.stopReason {
            // No node takes more; the shards being computed stop and report what they stored.
            await cluster.withdraw(id, reason: reason)
            let deadline = ContinuousClock.now + Self.drainLimit
            while ContinuousClock.now < deadline {
                _ = try? await readReports(&self)
                guard let tending = try? await cluster.tend(id), tending.offered, tending.inFlight > 0 else { break }
                try? await Task.sleep(for: Self.reportPoll)
            }
            _ = try? await readReports(&self)
            noteBest()
            return .stopped(reason)
        }
        noteBest()
        return .completed
    }

    /// A shard's report into the sweep's counts and ranking.
    mutating func count(_ report: ShardReport) {
        record.done += UInt64(report.done)
        record.failed += UInt64(report.failed)
        doneByNode[report.node, default: 0] += report.done
        for row in report.best {
            if let s = row.statistics { top.offer(plan.objective.value(s), row) }
        }
    }
}
