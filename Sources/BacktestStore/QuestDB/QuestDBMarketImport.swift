import BacktestEngine
import TimeKit

/// An all-or-nothing import into QuestDB. Rows are validated as they arrive and
/// encoded straight into ONE in-memory ILP buffer (at most the store's
/// importByteLimit bytes; beyond it the import fails with a clear error and nothing
/// is written). Commit, serialized with the store's other commits:
/// 1. waits until earlier writes are visible and reads the stored times in
///    [first, last] of the import;
/// 2. without replace: a stored row at an imported time -> StoreError.conflict;
///    stored rows at other times are kept (merged);
///    with replace: DEDUP UPSERT overwrites rows at equal keys (time[, seq]), but
///    QuestDB has no DELETE, so stored rows in the range whose key the import does
///    not cover would survive: the commit refuses (StoreError.invalid) instead of
///    leaving a mix;
/// 3. sends the buffer as ONE /write request: one table, so one QuestDB transaction
///    (a bad line rejects it all), retried for the store's importRetry (idempotent:
///    a lost answer is resolved by the retry); then waits until it is visible.
///    Never spooled: the caller is told whether the data is there.
/// Abort (or any error before the send) drops the buffer: nothing was written.
/// Not covered: another process writing the same series between the check and the send.
final class QuestDBMarketImport: MarketDataImport {
    private enum State { case open, committed, aborted }

    private let store: QuestDBStore
    private let symbol: String
    private let kind: MarketSeries.Kind
    private let timeframe: String
    private let replaceExisting: Bool
    private var buffer = ILPBuffer()
    private let prefix: [UInt8]
    private var times: [Int64] = []
    private var seq: Int64 = 0
    private var state = State.open

    init(store: QuestDBStore, symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool)
        throws(StoreError)
    {
        guard !symbol.isEmpty, symbol.utf8.count <= 256 else {
            throw StoreError.invalid("symbol must be 1 to 256 bytes, got \(symbol.utf8.count)")
        }
        self.store = store
        self.symbol = symbol
        self.kind = kind
        self.timeframe = try SQLiteMarketImport.canonicalTimeframe(kind: kind, timeframe)
        self.replaceExisting = replaceExisting
        prefix = QuestDBRows.marketPrefix(kind: kind, symbol: symbol, timeframe: self.timeframe)
    }

    private var table: String { kind == .candles ? QuestDBSchema.candles : QuestDBSchema.ticks }

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
        let rowNumber = times.count + 1
        if let problem = problem ?? MarketRowCheck.order(previous: times.last, time: time, strictly: strictly) {
            throw StoreError.invalid("\(symbol) row \(rowNumber), column \(problem.column): \(problem.message)")
        }
    }

    private func checkSize() throws(StoreError) {
        if buffer.bytes.count > store.importByteLimit {
            throw StoreError.invalid(
                "the import of \(symbol) exceeds \(store.importByteLimit) bytes of line protocol after \(times.count) rows: QuestDB imports are sent as one transaction; split the data into several imports (by time range)"
            )
        }
    }

    func append(candles batch: [Candle]) async throws {
        try checkOpen(.candles)
        do {
            for (i, candle) in batch.enumerated() {
                try accept(time: candle.time, problem: MarketRowCheck.problem(candle), index: i, strictly: true)
                try QuestDBRows.appendCandle(prefix: prefix, candle, to: &buffer)
                times.append(candle.time)
            }
            try checkSize()
        } catch {
            await abort()
            throw error
        }
    }

    func append(ticks batch: [Tick]) async throws {
        try checkOpen(.ticks)
        do {
            for (i, tick) in batch.enumerated() {
                try accept(time: tick.time, problem: MarketRowCheck.problem(tick), index: i, strictly: false)
                seq = tick.time == times.last ? seq + 1 : 0
                try QuestDBRows.appendTick(prefix: prefix, seq: seq, tick, to: &buffer)
                times.append(tick.time)
            }
            try checkSize()
        } catch {
            await abort()
            throw error
        }
    }

    func commit() async throws -> MarketSeries {
        try checkOpen(kind)
        guard let first = times.first, let last = times.last else {
            await abort()
            throw StoreError.invalid("the import of \(symbol) has no rows")
        }
        await store.importLock.lock()
        defer { store.importLock.unlock() }
        do {
            try await store.awaitVisible(table)
            let stored = try await store.storedTimes(
                kind: kind, symbol: symbol, timeframe: timeframe, first: first, last: last)
            let what = kind == .candles ? "\(symbol) \(timeframe) candles" : "\(symbol) ticks"
            switch ImportCheck.check(imported: times, stored: stored, replace: replaceExisting) {
            case .ok:
                break
            case .conflict(let rows, let at):
                throw StoreError.conflict(
                    "\(what): \(rows) stored row(s) at imported times (first \(UTCTime.format(at))); import with replace_existing to replace that range"
                )
            case .leftovers(let rows, let at):
                throw StoreError.invalid(
                    "\(what): QuestDB cannot delete rows, and \(rows) stored row(s) in the replaced range have no counterpart in the import (first \(UTCTime.format(at))); a replace on QuestDB must re-send every stored time of its range"
                )
            }
            // Retried idempotently (DEDUP on every key of the rows): an answer lost after
            // QuestDB committed is resolved by the retry landing on the same rows.
            try await store.sendNow(buffer, table: table)
            try await store.awaitVisible(table)
        } catch {
            await abort()
            throw error
        }
        state = .committed
        let result = MarketSeries(
            symbol: symbol, kind: kind, timeframe: timeframe, firstTime: first, lastTime: last,
            rows: UInt64(times.count))
        buffer = ILPBuffer()
        times = []
        return result
    }

    func abort() async {
        guard state == .open else { return }
        state = .aborted
        buffer = ILPBuffer()
        times = []
    }
}
