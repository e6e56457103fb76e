import BacktestEngine
import Foundation

/// Rows to ILP lines (writes) and PG-wire result rows back to values (reads), as pure
/// functions. Conventions: SYMBOL columns go as ILP symbols, everything else as
/// fields; a nil optional is an omitted field (QuestDB stores NULL); a NULL DOUBLE
/// reads back as NaN (QuestDB stores NaN as NULL); request bytes are base64 text.
enum QuestDBRows {
    // MARK: ILP

    static func appendSession(_ r: SessionRecord, to buffer: inout ILPBuffer) throws(StoreError) {
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
        if !r.symbol.isEmpty { symbols.append(("symbol", r.symbol)) }
        try row(&buffer, QuestDBSchema.sessions, symbols: symbols, columns: columns, at: r.createdAt)
    }

    static func appendTrade(sessionId: String, _ t: TradeRecord, to buffer: inout ILPBuffer) throws(StoreError) {
        var columns: [(String, ILPBuffer.Value)] = [
            ("trade_number", .long(Int64(t.number))),
            ("quantity", .double(t.quantity)),
        ]
        if let exitTime = t.exitTime { columns.append(("exit_time", .timestampMicros(exitTime))) }
        columns += [
            ("entry_price", .double(t.entryPrice)),
            ("exit_price", .double(t.exitPrice)),
            ("pnl", .double(t.pnl)),
            ("return_pct", .double(t.returnPct)),
            ("commission", .double(t.commission)),
            ("entry_rule", .string(t.entryRule)),
            ("exit_rule", .string(t.exitRule)),
            ("entry_index", .long(Int64(t.entryIndex))),
        ]
        if let exitIndex = t.exitIndex { columns.append(("exit_index", .long(Int64(exitIndex)))) }
        try row(&buffer, QuestDBSchema.trades, symbols: [("session_id", sessionId), ("side", t.side.rawValue)], columns: columns, at: t.entryTime)
    }

    static func appendEquity(sessionId: String, _ p: EquitySample, to buffer: inout ILPBuffer) throws(StoreError) {
        try row(&buffer, QuestDBSchema.equity, symbols: [("session_id", sessionId)], columns: [
            ("equity", .double(p.equity)), ("cash", .double(p.cash)),
            ("position_size", .double(p.positionSize)), ("drawdown_pct", .double(p.drawdownPct)),
        ], at: p.time)
    }

    static func appendCandle(symbol: String, timeframe: String, _ c: Candle, to buffer: inout ILPBuffer) throws(StoreError) {
        try row(&buffer, QuestDBSchema.candles, symbols: [("symbol", symbol), ("timeframe", timeframe)], columns: [
            ("open", .double(c.open)), ("high", .double(c.high)), ("low", .double(c.low)),
            ("close", .double(c.close)), ("volume", .double(c.volume)),
        ], at: c.time)
    }

    static func appendTick(symbol: String, seq: Int64, _ t: Tick, to buffer: inout ILPBuffer) throws(StoreError) {
        try row(&buffer, QuestDBSchema.ticks, symbols: [("symbol", symbol)], columns: [
            ("seq", .long(seq)), ("price", .double(t.price)), ("size", .double(t.size)),
        ], at: t.time)
    }

    private static func row(_ buffer: inout ILPBuffer, _ table: String, symbols: [(String, String)],
                            columns: [(String, ILPBuffer.Value)], at micros: Int64) throws(StoreError) {
        // QuestDB refuses designated timestamps outside [1970-01-01, 10000-01-01).
        guard micros >= 0 && micros <= QuestDBSQL.latestTime else {
            throw StoreError.invalid("QuestDB keeps \(table) rows from 1970-01-01 to 9999-12-31 only, not at \(TimeText.iso(micros))")
        }
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
        guard row.count == 23 else { throw StoreError.failed("QuestDB returned \(row.count) session columns, expected 23") }
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

    static func trade(_ row: [PGValue]) throws(StoreError) -> TradeRecord {
        guard row.count == 14 else { throw StoreError.failed("QuestDB returned \(row.count) trade columns, expected 14") }
        let number = try int(row[0], "trade_number")
        guard let side = PositionSide(rawValue: text(row[1])) else {
            throw StoreError.failed("trade \(number) has unknown side \"\(text(row[1]))\"")
        }
        return TradeRecord(
            number: Int(number), side: side, quantity: double(row[2]), entryTime: try int(row[3], "ts"),
            exitTime: row[4].int, entryPrice: double(row[5]), exitPrice: double(row[6]), pnl: double(row[7]),
            returnPct: double(row[8]), commission: double(row[9]), entryRule: text(row[10]), exitRule: text(row[11]),
            entryIndex: Int(row[12].int ?? 0), exitIndex: row[13].int.map { Int($0) })
    }

    static func equity(_ row: [PGValue]) throws(StoreError) -> EquitySample {
        guard row.count == 5 else { throw StoreError.failed("QuestDB returned \(row.count) equity columns, expected 5") }
        return EquitySample(time: try int(row[0], "ts"), equity: double(row[1]), cash: double(row[2]),
                            positionSize: double(row[3]), drawdownPct: double(row[4]))
    }

    static func candle(_ row: [PGValue]) throws(StoreError) -> Candle {
        guard row.count == 6 else { throw StoreError.failed("QuestDB returned \(row.count) candle columns, expected 6") }
        return Candle(time: try int(row[0], "ts"), open: double(row[1]), high: double(row[2]), low: double(row[3]),
                      close: double(row[4]), volume: double(row[5]))
    }

    /// (tick, seq) from `ts, seq, price, size`.
    static func tick(_ row: [PGValue]) throws(StoreError) -> (Tick, Int64) {
        guard row.count == 4 else { throw StoreError.failed("QuestDB returned \(row.count) tick columns, expected 4") }
        return (Tick(time: try int(row[0], "ts"), price: double(row[2]), size: double(row[3])), row[1].int ?? 0)
    }
}
