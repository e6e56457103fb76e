import BacktestEngine

extension SQLiteStore {
    static func chunkTable(_ kind: MarketSeries.Kind) -> String {
        kind == .candles ? "market_candles" : "market_ticks"
    }

    public func marketSeries(symbol: String) async throws -> [MarketSeries] {
        try await reader().run { db throws(StoreError) in
            var out: [MarketSeries] = []
            for kind in [MarketSeries.Kind.candles, .ticks] {
                let table = Self.chunkTable(kind)
                let s = try db.prepare(
                    """
                    SELECT s.symbol, s.timeframe, min(c.first_time), max(c.last_time), sum(c.count) \
                    FROM market_series s JOIN \(table) c ON c.series_id = s.id \
                    WHERE s.kind = ? AND (? = '' OR s.symbol = ?) GROUP BY s.id
                    """)
                s.bind(1, kind.rawValue)
                s.bind(2, symbol)
                s.bind(3, symbol)
                while try s.step() {
                    out.append(
                        MarketSeries(
                            symbol: s.text(0), kind: kind, timeframe: s.text(1), firstTime: s.int64(2),
                            lastTime: s.int64(3), rows: UInt64(s.int64(4))))
                }
            }
            // A stable order for listings: symbol, then candles before ticks, then interval.
            return out.sorted {
                ($0.symbol, $0.kind == .candles ? 0 : 1, Self.intervalOrder($0.timeframe))
                    < ($1.symbol, $1.kind == .candles ? 0 : 1, Self.intervalOrder($1.timeframe))
            }
        }
    }

    private static func intervalOrder(_ timeframe: String) -> Int64 {
        (try? Timeframe(parsing: timeframe))?.micros ?? 0
    }

    /// The id of a stored series, nil when there is none.
    func seriesId(symbol: String, kind: MarketSeries.Kind, timeframe: String) async throws -> Int64? {
        try await reader().run { db throws(StoreError) in
            let s = try db.prepare("SELECT id FROM market_series WHERE symbol = ? AND kind = ? AND timeframe = ?")
            s.bind(1, symbol)
            s.bind(2, kind.rawValue)
            s.bind(3, timeframe)
            return try s.step() ? s.int64(0) : nil
        }
    }

    public func candles(symbol: String, timeframe: Timeframe, range: TimeRange, batchSize: Int) async throws
        -> any RowCursor<Candle>
    {
        guard let interval = timeframe.micros else {
            throw StoreError.invalid("candles need an interval timeframe, not \"tick\"")
        }
        if let id = try await seriesId(symbol: symbol, kind: .candles, timeframe: timeframe.description) {
            return chunkCursor(table: "market_candles", seriesId: id, range: range, batchSize: batchSize)
                as BatchCursor<Candle>
        }
        guard let id = try await seriesId(symbol: symbol, kind: .ticks, timeframe: "") else {
            return BatchCursor<Candle>.empty()
        }
        let ticks: BatchCursor<Tick> = chunkCursor(
            table: "market_ticks", seriesId: id, range: range, batchSize: max(batchSize, 4096))
        return TickCandleCursor(ticks: ticks, interval: interval, batchSize: max(1, batchSize)).cursor
    }

    public func ticks(symbol: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<Tick> {
        guard let id = try await seriesId(symbol: symbol, kind: .ticks, timeframe: "") else {
            return BatchCursor<Tick>.empty()
        }
        return chunkCursor(table: "market_ticks", seriesId: id, range: range, batchSize: batchSize) as BatchCursor<Tick>
    }

    /// Rows of one series in `range`, in time order (chunks by first time, then by the
    /// order they were stored), at most `batchSize` per batch. Each batch is one short
    /// query on a reader connection keyed by the last chunk read.
    func chunkCursor<Row: ColumnarRow>(table: String, seriesId: Int64, range: TimeRange, batchSize: Int) -> BatchCursor<
        Row
    > {
        let limit = max(1, batchSize)
        var lastKey = (first: Int64.min, seq: Int64.min)
        var pending: [Row] = []
        var exhausted = range.isEmpty
        let sql = """
            SELECT first_time, seq, count, data FROM \(table) \
            WHERE series_id = ? AND (first_time, seq) > (?, ?) AND first_time < ? AND last_time >= ? \
            ORDER BY first_time, seq
            """
        return BatchCursor { [self] in
            while pending.count < limit && !exhausted {
                let after = lastKey
                let need = limit - pending.count
                let (rows, last, more) = try await reader().run { db throws(StoreError) in
                    let s = try db.prepare(sql)
                    s.bind(1, seriesId)
                    s.bind(2, after.first)
                    s.bind(3, after.seq)
                    s.bind(4, range.end)
                    s.bind(5, range.start)
                    var out: [Row] = []
                    out.reserveCapacity(need + ColumnChunk.capacity)
                    var last = after
                    while out.count < need, try s.step() {
                        last = (s.int64(0), s.int64(1))
                        let count = Int(s.int64(2))
                        try s.withBlob(3) { blob throws(StoreError) in
                            try ColumnChunk.decode(blob, count: count, into: &out, keep: range)
                        }
                    }
                    let more = out.count >= need
                    s.reset()
                    return (out, last, more)
                }
                if pending.isEmpty { pending = rows } else { pending += rows }
                lastKey = last
                exhausted = !more
            }
            if pending.count <= limit {
                defer { pending = [] }
                return pending
            }
            let batch = Array(pending.prefix(limit))
            pending.removeFirst(limit)
            return batch
        }
    }

    public func beginImport(symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool)
        async throws -> any MarketDataImport
    {
        try SQLiteMarketImport(
            store: self, symbol: symbol, kind: kind, timeframe: timeframe, replaceExisting: replaceExisting)
    }
}
