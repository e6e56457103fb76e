import BacktestEngine

extension QuestDBStore {
    public func marketSeries(symbol: String) async throws -> [MarketSeries] {
        try await awaitVisible(QuestDBSchema.candles, QuestDBSchema.ticks)
        var out: [MarketSeries] = []
        for row in try await rows(QuestDBSQL.candleSeries(symbol: symbol)) where row.count == 5 {
            out.append(
                MarketSeries(
                    symbol: QuestDBRows.text(row[0]), kind: .candles, timeframe: QuestDBRows.text(row[1]),
                    firstTime: try QuestDBRows.int(row[2], "min(ts)"), lastTime: try QuestDBRows.int(row[3], "max(ts)"),
                    rows: UInt64(try QuestDBRows.int(row[4], "count()"))))
        }
        for row in try await rows(QuestDBSQL.tickSeries(symbol: symbol)) where row.count == 4 {
            out.append(
                MarketSeries(
                    symbol: QuestDBRows.text(row[0]), kind: .ticks, timeframe: "",
                    firstTime: try QuestDBRows.int(row[1], "min(ts)"), lastTime: try QuestDBRows.int(row[2], "max(ts)"),
                    rows: UInt64(try QuestDBRows.int(row[3], "count()"))))
        }
        // The same order as SQLiteStore: symbol, candles before ticks, then interval.
        func order(_ s: MarketSeries) -> (String, Int, Int64) {
            (s.symbol, s.kind == .candles ? 0 : 1, (try? Timeframe(parsing: s.timeframe))?.micros ?? 0)
        }
        return out.sorted { order($0) < order($1) }
    }

    public func candles(symbol: String, timeframe: Timeframe, range: TimeRange, batchSize: Int) async throws
        -> any RowCursor<Candle>
    {
        guard let interval = timeframe.micros else {
            throw StoreError.invalid("candles need an interval timeframe, not \"tick\"")
        }
        try await awaitVisible(QuestDBSchema.candles, QuestDBSchema.ticks)
        let limit = max(1, batchSize)
        if !(try await rows(QuestDBSQL.candlesExist(symbol: symbol, timeframe: timeframe.description))).isEmpty {
            // Queries of at least `page` rows, handed out `limit` at a time: each query
            // costs QuestDB a few milliseconds however small, and a run reads in 8192s.
            let page = max(limit, Self.readPageRows)
            var from = range.start
            var exhausted = range.isEmpty
            var pending: ArraySlice<Candle> = []
            return BatchCursor { [self] in
                if pending.isEmpty && !exhausted {
                    let found = try await rows(
                        QuestDBSQL.candles(
                            symbol: symbol, timeframe: timeframe.description, from: from, end: range.end, limit: page))
                    let fetched = try found.map { row throws(StoreError) in try QuestDBRows.candle(row) }
                    exhausted = fetched.count < page
                    if let last = fetched.last { from = last.time + 1 }
                    pending = fetched[...]
                }
                guard !pending.isEmpty else { return exhausted ? nil : [] }
                let batch = Array(pending.prefix(limit))
                pending = pending.dropFirst(limit)
                return batch
            }
        }
        guard !(try await rows(QuestDBSQL.ticksExist(symbol: symbol))).isEmpty else {
            return BatchCursor<Candle>.empty()
        }
        if QuestDBSQL.candlesFromTicks(symbol: symbol, interval: timeframe, from: 0, end: 0, limit: 1) != nil {
            // QuestDB aggregates (SAMPLE BY); the next batch starts at the bucket after the last.
            var from = range.start
            var exhausted = range.isEmpty
            return BatchCursor { [self] in
                guard !exhausted,
                    let q = QuestDBSQL.candlesFromTicks(
                        symbol: symbol, interval: timeframe, from: from, end: range.end, limit: limit)
                else { return nil }
                let batch = try await rows(q).map { row throws(StoreError) in try QuestDBRows.candle(row) }
                exhausted = batch.count < limit
                if let last = batch.last { from = last.time + interval }
                return batch
            }
        }
        // Intervals that do not divide a day: SAMPLE BY's calendar grid would differ from
        // the epoch grid every other path uses, so aggregate here.
        return TickCandleCursor(
            ticks: tickCursor(symbol: symbol, range: range, batchSize: max(limit, 4096)), interval: interval,
            batchSize: limit
        ).cursor
    }

    public func ticks(symbol: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<Tick> {
        try await awaitVisible(QuestDBSchema.ticks)
        return tickCursor(symbol: symbol, range: range, batchSize: batchSize)
    }

    func tickCursor(symbol: String, range: TimeRange, batchSize: Int) -> BatchCursor<Tick> {
        let limit = max(1, batchSize)
        var from = range.start
        var exhausted = range.isEmpty
        return BatchCursor { [self] in
            while !exhausted {
                let found = try await rows(QuestDBSQL.ticks(symbol: symbol, from: from, end: range.end, limit: limit))
                let decoded = try found.map { row throws(StoreError) in try QuestDBRows.tick(row) }
                switch TickPaging.step(decoded, limit: limit) {
                case .emit(let ticks, let next):
                    if let next { from = next } else { exhausted = true }
                    if !ticks.isEmpty || exhausted { return ticks }
                case .fetchAll(let time):
                    let all = try await rows(QuestDBSQL.ticks(symbol: symbol, from: time, end: time + 1, limit: nil))
                    from = time + 1
                    exhausted = from >= range.end
                    return TickPaging.ordered(try all.map { row throws(StoreError) in try QuestDBRows.tick(row) })
                }
            }
            return nil
        }
    }

    public func beginImport(symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool)
        async throws -> any MarketDataImport
    {
        try QuestDBMarketImport(
            store: self, symbol: symbol, kind: kind, timeframe: timeframe, replaceExisting: replaceExisting)
    }

    /// Stored times of a series in [first, last], one per row, in time order.
    func storedTimes(kind: MarketSeries.Kind, symbol: String, timeframe: String, first: Int64, last: Int64) async throws
        -> [Int64]
    {
        let limit = 65_536
        var out: [Int64] = []
        var from = first
        while true {
            let found = try await rows(
                QuestDBSQL.storedTimes(
                    kind: kind, symbol: symbol, timeframe: timeframe, from: from, last: last, limit: limit))
            let times = try found.map { row throws(StoreError) in try QuestDBRows.int(row[0], "ts") }
            if times.count < limit { return out + times }
            // Same paging as ticks: the last time of a full batch is read again, whole.
            let lastTime = times[times.count - 1]
            let keep = times.filter { $0 < lastTime }
            if keep.isEmpty {
                let all = try await rows(
                    QuestDBSQL.storedTimes(
                        kind: kind, symbol: symbol, timeframe: timeframe, from: lastTime, last: lastTime, limit: nil))
                out += Array(repeating: lastTime, count: all.count)
                if lastTime == last { return out }
                from = lastTime + 1
            } else {
                out += keep
                from = lastTime
            }
        }
    }
}
