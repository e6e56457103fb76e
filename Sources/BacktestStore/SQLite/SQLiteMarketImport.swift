import BacktestEngine
import TimeKit

/// An all-or-nothing import into SQLite. Rows are validated as they arrive and staged
/// as column chunks in a TEMP table of the import's own connection (temp writes take
/// no lock on the database file, so sessions keep saving during a long import). Commit
/// moves them into the series in ONE write transaction that also checks conflicts or
/// replaces the imported time range; abort (or an error) drops the staging table, so
/// nothing of a failed import is ever visible.
final class SQLiteMarketImport: MarketDataImport {
    private enum State { case open, committed, aborted }

    private let executor: SQLiteExecutor
    private let checkpointer: SQLiteCheckpointer
    private let symbol: String
    private let kind: MarketSeries.Kind
    private let timeframe: String
    private let replaceExisting: Bool
    private var candles: [Candle] = []
    private var ticks: [Tick] = []
    private var firstTime: Int64?
    private var lastTime: Int64?
    private var rows: UInt64 = 0
    private var state = State.open

    init(store: SQLiteStore, symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool)
        throws(StoreError)
    {
        self.symbol = symbol
        self.kind = kind
        self.timeframe = try Self.canonicalTimeframe(kind: kind, timeframe)
        self.replaceExisting = replaceExisting
        let checkpointer = store.checkpointer
        self.checkpointer = checkpointer
        guard !symbol.isEmpty, symbol.utf8.count <= 256 else {
            throw StoreError.invalid("symbol must be 1 to 256 bytes, got \(symbol.utf8.count)")
        }
        executor = try SQLiteExecutor(path: store.path, label: "sqlite-import") { db throws(StoreError) in
            try db.execute(SQLiteSchema.connectionPragmas)
            try checkpointer.watch(db)
            try db.execute(
                "CREATE TEMP TABLE import_chunks (seq INTEGER PRIMARY KEY, first_time INTEGER NOT NULL, last_time INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL)"
            )
        }
    }

    static func canonicalTimeframe(kind: MarketSeries.Kind, _ text: String) throws(StoreError) -> String {
        switch kind {
        case .ticks:
            guard text.isEmpty || text == "tick" else {
                throw StoreError.invalid("ticks take no timeframe, got \"\(text)\"")
            }
            return ""
        case .candles:
            let timeframe: Timeframe
            do { timeframe = try Timeframe(parsing: text) } catch { throw StoreError.invalid(error.description) }
            guard timeframe != .tick else {
                throw StoreError.invalid("candles need an interval timeframe such as 1m or 1d, not \"tick\"")
            }
            return timeframe.description
        }
    }

    private func checkOpen(_ wanted: MarketSeries.Kind) throws(StoreError) {
        guard state == .open else {
            throw StoreError.invalid(
                "the import of \(symbol) is already \(state == .committed ? "committed" : "aborted")")
        }
        guard wanted == kind else {
            throw StoreError.invalid("the import of \(symbol) takes \(kind.rawValue), not \(wanted.rawValue)")
        }
    }

    private func accept(time: Int64, problem: MarketRowCheck.Problem?, index: Int, strictly: Bool) throws(StoreError) {
        let rowNumber = rows + UInt64(index) + 1
        if let problem = problem ?? MarketRowCheck.order(previous: lastTime, time: time, strictly: strictly) {
            throw StoreError.invalid("\(symbol) row \(rowNumber), column \(problem.column): \(problem.message)")
        }
        if firstTime == nil { firstTime = time }
        lastTime = time
    }

    func append(candles batch: [Candle]) async throws {
        try checkOpen(.candles)
        do {
            for (i, candle) in batch.enumerated() {
                try accept(time: candle.time, problem: MarketRowCheck.problem(candle), index: i, strictly: true)
            }
        } catch {
            await abort()
            throw error
        }
        rows += UInt64(batch.count)
        candles += batch
        if candles.count >= ColumnChunk.capacity { try await stage(&candles, all: false) }
    }

    func append(ticks batch: [Tick]) async throws {
        try checkOpen(.ticks)
        do {
            for (i, tick) in batch.enumerated() {
                try accept(time: tick.time, problem: MarketRowCheck.problem(tick), index: i, strictly: false)
            }
        } catch {
            await abort()
            throw error
        }
        rows += UInt64(batch.count)
        ticks += batch
        if ticks.count >= ColumnChunk.capacity { try await stage(&ticks, all: false) }
    }

    /// Moves full chunks (or, with `all`, everything) from the buffer to the staging table.
    private func stage<Row: ColumnarRow>(_ buffer: inout [Row], all: Bool) async throws(StoreError) {
        var chunks: [StagedChunk] = []
        var start = 0
        while buffer.count - start >= ColumnChunk.capacity || (all && start < buffer.count) {
            let end = min(start + ColumnChunk.capacity, buffer.count)
            chunks.append(StagedChunk(buffer[start..<end]))
            start = end
        }
        buffer.removeFirst(start)
        guard !chunks.isEmpty else { return }
        let staged = chunks
        do throws(StoreError) {
            try await executor.run { db throws(StoreError) in
                // A plain BEGIN: only the temp database is written, the main file stays unlocked.
                try db.execute("BEGIN")
                do throws(StoreError) {
                    let s = try db.prepare(
                        "INSERT INTO temp.import_chunks (first_time, last_time, count, data) VALUES (?, ?, ?, ?)")
                    for chunk in staged { try chunk.insert(s) }
                    try db.execute("COMMIT")
                } catch {
                    try? db.execute("ROLLBACK")
                    throw error
                }
            }
        } catch {
            await abort()
            throw error
        }
    }

    func commit() async throws -> MarketSeries {
        try checkOpen(kind)
        guard let firstTime, let lastTime, rows > 0 else {
            await abort()
            throw StoreError.invalid("the import of \(symbol) has no rows")
        }
        let result = MarketSeries(
            symbol: symbol, kind: kind, timeframe: timeframe, firstTime: firstTime, lastTime: lastTime, rows: rows)
        do {
            switch kind {
            case .candles:
                try await stage(&candles, all: true)
                try await executor.run { [symbol, kind, timeframe, replaceExisting] db throws(StoreError) in
                    try Self.move(
                        Candle.self, db: db, symbol: symbol, kind: kind, timeframe: timeframe, first: firstTime,
                        last: lastTime, replace: replaceExisting)
                }
            case .ticks:
                try await stage(&ticks, all: true)
                try await executor.run { [symbol, kind, timeframe, replaceExisting] db throws(StoreError) in
                    try Self.move(
                        Tick.self, db: db, symbol: symbol, kind: kind, timeframe: timeframe, first: firstTime,
                        last: lastTime, replace: replaceExisting)
                }
            }
        } catch {
            await abort()
            throw error
        }
        state = .committed
        await executor.close()
        await checkpointer.throttle()
        return result
    }

    func abort() async {
        guard state == .open else { return }
        state = .aborted
        candles = []
        ticks = []
        // Closing the connection drops its TEMP staging table.
        await executor.close()
    }

    /// The commit transaction: stored rows in [first, last] either conflict (a stored
    /// row at an imported time, without replace), are merged with the import (no time
    /// in common), or are dropped (replace). Chunks of one series never overlap in time,
    /// but tick chunks may share their boundary time (a run of equal times cut by a chunk).
    private static func move<Row: ColumnarRow>(
        _: Row.Type, db: SQLiteConnection, symbol: String, kind: MarketSeries.Kind,
        timeframe: String, first: Int64, last: Int64, replace: Bool
    ) throws(StoreError) {
        let table = SQLiteStore.chunkTable(kind)
        try db.transaction { () throws(StoreError) in
            let upsert = try db.prepare(
                "INSERT OR IGNORE INTO market_series (symbol, kind, timeframe) VALUES (?, ?, ?)")
            upsert.bind(1, symbol)
            upsert.bind(2, kind.rawValue)
            upsert.bind(3, timeframe)
            try upsert.run()
            let find = try db.prepare("SELECT id FROM market_series WHERE symbol = ? AND kind = ? AND timeframe = ?")
            find.bind(1, symbol)
            find.bind(2, kind.rawValue)
            find.bind(3, timeframe)
            guard try find.step() else { throw StoreError.failed("series \(symbol) vanished during its import") }
            let seriesId = find.int64(0)
            find.reset()

            // Stored chunks touching [first, last].
            let (low, high) = try rewriteWindow(db: db, table: table, seriesId: seriesId, first: first, last: last)
            let overlapping = try db.prepare(
                "SELECT seq, first_time, last_time, count, data FROM main.\(table) WHERE series_id = ? AND last_time >= ? AND first_time <= ? ORDER BY first_time, seq"
            )
            overlapping.bind(1, seriesId)
            overlapping.bind(2, low)
            overlapping.bind(3, high)
            var touched: [Int64] = []
            var kept: [Row] = []
            var inside: [Row] = []
            while try overlapping.step() {
                touched.append(overlapping.int64(0))
                let wholeInside = overlapping.int64(1) >= first && overlapping.int64(2) <= last
                if wholeInside && replace { continue }
                var decoded: [Row] = []
                let count = Int(overlapping.int64(3))
                try overlapping.withBlob(4) { blob throws(StoreError) in
                    try ColumnChunk.decode(blob, count: count, into: &decoded)
                }
                for row in decoded {
                    if row.time < first || row.time > last { kept.append(row) } else { inside.append(row) }
                }
            }
            overlapping.reset()

            var merge = false
            if !inside.isEmpty && !replace {
                let collisions = try importedTimes(
                    Row.self, db: db, within: inside[0].time...inside[inside.count - 1].time,
                    matching: Set(inside.map(\.time)))
                if !collisions.isEmpty {
                    let firstCollision = collisions.min()!
                    throw StoreError.conflict(
                        "\(symbol) \(kind == .candles ? timeframe + " candles" : "ticks"): \(collisions.count) imported row(s) at times already stored (first \(UTCTime.format(firstCollision))); import with replace_existing to replace that range"
                    )
                }
                merge = true
            }

            let delete = try db.prepare("DELETE FROM main.\(table) WHERE seq = ?")
            for seq in touched {
                delete.reset()
                delete.bind(1, seq)
                try delete.run()
            }
            let insert = try db.prepare(
                "INSERT INTO main.\(table) (series_id, first_time, last_time, count, data) VALUES (?, ?, ?, ?, ?)")
            func write(_ rows: ArraySlice<Row>) throws(StoreError) {
                var start = rows.startIndex
                while start < rows.endIndex {
                    let end = min(start + ColumnChunk.capacity, rows.endIndex)
                    insert.reset()
                    insert.bind(1, seriesId)
                    try StagedChunk(rows[start..<end]).insert(insert, from: 2)
                    start = end
                }
            }
            try write(kept.filter { $0.time < first }[...])
            try write(kept.filter { $0.time > last }[...])

            if merge {
                // Interleave the stored rows with the imported ones (no time in common).
                let staged = try db.prepare("SELECT count, data FROM temp.import_chunks ORDER BY seq")
                var pending: [Row] = []
                var j = 0
                while try staged.step() {
                    var imported: [Row] = []
                    let count = Int(staged.int64(0))
                    try staged.withBlob(1) { blob throws(StoreError) in
                        try ColumnChunk.decode(blob, count: count, into: &imported)
                    }
                    for row in imported {
                        while j < inside.count && inside[j].time < row.time {
                            pending.append(inside[j])
                            j += 1
                        }
                        pending.append(row)
                    }
                    if pending.count >= ColumnChunk.capacity {
                        let full = pending.count / ColumnChunk.capacity * ColumnChunk.capacity
                        try write(pending[..<full])
                        pending.removeFirst(full)
                    }
                }
                staged.reset()
                pending += inside[j...]
                try write(pending[...])
            } else {
                let copy = try db.prepare(
                    "INSERT INTO main.\(table) (series_id, first_time, last_time, count, data) SELECT ?, first_time, last_time, count, data FROM temp.import_chunks ORDER BY seq"
                )
                copy.bind(1, seriesId)
                try copy.run()
            }
        }
    }

    /// The time window whose chunks the commit rewrites: the chunks touching [first,
    /// last], and with them every chunk that shares a time with one of them. Rewritten
    /// rows get new (higher) seqs, and reads order chunks by (first_time, seq): a chunk
    /// left in place that starts at the time a rewritten one ends would otherwise be read
    /// before it, and a run of same-time ticks would come back out of arrival order.
    private static func rewriteWindow(
        db: SQLiteConnection, table: String, seriesId: Int64, first: Int64,
        last: Int64
    ) throws(StoreError) -> (low: Int64, high: Int64) {
        let extent = try db.prepare(
            "SELECT min(first_time), max(last_time) FROM main.\(table) WHERE series_id = ? AND last_time >= ? AND first_time <= ?"
        )
        var low = first, high = last
        while true {
            extent.bind(1, seriesId)
            extent.bind(2, low)
            extent.bind(3, high)
            let found = try extent.step() && !extent.isNull(0)
            let (l, h) = found ? (min(low, extent.int64(0)), max(high, extent.int64(1))) : (low, high)
            extent.reset()
            // Chunks are disjoint but for shared boundary times: after the first pass the
            // window grows only while a neighbour shares one.
            if l == low && h == high { return (low, high) }
            (low, high) = (l, h)
        }
    }

    /// Imported times in `window` that are also in `stored`.
    private static func importedTimes<Row: ColumnarRow>(
        _: Row.Type, db: SQLiteConnection, within window: ClosedRange<Int64>,
        matching stored: Set<Int64>
    ) throws(StoreError) -> [Int64] {
        let s = try db.prepare(
            "SELECT count, data FROM temp.import_chunks WHERE last_time >= ? AND first_time <= ? ORDER BY seq")
        s.bind(1, window.lowerBound)
        s.bind(2, window.upperBound)
        var hits: [Int64] = []
        while try s.step() {
            var rows: [Row] = []
            let count = Int(s.int64(0))
            try s.withBlob(1) { blob throws(StoreError) in try ColumnChunk.decode(blob, count: count, into: &rows) }
            hits += rows.lazy.map(\.time).filter { stored.contains($0) }
        }
        s.reset()
        return hits
    }
}

/// One encoded chunk and its time bounds (rows are sorted, so first and last).
struct StagedChunk: Sendable {
    var first: Int64
    var last: Int64
    var count: Int
    var data: [UInt8]

    init<Row: ColumnarRow>(_ rows: ArraySlice<Row>) {
        first = rows.first!.time
        last = rows.last!.time
        count = rows.count
        data = ColumnChunk.encode(rows)
    }

    /// Binds (first_time, last_time, count, data) from parameter `index` on and runs.
    func insert(_ s: SQLiteStatement, from index: Int32 = 1) throws(StoreError) {
        s.bind(index, first)
        s.bind(index + 1, last)
        s.bind(index + 2, count)
        s.bind(index + 3, blob: data)
        try s.run()
        s.reset()
    }
}
