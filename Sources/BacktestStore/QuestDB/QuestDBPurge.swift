import Logging

/// Removes deleted sessions' and sweeps' rows for good. QuestDB has no DELETE: a row
/// goes only with its partition. So, per table a session (or a sweep) has rows in
/// (QuestDBSchema.deletables, docs/QUESTDB.md):
///
/// - a partition holding only deleted sessions' rows is dropped;
/// - a partition holding others' rows too is rewritten: the rows that stay are copied
///   to a staging table, the partition is dropped, the rows are inserted back, the
///   count checked, the staging table dropped. This process's reads of the table wait
///   for the drop and the insert (PurgeGate); a staging table left by a purge that
///   died is put back first, so no row is ever lost;
/// - only quiet partitions are touched: those that ended before the oldest session
///   (for a sweep's tables: sweep) still STARTED or RUNNING on any node was created
///   (and before now), less a margin. No write can land in them, so nothing written
///   meanwhile is lost. Rows in newer partitions wait for a later purge (they are
///   invisible already);
/// - a tombstone partition whose sessions (sweeps) have no rows left anywhere is
///   dropped last.
///
/// One purge runs at a time over all nodes (QuestDBPurgeLock).
struct QuestDBPurge {
    let store: QuestDBStore
    private var report = PurgeReport()

    init(store: QuestDBStore) {
        self.store = store
    }

    private var logger: Logger { store.options.logger }

    /// Tombstones per partition of each kind's tombstone table (kinds with none left out).
    private typealias Tombstones = [(kind: QuestDBSchema.Deletable, partitions: [(QuestDBPartition, Int64)])]

    mutating func run() async throws -> PurgeReport {
        // Nothing deleted, nothing to do (the common case: a cheap query per kind).
        var tombstones: Tombstones = []
        for kind in QuestDBSchema.deletables {
            let partitions = try await counts(QuestDBSQL.tombstonePartitions(kind.tombstones), unit: .day)
            if !partitions.isEmpty { tombstones.append((kind, partitions)) }
        }
        guard !tombstones.isEmpty else { return report }
        // Nor when every partition holding deleted rows is still being written: then no
        // lock is taken (looking is read-only).
        guard try await hasWork(tombstones) else { return report }
        guard
            let lock = try await QuestDBPurgeLock.take(
                store.maintenance, staleAfter: store.options.purgeLockStaleAfter)
        else {
            logger.debug("another node is purging deleted sessions")
            return report
        }
        do {
            try await purge(lock: lock, tombstones: tombstones)
        } catch {
            await lock.release()
            throw error
        }
        await lock.release()
        if !report.isEmpty {
            logger.info(
                "purged deleted sessions' and sweeps' rows",
                metadata: [
                    "rows": "\(report.rowsRemoved)", "partitionsDropped": "\(report.partitionsDropped)",
                    "partitionsRewritten": "\(report.partitionsRewritten)",
                    "partitionsPending": "\(report.partitionsPending)",
                ])
        }
        return report
    }

    /// Before which partitions of a kind's tables must end to be rewritten, and
    /// tombstone partitions to go. Each kind writes at keys from its own records'
    /// creation, so the oldest active record of that kind is what holds its tables.
    private func horizons(_ kind: QuestDBSchema.Deletable) async throws -> (rows: Int64, tombstones: Int64) {
        let margin = store.options.purgeQuietMargin.wholeMicroseconds
        let now = store.options.now()
        let oldestActive = try await store.rows(QuestDBSQL.oldestActive(kind)).first?.first?.int
        return (min(now, oldestActive ?? now) - margin, now - margin)
    }

    /// Whether anything could be purged now: a staging table to put back, a quiet
    /// partition with deleted rows, or a quiet tombstone partition.
    private func hasWork(_ tombstones: Tombstones) async throws -> Bool {
        for kind in QuestDBSchema.deletables {
            for (table, _) in kind.tables
            where try await count(QuestDBSQL.tableExists(QuestDBSchema.staging(table))) > 0 {
                return true
            }
        }
        for (kind, partitions) in tombstones {
            let (horizon, tombstoneHorizon) = try await horizons(kind)
            if partitions.contains(where: { $0.0.end <= tombstoneHorizon }) { return true }
            for (table, unit) in kind.tables {
                let dead = try await counts(QuestDBSQL.deletedRowsByPartition(table, unit: unit), unit: unit)
                if dead.contains(where: { $0.1 > 0 && $0.0.end <= horizon }) { return true }
            }
        }
        return false
    }

    private mutating func purge(lock: QuestDBPurgeLock, tombstones: Tombstones) async throws {
        for kind in QuestDBSchema.deletables {
            for (table, _) in kind.tables { try await restoreLeftover(table) }
        }
        for (kind, partitions) in tombstones {
            let (horizon, tombstoneHorizon) = try await horizons(kind)
            for (table, unit) in kind.tables {
                for (partition, dead) in try await counts(
                    QuestDBSQL.deletedRowsByPartition(table, unit: unit), unit: unit)
                where dead > 0 {
                    guard partition.end <= horizon else {
                        report.partitionsPending += 1
                        continue
                    }
                    try await lock.confirm()
                    let total = try await count(QuestDBSQL.rowCount(table, in: partition))
                    if total <= dead {
                        try await execute(QuestDBSQL.dropPartition(table, partition))
                        report.partitionsDropped += 1
                        report.rowsRemoved += Int(total)
                    } else {
                        try await rewrite(table, partition, total: total)
                    }
                }
                try await store.waitForWAL(table)
            }

            // Tombstones whose records are gone from every table have done their work.
            for (partition, _) in partitions where partition.end <= tombstoneHorizon {
                var left: Int64 = 0
                for (table, _) in kind.tables {
                    left += try await count(QuestDBSQL.rowsLeft(table, deletedIn: partition))
                }
                if left > 0 {
                    report.partitionsPending += 1
                    continue
                }
                try await lock.confirm()
                try await execute(QuestDBSQL.dropPartition(kind.tombstones, partition))
                report.partitionsDropped += 1
            }
            try await store.waitForWAL(kind.tombstones)
        }
    }

    /// Drops and refills one partition with the rows that are not deleted.
    private mutating func rewrite(_ table: String, _ partition: QuestDBPartition, total: Int64) async throws {
        let staging = QuestDBSchema.staging(table)
        try await execute(QuestDBSQL.copyKept(table, partition))
        let kept = try await count(QuestDBQuery(sql: "SELECT count() FROM \(staging)", parameters: []))
        try await store.gate.rewriting(table) {
            try await execute(QuestDBSQL.dropPartition(table, partition))
            if kept > 0 { try await execute(QuestDBSQL.restoreKept(table)) }
            try await store.waitForWAL(table)
        }
        let after = try await count(QuestDBSQL.rowCount(table, in: partition))
        guard after >= kept else {
            // The staging table stays: the next purge puts its rows back first.
            throw StoreError.failed(
                "purge of \(table) partition \(partition): \(kept) rows kept aside but \(after) back; they are in \(staging)"
            )
        }
        try await execute(QuestDBSQL.dropTable(staging))
        report.partitionsRewritten += 1
        report.rowsRemoved += Int(total - kept)
    }

    /// A staging table left by a purge that stopped mid-way: its rows go back (DEDUP
    /// makes that harmless when they never left), then it goes.
    private func restoreLeftover(_ table: String) async throws {
        let staging = QuestDBSchema.staging(table)
        guard try await count(QuestDBSQL.tableExists(staging)) > 0 else { return }
        logger.warning("restoring rows an interrupted purge kept aside", metadata: ["table": "\(table)"])
        try await execute(QuestDBSQL.restoreKept(table))
        try await store.waitForWAL(table)
        try await execute(QuestDBSQL.dropTable(staging))
    }

    // MARK: Plumbing

    private func execute(_ sql: String) async throws {
        _ = try await store.maintenance.run { db in try db.query(sql) }
    }

    private func count(_ q: QuestDBQuery) async throws -> Int64 {
        try await store.maintenance.run { db in try db.query(q.sql, q.parameters).rows }.first?.first?.int ?? 0
    }

    /// (partition, count) rows of a `SAMPLE BY` query.
    private func counts(_ q: QuestDBQuery, unit: QuestDBPartition.Unit) async throws -> [(QuestDBPartition, Int64)] {
        try await store.maintenance.run { db in try db.query(q.sql, q.parameters).rows }.compactMap { row in
            guard row.count == 2, let start = row[0].int, let n = row[1].int else { return nil }
            return (QuestDBPartition(unit, containing: start), n)
        }
    }
}
