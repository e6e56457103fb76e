import BacktestEngine
import Foundation
import TimeKit

/// Rows to ILP lines (writes) and PG-wire result rows back to values (reads), as pure
/// functions. Conventions: SYMBOL columns go as ILP symbols, everything else as
/// fields; a nil optional is an omitted field (QuestDB stores NULL); a NULL DOUBLE
/// reads back as NaN (QuestDB stores NaN as NULL); request bytes are base64 text.
enum QuestDBRows {
    // MARK: ILP

    static func appendSession(_ r: SessionRecord, owner: String = "", to buffer: inout ILPBuffer) throws(StoreError) {
        var columns: [(String, ILPBuffer.Value)] = [
            ("session_id", .string(r.id)),
            ("timeframe", .string(r.timeframe)),
            ("range_start", .timestampMicros(r.range.start)),
            ("range_end", .timestampMicros(r.range.end)),
            ("strategy_name", .string(r.strategyName)),
            ("acceleration_factor", .double(r.accelerationFactor)),
            ("request_b64", .string(Data(r.request).base64EncodedString())),
            ("client_request_id", .string(r.clientRequestId)),
            ("labels", .string(try SessionJSON.encode(r.labels))),
            ("progress_pct", .double(r.progressPct)),
        ]
        if let simTime = r.simTime { columns.append(("sim_time", .timestampMicros(simTime))) }
        columns += [
            ("events_processed", .long(Int64(bitPattern: r.eventsProcessed))),
            ("final_pnl", .double(r.finalPnl)),
            ("total_trades", .long(Int64(bitPattern: r.totalTrades))),
            ("win_rate_pct", .double(r.winRatePct)),
        ]
        if let statistics = r.statistics { columns.append(("statistics", .string(try SessionJSON.encode(statistics)))) }
        if let startedAt = r.startedAt { columns.append(("started_at", .timestampMicros(startedAt))) }
        if let completedAt = r.completedAt { columns.append(("completed_at", .timestampMicros(completedAt))) }
        columns += [("error_message", .string(r.errorMessage)), ("stop_reason", .string(r.stopReason))]
        // An empty SYMBOL value is not valid ILP: an empty symbol is left out (NULL, read back as "").
        var symbols = [("state", r.state.rawValue)]
        if !owner.isEmpty { symbols.append(("owner", owner)) }
        if !r.symbol.isEmpty { symbols.append(("symbol", r.symbol)) }
        try row(&buffer, QuestDBSchema.sessions, symbols: symbols, columns: columns, at: r.createdAt)
    }

    /// The row that marks a session deleted (QuestDBSchema.deleted), by `owner` at `micros`.
    static func appendTombstone(_ sessionId: String, owner: String, at micros: Int64, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try row(
            &buffer, QuestDBSchema.deleted, symbols: owner.isEmpty ? [] : [("owner", owner)],
            columns: [("session_id", .string(sessionId))], at: micros)
    }

    static func appendSweep(_ r: SweepRecord, owner: String = "", to buffer: inout ILPBuffer) throws(StoreError) {
        var columns: [(String, ILPBuffer.Value)] = [
            ("sweep_id", .string(r.id)),
            ("timeframe", .string(r.timeframe)),
            ("range_start", .timestampMicros(r.range.start)),
            ("range_end", .timestampMicros(r.range.end)),
            ("strategy_name", .string(r.strategyName)),
            ("request_b64", .string(Data(r.request).base64EncodedString())),
            ("objective", .string(r.objective)),
            ("maximize", .bool(r.maximize)),
            ("total", .long(Int64(bitPattern: r.total))),
            ("done", .long(Int64(bitPattern: r.done))),
            ("failed", .long(Int64(bitPattern: r.failed))),
            ("top_k", .long(Int64(r.topK))),
        ]
        if let best = r.bestCombination { columns.append(("best_combination", .long(best))) }
        columns.append(("best_value", .double(r.bestValue)))
        if let startedAt = r.startedAt { columns.append(("started_at", .timestampMicros(startedAt))) }
        if let completedAt = r.completedAt { columns.append(("completed_at", .timestampMicros(completedAt))) }
        columns += [("error_message", .string(r.errorMessage)), ("stop_reason", .string(r.stopReason))]
        if let stitched = r.stitchedStatistics {
            columns.append(("stitched_statistics", .string(try SessionJSON.encode(stitched))))
        }
        columns.append(("stitched_session_id", .string(r.stitchedSessionId)))
        var symbols = [("state", r.state.rawValue)]
        if !owner.isEmpty { symbols.append(("owner", owner)) }
        if !r.symbol.isEmpty { symbols.append(("symbol", r.symbol)) }
        try row(&buffer, QuestDBSchema.sweeps, symbols: symbols, columns: columns, at: r.createdAt)
    }

    /// One combination's row at write key `key` (the sweep's created_at + combination).
    static func appendSweepResult(sweepId: String, key: Int64, _ r: SweepResultRow, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        var columns: [(String, ILPBuffer.Value)] = [
            ("combination", .long(r.combination)),
            ("params", .string(SQLiteStore.encode(r.params))),
            ("has_statistics", .bool(r.statistics != nil)),
            ("error", .string(r.error)),
            ("session_id", .string(r.sessionId)),
        ]
        if let statistics = r.statistics { columns += QuestDBStatistics.fields(statistics) }
        try row(&buffer, QuestDBSchema.sweepResults, symbols: [("sweep_id", sweepId)], columns: columns, at: key)
    }

    /// One walk-forward window at write key `key` (the sweep's created_at + index).
    static func appendWalkForwardWindow(
        sweepId: String, key: Int64, _ w: WalkForwardWindowRow, to buffer: inout ILPBuffer
    ) throws(StoreError) {
        var columns: [(String, ILPBuffer.Value)] = [
            ("window_index", .long(Int64(w.index))),
            ("in_sample_start", .timestampMicros(w.inSample.start)),
            ("in_sample_end", .timestampMicros(w.inSample.end)),
            ("out_of_sample_start", .timestampMicros(w.outOfSample.start)),
            ("out_of_sample_end", .timestampMicros(w.outOfSample.end)),
        ]
        if let combination = w.combination { columns.append(("combination", .long(combination))) }
        columns += [("params", .string(SQLiteStore.encode(w.params))), ("in_sample_value", .double(w.inSampleValue))]
        if let s = w.inSampleStatistics { columns.append(("in_sample_statistics", .string(try SessionJSON.encode(s)))) }
        columns.append(("initial_capital", .double(w.initialCapital)))
        if let s = w.outOfSampleStatistics {
            columns.append(("out_of_sample_statistics", .string(try SessionJSON.encode(s))))
        }
        columns.append(("error", .string(w.error)))
        try row(&buffer, QuestDBSchema.walkForwardWindows, symbols: [("sweep_id", sweepId)], columns: columns, at: key)
    }

    /// The row that marks a sweep deleted (QuestDBSchema.deletedSweeps).
    static func appendSweepTombstone(_ sweepId: String, owner: String, at micros: Int64, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try row(
            &buffer, QuestDBSchema.deletedSweeps, symbols: owner.isEmpty ? [] : [("owner", owner)],
            columns: [("sweep_id", .string(sweepId))], at: micros)
    }

    /// The escaped start of every result line of one session: `table,session_id=ID`.
    static func resultPrefix(_ table: String, sessionId: String) -> [UInt8] {
        var prefix = Array(table.utf8) + Array(",session_id=".utf8)
        ILPBuffer.escapeName(sessionId, into: &prefix)
        return prefix
    }

    /// One trade at write key `key` (see QuestDBSchema). `prefix` is
    /// resultPrefix(trades, sessionId). Written field by field: runs write many.
    static func appendTrade(prefix: [UInt8], key: Int64, _ t: TradeRecord, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try checkTime(t.entryTime, QuestDBSchema.trades)
        if let exitTime = t.exitTime { try checkTime(exitTime, QuestDBSchema.trades) }
        try checkTime(key, QuestDBSchema.trades)
        buffer.appendUnchecked(prefix)
        buffer.appendUnchecked(t.side == .long ? Tag.sideLong : Tag.sideShort)
        buffer.appendUnchecked(Tag.tradeNumber)
        buffer.appendUnchecked(integer: Int64(t.number))
        buffer.appendUnchecked(byte: UInt8(ascii: "i"))
        buffer.appendUnchecked(Tag.quantity)
        buffer.appendUnchecked(double: t.quantity)
        buffer.appendUnchecked(Tag.entryTime)
        buffer.appendUnchecked(integer: t.entryTime)
        buffer.appendUnchecked(byte: UInt8(ascii: "t"))
        if let exitTime = t.exitTime {
            buffer.appendUnchecked(Tag.exitTime)
            buffer.appendUnchecked(integer: exitTime)
            buffer.appendUnchecked(byte: UInt8(ascii: "t"))
        }
        buffer.appendUnchecked(Tag.entryPrice)
        buffer.appendUnchecked(double: t.entryPrice)
        buffer.appendUnchecked(Tag.exitPrice)
        buffer.appendUnchecked(double: t.exitPrice)
        buffer.appendUnchecked(Tag.pnl)
        buffer.appendUnchecked(double: t.pnl)
        buffer.appendUnchecked(Tag.returnPct)
        buffer.appendUnchecked(double: t.returnPct)
        buffer.appendUnchecked(Tag.commission)
        buffer.appendUnchecked(double: t.commission)
        buffer.appendUnchecked(Tag.entryRule)
        buffer.appendUnchecked(string: t.entryRule)
        buffer.appendUnchecked(Tag.exitRule)
        buffer.appendUnchecked(string: t.exitRule)
        buffer.appendUnchecked(Tag.entryIndex)
        buffer.appendUnchecked(integer: Int64(t.entryIndex))
        buffer.appendUnchecked(byte: UInt8(ascii: "i"))
        if let exitIndex = t.exitIndex {
            buffer.appendUnchecked(Tag.exitIndex)
            buffer.appendUnchecked(integer: Int64(exitIndex))
            buffer.appendUnchecked(byte: UInt8(ascii: "i"))
        }
        buffer.endRowUnchecked(timestamp: key)
    }

    /// One equity sample at write key `key`; `prefix` is resultPrefix(equity, sessionId).
    static func appendEquity(prefix: [UInt8], key: Int64, _ p: EquitySample, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try checkTime(p.time, QuestDBSchema.equity)
        try checkTime(key, QuestDBSchema.equity)
        buffer.appendUnchecked(prefix)
        buffer.appendUnchecked(Tag.simTime)
        buffer.appendUnchecked(integer: p.time)
        buffer.appendUnchecked(byte: UInt8(ascii: "t"))
        buffer.appendUnchecked(Tag.equity)
        buffer.appendUnchecked(double: p.equity)
        buffer.appendUnchecked(Tag.cash)
        buffer.appendUnchecked(double: p.cash)
        buffer.appendUnchecked(Tag.positionSize)
        buffer.appendUnchecked(double: p.positionSize)
        buffer.appendUnchecked(Tag.drawdownPct)
        buffer.appendUnchecked(double: p.drawdownPct)
        buffer.endRowUnchecked(timestamp: key)
    }

    /// `prefix` is `market_candles,symbol=S,timeframe=T` escaped (marketPrefix).
    static func appendCandle(prefix: [UInt8], _ c: Candle, to buffer: inout ILPBuffer) throws(StoreError) {
        try checkTime(c.time, QuestDBSchema.candles)
        buffer.appendUnchecked(prefix)
        buffer.appendUnchecked(Tag.open)
        buffer.appendUnchecked(double: c.open)
        buffer.appendUnchecked(Tag.high)
        buffer.appendUnchecked(double: c.high)
        buffer.appendUnchecked(Tag.low)
        buffer.appendUnchecked(double: c.low)
        buffer.appendUnchecked(Tag.close)
        buffer.appendUnchecked(double: c.close)
        buffer.appendUnchecked(Tag.volume)
        buffer.appendUnchecked(double: c.volume)
        buffer.endRowUnchecked(timestamp: c.time)
    }

    /// `prefix` is `market_ticks,symbol=S` escaped (marketPrefix).
    static func appendTick(prefix: [UInt8], seq: Int64, _ t: Tick, to buffer: inout ILPBuffer) throws(StoreError) {
        try checkTime(t.time, QuestDBSchema.ticks)
        buffer.appendUnchecked(prefix)
        buffer.appendUnchecked(Tag.seq)
        buffer.appendUnchecked(integer: seq)
        buffer.appendUnchecked(byte: UInt8(ascii: "i"))
        buffer.appendUnchecked(Tag.price)
        buffer.appendUnchecked(double: t.price)
        buffer.appendUnchecked(Tag.size)
        buffer.appendUnchecked(double: t.size)
        buffer.endRowUnchecked(timestamp: t.time)
    }

    static func marketPrefix(kind: MarketSeries.Kind, symbol: String, timeframe: String) -> [UInt8] {
        var prefix =
            Array((kind == .candles ? QuestDBSchema.candles : QuestDBSchema.ticks).utf8) + Array(",symbol=".utf8)
        ILPBuffer.escapeName(symbol, into: &prefix)
        if kind == .candles {
            prefix += Array(",timeframe=".utf8)
            ILPBuffer.escapeName(timeframe, into: &prefix)
        }
        return prefix
    }

    // Convenience forms (tests, single rows): the same bytes as the prefix forms.
    static func appendTrade(sessionId: String, key: Int64, _ t: TradeRecord, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try appendTrade(prefix: resultPrefix(QuestDBSchema.trades, sessionId: sessionId), key: key, t, to: &buffer)
    }

    static func appendEquity(sessionId: String, key: Int64, _ p: EquitySample, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try appendEquity(prefix: resultPrefix(QuestDBSchema.equity, sessionId: sessionId), key: key, p, to: &buffer)
    }

    static func appendCandle(symbol: String, timeframe: String, _ c: Candle, to buffer: inout ILPBuffer)
        throws(StoreError)
    {
        try appendCandle(prefix: marketPrefix(kind: .candles, symbol: symbol, timeframe: timeframe), c, to: &buffer)
    }

    static func appendTick(symbol: String, seq: Int64, _ t: Tick, to buffer: inout ILPBuffer) throws(StoreError) {
        try appendTick(prefix: marketPrefix(kind: .ticks, symbol: symbol, timeframe: ""), seq: seq, t, to: &buffer)
    }

    /// Fixed parts of the lines above: names valid by construction (ILPBufferTests
    /// checks these lines against the generic, validating encoder).
    private enum Tag {
        static let sideLong = Array(",side=long".utf8), sideShort = Array(",side=short".utf8)
        static let tradeNumber = Array(" trade_number=".utf8), quantity = Array(",quantity=".utf8)
        static let entryTime = Array(",entry_time=".utf8), exitTime = Array(",exit_time=".utf8)
        static let entryPrice = Array(",entry_price=".utf8), exitPrice = Array(",exit_price=".utf8)
        static let pnl = Array(",pnl=".utf8), returnPct = Array(",return_pct=".utf8),
            commission = Array(",commission=".utf8)
        static let entryRule = Array(",entry_rule=".utf8), exitRule = Array(",exit_rule=".utf8)
        static let entryIndex = Array(",entry_index=".utf8), exitIndex = Array(",exit_index=".utf8)
        static let simTime = Array(" sim_time=".utf8), equity = Array(",equity=".utf8), cash = Array(",cash=".utf8)
        static let positionSize = Array(",position_size=".utf8), drawdownPct = Array(",drawdown_pct=".utf8)
        static let open = Array(" open=".utf8), high = Array(",high=".utf8), low = Array(",low=".utf8)
        static let close = Array(",close=".utf8), volume = Array(",volume=".utf8)
        static let seq = Array(" seq=".utf8), price = Array(",price=".utf8), size = Array(",size=".utf8)
    }

    /// QuestDB refuses timestamps outside [1970-01-01, 10000-01-01).
    static func checkTime(_ micros: Int64, _ table: String) throws(StoreError) {
        guard micros >= 0 && micros <= QuestDBSQL.latestTime else {
            throw StoreError.invalid(
                "QuestDB keeps \(table) rows from 1970-01-01 to 9999-12-31 only, not at \(UTCTime.format(micros))")
        }
    }

    private static func row(
        _ buffer: inout ILPBuffer, _ table: String, symbols: [(String, String)],
        columns: [(String, ILPBuffer.Value)], at micros: Int64
    ) throws(StoreError) {
        try checkTime(micros, table)
        do {
            try buffer.row(table, symbols: symbols, columns: columns, atMicros: micros)
        } catch {
            // Names are fixed strings of this file: reaching here is a programming error.
            throw StoreError.failed(error.description)
        }
    }

    // MARK: PG rows

    static func text(_ v: PGValue) -> String { v.text ?? "" }
    static func double(_ v: PGValue) -> Double { v.double ?? .nan }

    static func int(_ v: PGValue, _ column: String) throws(StoreError) -> Int64 {
        guard let i = v.int else { throw StoreError.failed("QuestDB returned \(v) for \(column)") }
        return i
    }

    static func session(_ row: [PGValue]) throws(StoreError) -> SessionRecord {
        guard row.count == 23 else {
            throw StoreError.failed("QuestDB returned \(row.count) session columns, expected 23")
        }
        let id = text(row[0])
        guard let state = SessionState(rawValue: text(row[1])) else {
            throw StoreError.failed("session \(id) has unknown state \"\(text(row[1]))\"")
        }
        guard let request = Data(base64Encoded: text(row[8])) else {
            throw StoreError.failed("session \(id) has a request that is not base64")
        }
        let statistics = row[17].isNull ? nil : try SessionJSON.decodeStatistics(text(row[17]))
        return SessionRecord(
            id: id, state: state, symbol: text(row[2]), timeframe: text(row[3]),
            range: TimeRange(start: try int(row[4], "range_start"), end: try int(row[5], "range_end")),
            strategyName: text(row[6]), accelerationFactor: double(row[7]), request: [UInt8](request),
            clientRequestId: text(row[9]), labels: try SessionJSON.decodeLabels(row[10].isNull ? "{}" : text(row[10])),
            progressPct: double(row[11]), simTime: row[12].int, eventsProcessed: UInt64(bitPattern: row[13].int ?? 0),
            finalPnl: double(row[14]), totalTrades: UInt64(bitPattern: row[15].int ?? 0), winRatePct: double(row[16]),
            statistics: statistics, createdAt: try int(row[18], "ts"), startedAt: row[19].int, completedAt: row[20].int,
            errorMessage: text(row[21]), stopReason: text(row[22]))
    }

    /// A sweep record from QuestDBSchema.sweepColumns.
    static func sweep(_ row: [PGValue]) throws(StoreError) -> SweepRecord {
        guard row.count == 23 else {
            throw StoreError.failed("QuestDB returned \(row.count) sweep columns, expected 23")
        }
        let id = text(row[0])
        guard let state = SessionState(rawValue: text(row[1])) else {
            throw StoreError.failed("sweep \(id) has unknown state \"\(text(row[1]))\"")
        }
        guard let request = Data(base64Encoded: text(row[7])) else {
            throw StoreError.failed("sweep \(id) has a request that is not base64")
        }
        return SweepRecord(
            id: id, state: state, symbol: text(row[2]), timeframe: text(row[3]),
            range: TimeRange(start: try int(row[4], "range_start"), end: try int(row[5], "range_end")),
            strategyName: text(row[6]), request: [UInt8](request), objective: text(row[8]),
            maximize: row[9] == .bool(true), total: UInt64(bitPattern: row[10].int ?? 0),
            done: UInt64(bitPattern: row[11].int ?? 0), failed: UInt64(bitPattern: row[12].int ?? 0),
            topK: Int(row[13].int ?? 0), bestCombination: row[14].int, bestValue: double(row[15]),
            createdAt: try int(row[16], "ts"), startedAt: row[17].int, completedAt: row[18].int,
            errorMessage: text(row[19]), stopReason: text(row[20]),
            stitchedStatistics: row[21].isNull ? nil : try SessionJSON.decodeStatistics(text(row[21])),
            stitchedSessionId: text(row[22]))
    }

    /// A sweep result row from QuestDBSchema.sweepResultColumns.
    static func sweepResult(_ row: [PGValue]) throws(StoreError) -> SweepResultRow {
        let fixed = 5
        guard row.count == fixed + QuestDBStatistics.columns.count else {
            throw StoreError.failed(
                "QuestDB returned \(row.count) sweep result columns, expected \(fixed + QuestDBStatistics.columns.count)"
            )
        }
        return SweepResultRow(
            combination: try int(row[0], "combination"), params: try SQLiteStore.decodeParams(text(row[1])),
            statistics: row[2] == .bool(true) ? try QuestDBStatistics.read(row[fixed...]) : nil, error: text(row[3]),
            sessionId: text(row[4]))
    }

    /// A walk-forward window from QuestDBSchema.windowColumns.
    static func walkForwardWindow(_ row: [PGValue]) throws(StoreError) -> WalkForwardWindowRow {
        guard row.count == 12 else {
            throw StoreError.failed("QuestDB returned \(row.count) walk-forward window columns, expected 12")
        }
        return WalkForwardWindowRow(
            index: Int(try int(row[0], "window_index")),
            inSample: TimeRange(start: try int(row[1], "in_sample_start"), end: try int(row[2], "in_sample_end")),
            outOfSample: TimeRange(
                start: try int(row[3], "out_of_sample_start"), end: try int(row[4], "out_of_sample_end")),
            combination: row[5].int, params: try SQLiteStore.decodeParams(text(row[6])), inSampleValue: double(row[7]),
            inSampleStatistics: row[8].isNull ? nil : try SessionJSON.decodeStatistics(text(row[8])),
            initialCapital: double(row[9]),
            outOfSampleStatistics: row[10].isNull ? nil : try SessionJSON.decodeStatistics(text(row[10])),
            error: text(row[11]))
    }

    /// (write key, trade) from QuestDBSchema.tradeColumns.
    static func trade(_ row: [PGValue]) throws(StoreError) -> (key: Int64, trade: TradeRecord) {
        guard row.count == 15 else {
            throw StoreError.failed("QuestDB returned \(row.count) trade columns, expected 15")
        }
        let number = try int(row[1], "trade_number")
        guard let side = PositionSide(rawValue: text(row[2])) else {
            throw StoreError.failed("trade \(number) has unknown side \"\(text(row[2]))\"")
        }
        return (
            try int(row[0], "ts"),
            TradeRecord(
                number: Int(number), side: side, quantity: double(row[3]), entryTime: try int(row[4], "entry_time"),
                exitTime: row[5].int, entryPrice: double(row[6]), exitPrice: double(row[7]), pnl: double(row[8]),
                returnPct: double(row[9]), commission: double(row[10]), entryRule: text(row[11]),
                exitRule: text(row[12]),
                entryIndex: Int(row[13].int ?? 0), exitIndex: row[14].int.map { Int($0) })
        )
    }

    /// (write key, sample) from QuestDBSchema.equityColumns.
    static func equity(_ row: [PGValue]) throws(StoreError) -> (key: Int64, sample: EquitySample) {
        guard row.count == 6 else {
            throw StoreError.failed("QuestDB returned \(row.count) equity columns, expected 6")
        }
        return (
            try int(row[0], "ts"),
            EquitySample(
                time: try int(row[1], "sim_time"), equity: double(row[2]), cash: double(row[3]),
                positionSize: double(row[4]), drawdownPct: double(row[5]))
        )
    }

    static func candle(_ row: [PGValue]) throws(StoreError) -> Candle {
        guard row.count == 6 else {
            throw StoreError.failed("QuestDB returned \(row.count) candle columns, expected 6")
        }
        return Candle(
            time: try int(row[0], "ts"), open: double(row[1]), high: double(row[2]), low: double(row[3]),
            close: double(row[4]), volume: double(row[5]))
    }

    /// (tick, seq) from `ts, seq, price, size`.
    static func tick(_ row: [PGValue]) throws(StoreError) -> (Tick, Int64) {
        guard row.count == 4 else { throw StoreError.failed("QuestDB returned \(row.count) tick columns, expected 4") }
        return (Tick(time: try int(row[0], "ts"), price: double(row[2]), size: double(row[3])), row[1].int ?? 0)
    }
}
