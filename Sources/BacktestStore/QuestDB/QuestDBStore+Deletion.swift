extension QuestDBStore {
    /// Ids are looked up this many at a time.
    static let deleteLookupBatch = 100

    /// A deletion is a tombstone per session (QuestDBSchema.deleted), sent like every
    /// other write (after anything spooled, so a session's own last writes land first),
    /// then awaited until QuestDB has applied it: from then on no read on any node
    /// shows the session. A purge removes its rows later (QuestDBPurge).
    public func deleteSessions(ids: [String]) async throws -> Set<String> {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [] }
        try await awaitVisible(QuestDBSchema.sessions, QuestDBSchema.deleted)
        var found = Set<String>()
        var start = 0
        while start < unique.count {
            let batch = Array(unique[start..<min(start + Self.deleteLookupBatch, unique.count)])
            for row in try await rows(QuestDBSQL.storedSessionIds(batch), of: QuestDBSchema.sessions) {
                if let id = row.first?.text { found.insert(id) }
            }
            start += batch.count
        }
        guard !found.isEmpty else { return [] }
        var buffer = ILPBuffer()
        let at = options.now()
        for id in found.sorted() { try QuestDBRows.appendTombstone(id, owner: owner, at: at, to: &buffer) }
        try await send(buffer, table: QuestDBSchema.deleted)
        try await awaitVisible(QuestDBSchema.deleted)
        forgetResultBases(found)
        return found
    }

    /// Whether a session is deleted (its rows may not be purged yet).
    func isDeleted(_ id: String) async throws -> Bool {
        try await rows(QuestDBSQL.isDeleted(id)).first?.first?.int ?? 0 > 0
    }

    public func purgeDeleted() async throws -> PurgeReport {
        await purging.lock()
        defer { purging.unlock() }
        var purge = QuestDBPurge(store: self)
        return try await purge.run()
    }
}
