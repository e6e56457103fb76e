import BacktestEngine

/// Sweeps in QuestDB (docs/DESIGN.md section 13.6; tables and keys in QuestDBSchema):
/// written as ILP like sessions, so a retried or repeated write replaces its row
/// (DEDUP on keys from the sweep's creation time), and read over PG wire once this
/// store's own writes are applied. Results are sorted by QuestDB on the statistic's
/// own column (QuestDBStatistics) and paged by position, as in SQLite.
extension QuestDBStore {
    public func saveSweep(_ record: SweepRecord) async throws {
        var buffer = ILPBuffer()
        try QuestDBRows.appendSweep(record, owner: owner, to: &buffer)
        try await send(buffer, table: QuestDBSchema.sweeps)
        // An ended sweep rarely writes again (its key base is looked up then).
        sweepBases.withLock { $0[record.id] = record.state.isTerminal ? nil : record.createdAt }
    }

    public func sweep(id: String) async throws -> SweepRecord? {
        try await awaitVisible(QuestDBSchema.sweeps, QuestDBSchema.deletedSweeps)
        return try await rows(QuestDBSQL.sweepById(id), of: QuestDBSchema.sweeps).first.map {
            row throws(StoreError) in try QuestDBRows.sweep(row)
        }
    }

    /// This node's sweeps in these states (start-up recovery, as for sessions: other
    /// nodes' running sweeps are theirs).
    public func sweeps(in states: Set<SessionState>) async throws -> [SweepRecord] {
        guard !states.isEmpty else { return [] }
        try await awaitVisible(QuestDBSchema.sweeps, QuestDBSchema.deletedSweeps)
        var out: [SweepRecord] = []
        var after: (createdAt: Int64, id: String)?
        let limit = 1000
        while true {
            let page = try await rows(
                QuestDBSQL.sweepsInStates(Array(states), owner: owner, after: after, limit: limit),
                of: QuestDBSchema.sweeps)
            for row in page { out.append(try QuestDBRows.sweep(row)) }
            guard page.count == limit, let last = out.last else { return out }
            after = (last.createdAt, last.id)
        }
    }

    public func listSweeps(_ query: SweepQuery) async throws -> SweepPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        var filters = SessionQuery()
        filters.states = query.states
        // The sessions' keyset token with the SQLite store's mark for sweeps, so neither
        // listing takes the other's.
        let filterHash = PageToken.filterHash(filters) ^ 0x5357_4545_5053
        let token =
            query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
        try await awaitVisible(QuestDBSchema.sweeps, QuestDBSchema.deletedSweeps)
        let found = try await rows(
            QuestDBSQL.listSweeps(
                states: query.states, after: token.map { (createdAt: $0.createdAt, id: $0.id) }, limit: pageSize + 1),
            of: QuestDBSchema.sweeps
        ).map { row throws(StoreError) in try QuestDBRows.sweep(row) }
        guard found.count > pageSize else { return SweepPage(sweeps: found, nextPageToken: "") }
        let sweeps = Array(found.prefix(pageSize))
        let last = sweeps[sweeps.count - 1]
        return SweepPage(
            sweeps: sweeps,
            nextPageToken: PageToken(createdAt: last.createdAt, id: last.id, filterHash: filterHash).encoded())
    }

    /// One request (a batch is at most the job's 1,024 rows, well under a megabyte).
    /// The sweep must be stored: its creation time is the base of the rows' keys.
    public func saveSweepResults(sweepId: String, _ rows: [SweepResultRow]) async throws {
        guard !rows.isEmpty else { return }
        let base = try await sweepBase(sweepId)
        var buffer = ILPBuffer()
        for row in rows {
            try QuestDBRows.appendSweepResult(sweepId: sweepId, key: base + row.combination, row, to: &buffer)
        }
        try await send(buffer, table: QuestDBSchema.sweepResults)
    }

    /// Sorted by any statistic (`sortKey`, a BacktestStatistics key; another key is
    /// `invalid`): rows without a value last either way, ties by combination.
    public func sweepResults(_ query: SweepResultQuery) async throws -> SweepResultPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        guard let statistic = QuestDBStatistics.column(key: query.sortKey) else {
            throw StoreError.invalid("sort key \"\(query.sortKey)\" is not a statistic")
        }
        let fingerprint = PageTokenText.fingerprint([query.sweepId, query.sortKey, query.descending ? "d" : "a"])
        // Positions past any sweep's size (a million rows) read nothing: capped so the
        // page's end cannot overflow.
        let offset =
            query.pageToken.isEmpty
            ? 0
            : min(
                try OffsetPageToken(decoding: query.pageToken, expectedFingerprint: fingerprint).offset, 1 << 40)
        try await awaitVisible(QuestDBSchema.sweepResults, QuestDBSchema.deletedSweeps)
        if try await isSweepDeleted(query.sweepId) { return SweepResultPage(rows: [], nextPageToken: "") }
        let found = try await rows(
            QuestDBSQL.sweepResults(
                sweepId: query.sweepId, by: statistic, descending: query.descending, from: offset,
                end: offset + pageSize + 1),
            of: QuestDBSchema.sweepResults
        ).map { row throws(StoreError) in try QuestDBRows.sweepResult(row) }
        guard found.count > pageSize else { return SweepResultPage(rows: found, nextPageToken: "") }
        return SweepResultPage(
            rows: Array(found.prefix(pageSize)),
            nextPageToken: OffsetPageToken(offset: offset + pageSize, fingerprint: fingerprint).encoded())
    }

    public func saveWalkForwardWindow(sweepId: String, _ window: WalkForwardWindowRow) async throws {
        let base = try await sweepBase(sweepId)
        var buffer = ILPBuffer()
        try QuestDBRows.appendWalkForwardWindow(
            sweepId: sweepId, key: base + Int64(window.index), window, to: &buffer)
        try await send(buffer, table: QuestDBSchema.walkForwardWindows)
    }

    public func walkForwardWindows(sweepId: String) async throws -> [WalkForwardWindowRow] {
        try await awaitVisible(QuestDBSchema.walkForwardWindows, QuestDBSchema.deletedSweeps)
        if try await isSweepDeleted(sweepId) { return [] }
        return try await rows(QuestDBSQL.walkForwardWindows(sweepId: sweepId), of: QuestDBSchema.walkForwardWindows)
            .map { row throws(StoreError) in try QuestDBRows.walkForwardWindow(row) }
    }

    /// The creation time of a stored sweep: the base of its rows' write keys.
    private func sweepBase(_ id: String) async throws -> Int64 {
        if let base = sweepBases.withLock({ $0[id] }) { return base }
        guard let record = try await sweep(id: id) else {
            throw StoreError.invalid("sweep \"\(id)\" is not stored: its rows need its record first")
        }
        return record.createdAt
    }
}
