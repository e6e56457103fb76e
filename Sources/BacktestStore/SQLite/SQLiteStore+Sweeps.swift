import BacktestEngine
import Foundation

/// Sweeps in SQLite (schema version 3): the record in `backtest_sweeps`, one row per
/// combination in `backtest_sweep_results` with its statistics as JSON (the sessions'
/// encoding, NaN kept), sorted for paging with `json_extract` on the statistic asked for.
/// Version 4: a walk-forward's windows in `backtest_walk_forward_windows`, its stitched
/// result on the sweep's row.
extension SQLiteStore {
    private static let sweepColumns = """
        id, state, symbol, timeframe, range_start, range_end, strategy_name, request, objective, maximize, total, \
        done, failed, top_k, best_combination, best_value, created_at, started_at, completed_at, error_message, \
        stop_reason, stitched_statistics, stitched_session_id
        """

    private static let sweepUpdates = sweepColumns.split(separator: ",").dropFirst()
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .map { "\($0) = excluded.\($0)" }.joined(separator: ", ")

    public func saveSweep(_ r: SweepRecord) async throws {
        let stitched = try r.stitchedStatistics.map { s throws(StoreError) in try SessionJSON.encode(s) }
        try await writer.run { db throws(StoreError) in
            // An upsert, not INSERT OR REPLACE: a replace deletes the row first, and the
            // deletion would cascade to the sweep's results.
            let s = try db.prepare(
                "INSERT INTO backtest_sweeps (\(Self.sweepColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \(Self.sweepUpdates)"
            )
            s.bind(1, r.id)
            s.bind(2, r.state.rawValue)
            s.bind(3, r.symbol)
            s.bind(4, r.timeframe)
            s.bind(5, r.range.start)
            s.bind(6, r.range.end)
            s.bind(7, r.strategyName)
            s.bind(8, blob: r.request)
            s.bind(9, r.objective)
            s.bind(10, r.maximize ? 1 : 0)
            s.bind(11, Int64(bitPattern: r.total))
            s.bind(12, Int64(bitPattern: r.done))
            s.bind(13, Int64(bitPattern: r.failed))
            s.bind(14, r.topK)
            s.bind(15, r.bestCombination)
            s.bind(16, r.bestValue)
            s.bind(17, r.createdAt)
            s.bind(18, r.startedAt)
            s.bind(19, r.completedAt)
            s.bind(20, r.errorMessage)
            s.bind(21, r.stopReason)
            if let stitched { s.bind(22, stitched) } else { s.bindNull(22) }
            s.bind(23, r.stitchedSessionId)
            try s.run()
        }
        await checkpointer.throttle()
    }

    private static func readSweep(_ s: SQLiteStatement) throws(StoreError) -> SweepRecord {
        guard let state = SessionState(rawValue: s.text(1)) else {
            throw StoreError.failed("sweep \(s.text(0)) has unknown state \"\(s.text(1))\"")
        }
        return SweepRecord(
            id: s.text(0), state: state, symbol: s.text(2), timeframe: s.text(3),
            range: TimeRange(start: s.int64(4), end: s.int64(5)), strategyName: s.text(6), request: s.blob(7),
            objective: s.text(8), maximize: s.int64(9) != 0, total: UInt64(bitPattern: s.int64(10)),
            done: UInt64(bitPattern: s.int64(11)), failed: UInt64(bitPattern: s.int64(12)), topK: Int(s.int64(13)),
            bestCombination: s.optionalInt64(14), bestValue: s.double(15), createdAt: s.int64(16),
            startedAt: s.optionalInt64(17), completedAt: s.optionalInt64(18), errorMessage: s.text(19),
            stopReason: s.text(20),
            stitchedStatistics: try s.isNull(21) ? nil : SessionJSON.decodeStatistics(s.text(21)),
            stitchedSessionId: s.text(22))
    }

    public func sweep(id: String) async throws -> SweepRecord? {
        try await reader().run { db throws(StoreError) in
            let s = try db.prepare("SELECT \(Self.sweepColumns) FROM backtest_sweeps WHERE id = ?")
            s.bind(1, id)
            return try s.step() ? try Self.readSweep(s) : nil
        }
    }

    public func sweeps(in states: Set<SessionState>) async throws -> [SweepRecord] {
        guard !states.isEmpty else { return [] }
        let stateList = states.map(\.rawValue).sorted()
        return try await reader().run { db throws(StoreError) in
            let marks = Array(repeating: "?", count: stateList.count).joined(separator: ", ")
            let s = try db.prepare(
                "SELECT \(Self.sweepColumns) FROM backtest_sweeps WHERE state IN (\(marks)) ORDER BY created_at, id")
            for (i, state) in stateList.enumerated() { s.bind(Int32(i + 1), state) }
            var out: [SweepRecord] = []
            while try s.step() { out.append(try Self.readSweep(s)) }
            return out
        }
    }

    public func listSweeps(_ query: SweepQuery) async throws -> SweepPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        var filters = SessionQuery()
        filters.states = query.states
        // The sessions' keyset token, with a mark of its own so neither listing takes
        // the other's.
        let filterHash = PageToken.filterHash(filters) ^ 0x5357_4545_5053
        let after =
            query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
        var conditions: [String] = []
        var binds: [SQLArgument] = []
        if !query.states.isEmpty {
            let states = query.states.map(\.rawValue).sorted()
            conditions.append("state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))")
            binds += states.map { .text($0) }
        }
        let (page, next) = try await newestFirstPage(
            table: "backtest_sweeps", columns: Self.sweepColumns, conditions: conditions, binds: binds, after: after,
            pageSize: pageSize, filterHash: filterHash, read: Self.readSweep
        ) { ($0.createdAt, $0.id) }
        return SweepPage(sweeps: page, nextPageToken: next)
    }

    public func saveSweepResults(sweepId: String, _ rows: [SweepResultRow]) async throws {
        guard !rows.isEmpty else { return }
        // Encoded on the caller's task; the writer only binds.
        let encoded = try rows.map { r throws(StoreError) in
            (r, Self.encode(r.params), try r.statistics.map { s throws(StoreError) in try SessionJSON.encode(s) })
        }
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let s = try db.prepare(
                    "INSERT OR REPLACE INTO backtest_sweep_results (sweep_id, combination, params, statistics, error, session_id) VALUES (?, ?, ?, ?, ?, ?)"
                )
                for (row, params, statistics) in encoded {
                    s.reset()
                    s.bind(1, sweepId)
                    s.bind(2, row.combination)
                    s.bind(3, params)
                    if let statistics { s.bind(4, statistics) } else { s.bindNull(4) }
                    s.bind(5, row.error)
                    s.bind(6, row.sessionId)
                    try s.run()
                }
            }
        }
        await checkpointer.throttle()
    }

    public func sweepResults(_ query: SweepResultQuery) async throws -> SweepResultPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        // The key is bound, but it also names the listing: only plain property names.
        guard !query.sortKey.isEmpty, query.sortKey.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw StoreError.invalid("sort key \"\(query.sortKey)\" is not a statistic")
        }
        let fingerprint = PageTokenText.fingerprint([query.sweepId, query.sortKey, query.descending ? "d" : "a"])
        let offset =
            query.pageToken.isEmpty
            ? 0 : try OffsetPageToken(decoding: query.pageToken, expectedFingerprint: fingerprint).offset
        let path = "$." + query.sortKey
        // NaN is stored as the string "NaN", and failed rows have no statistics: both
        // sort after every number, in either direction; ties by combination. The
        // infinities, stored as the strings "Infinity" and "-Infinity", are values
        // (9e999 is SQLite's infinity), as the sweep ranks them and as QuestDB sorts them.
        let sql = """
            SELECT combination, params, statistics, error, session_id FROM \
            (SELECT *, typeof(v) IN ('integer', 'real') AS ranked FROM \
            (SELECT *, CASE json_extract(statistics, ?1) WHEN 'Infinity' THEN 9e999 WHEN '-Infinity' THEN -9e999 \
            ELSE json_extract(statistics, ?1) END AS v FROM backtest_sweep_results WHERE sweep_id = ?2)) \
            ORDER BY ranked DESC, CASE WHEN ranked THEN v END \(query.descending ? "DESC" : "ASC"), combination \
            LIMIT ?3 OFFSET ?4
            """
        let rows = try await reader().run { db throws(StoreError) in
            let s = try db.prepare(sql)
            s.bind(1, path)
            s.bind(2, query.sweepId)
            s.bind(3, pageSize + 1)
            s.bind(4, offset)
            var out: [SweepResultRow] = []
            while try s.step() {
                out.append(
                    SweepResultRow(
                        combination: s.int64(0), params: try Self.decodeParams(s.text(1)),
                        statistics: try s.isNull(2) ? nil : SessionJSON.decodeStatistics(s.text(2)), error: s.text(3),
                        sessionId: s.text(4)))
            }
            return out
        }
        guard rows.count > pageSize else { return SweepResultPage(rows: rows, nextPageToken: "") }
        return SweepResultPage(
            rows: Array(rows.prefix(pageSize)),
            nextPageToken: OffsetPageToken(offset: offset + pageSize, fingerprint: fingerprint).encoded())
    }

    public func saveWalkForwardWindow(sweepId: String, _ w: WalkForwardWindowRow) async throws {
        let params = Self.encode(w.params)
        let inSample = try w.inSampleStatistics.map { s throws(StoreError) in try SessionJSON.encode(s) }
        let outOfSample = try w.outOfSampleStatistics.map { s throws(StoreError) in try SessionJSON.encode(s) }
        try await writer.run { db throws(StoreError) in
            let s = try db.prepare(
                """
                INSERT OR REPLACE INTO backtest_walk_forward_windows (sweep_id, window_index, in_sample_start, \
                in_sample_end, out_of_sample_start, out_of_sample_end, combination, params, in_sample_value, \
                in_sample_statistics, initial_capital, out_of_sample_statistics, error) \
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            s.bind(1, sweepId)
            s.bind(2, w.index)
            s.bind(3, w.inSample.start)
            s.bind(4, w.inSample.end)
            s.bind(5, w.outOfSample.start)
            s.bind(6, w.outOfSample.end)
            s.bind(7, w.combination)
            s.bind(8, params)
            s.bind(9, w.inSampleValue)
            if let inSample { s.bind(10, inSample) } else { s.bindNull(10) }
            s.bind(11, w.initialCapital)
            if let outOfSample { s.bind(12, outOfSample) } else { s.bindNull(12) }
            s.bind(13, w.error)
            try s.run()
        }
        await checkpointer.throttle()
    }

    public func walkForwardWindows(sweepId: String) async throws -> [WalkForwardWindowRow] {
        try await reader().run { db throws(StoreError) in
            let s = try db.prepare(
                """
                SELECT window_index, in_sample_start, in_sample_end, out_of_sample_start, out_of_sample_end, \
                combination, params, in_sample_value, in_sample_statistics, initial_capital, \
                out_of_sample_statistics, error FROM backtest_walk_forward_windows WHERE sweep_id = ? \
                ORDER BY window_index
                """)
            s.bind(1, sweepId)
            var out: [WalkForwardWindowRow] = []
            while try s.step() {
                out.append(
                    WalkForwardWindowRow(
                        index: Int(s.int64(0)), inSample: TimeRange(start: s.int64(1), end: s.int64(2)),
                        outOfSample: TimeRange(start: s.int64(3), end: s.int64(4)), combination: s.optionalInt64(5),
                        params: try Self.decodeParams(s.text(6)), inSampleValue: s.double(7),
                        inSampleStatistics: try s.isNull(8) ? nil : SessionJSON.decodeStatistics(s.text(8)),
                        initialCapital: s.double(9),
                        outOfSampleStatistics: try s.isNull(10) ? nil : SessionJSON.decodeStatistics(s.text(10)),
                        error: s.text(11)))
            }
            return out
        }
    }

    /// `n1=5.0,n2=20.0`: names are identifiers, and Swift's shortest decimal form of a
    /// double reads back as the same double.
    static func encode(_ params: [SweepParam]) -> String {
        params.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }

    static func decodeParams(_ text: String) throws(StoreError) -> [SweepParam] {
        guard !text.isEmpty else { return [] }
        var out: [SweepParam] = []
        for part in text.split(separator: ",") {
            guard let eq = part.firstIndex(of: "="), let value = Double(part[part.index(after: eq)...]) else {
                throw StoreError.failed("stored sweep parameters cannot be decoded: \"\(text.prefix(64))\"")
            }
            out.append(SweepParam(name: String(part[..<eq]), value: value))
        }
        return out
    }
}
