extension QuestDBStore {
    /// Ids are looked up this many at a time.
    static let deleteLookupBatch = 100

    /// A deletion is a tombstone per session (QuestDBSchema.deleted), sent like every
    /// other write (after anything spooled, so a session's own last writes land first),
    /// then awaited until QuestDB has applied it: from then on no read on any node
    /// shows the session. A purge removes its rows later (QuestDBPurge).
    public func deleteSessions(ids: [String]) async throws -> Set<String> {
        let found = try await tombstone(
            ids, of: QuestDBSchema.sessionRows, stored: QuestDBSQL.storedSessionIds,
            append: QuestDBRows.appendTombstone)
        forgetResultBases(found)
        return found
    }

    /// Deletes these sweeps: their records, result rows and walk-forward windows, as
    /// sessions are deleted (a tombstone each in QuestDBSchema.deletedSweeps, every
    /// sweep read leaves them out, a purge removes the rows). Returns the ids that were
    /// stored. The sessions a sweep kept in full are sessions: deleted as such.
    public func deleteSweeps(ids: [String]) async throws -> Set<String> {
        let found = try await tombstone(
            ids, of: QuestDBSchema.sweepRows, stored: QuestDBSQL.storedSweepIds,
            append: QuestDBRows.appendSweepTombstone)
        sweepBases.withLock { bases in
            for id in found { bases[id] = nil }
        }
        return found
    }

    /// Writes a tombstone for each of `ids` stored (and not deleted yet) and waits until
    /// QuestDB has applied them. Returns those ids.
    private func tombstone(
        _ ids: [String], of kind: QuestDBSchema.Deletable, stored: ([String]) -> QuestDBQuery,
        append: (String, String, Int64, inout ILPBuffer) throws(StoreError) -> Void
    ) async throws -> Set<String> {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [] }
        try await awaitVisible(kind.records, kind.tombstones)
        var found = Set<String>()
        var start = 0
        while start < unique.count {
            let batch = Array(unique[start..<min(start + Self.deleteLookupBatch, unique.count)])
            for row in try await rows(stored(batch), of: kind.records) {
                if let id = row.first?.text { found.insert(id) }
            }
            start += batch.count
        }
        guard !found.isEmpty else { return [] }
        var buffer = ILPBuffer()
        let at = options.now()
        for id in found.sorted() { try append(id, owner, at, &buffer) }
        try await send(buffer, table: kind.tombstones)
        try await awaitVisible(kind.tombstones)
        return found
    }

    /// Whether a session is deleted (its rows may not be purged yet).
    func isDeleted(_ id: String) async throws -> Bool {
        try await rows(QuestDBSQL.isDeleted(id)).first?.first?.int ?? 0 > 0
    }

    /// Whether a sweep is deleted.
    func isSweepDeleted(_ id: String) async throws -> Bool {
        try await rows(QuestDBSQL.isSweepDeleted(id)).first?.first?.int ?? 0 > 0
    }

    public func purgeDeleted() async throws -> PurgeReport {
        await purging.lock()
        defer { purging.unlock() }
        var purge = QuestDBPurge(store: self)
        return try await purge.run()
    }
}
