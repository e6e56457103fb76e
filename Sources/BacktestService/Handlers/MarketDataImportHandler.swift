import BacktestEngine
import BacktestProto
import BacktestStore
import Logging
import RPC

/// ImportMarketData: a header, then row batches or CSV chunks, stored all or nothing.
/// Any bad row aborts the import (nothing is kept) with INVALID_ARGUMENT naming the
/// source, line (or message and row) and column.
struct MarketDataImportHandler {
    let store: any BacktestStore
    let logger: Logger

    func run(_ requests: RequestMessages<ImportMarketDataRequest>) async throws -> ImportMarketDataResponse {
        var iterator = requests.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(.invalidArgument, "header: the import is empty; the first message must be the header")
        }
        guard case .header(let header) = first.payload else {
            throw RPCError(.invalidArgument, "header: the first message must be the header")
        }
        let plan = try Self.check(header)
        let load = try await BacktestHandlers.storeCall {
            try await store.beginImport(symbol: header.symbol, kind: plan.kind, timeframe: plan.timeframe, replaceExisting: header.replaceExisting)
        }
        do {
            let series = try await feed(&iterator, header: header, plan: plan, into: load)
            logger.info("market data imported", metadata: [
                "symbol": "\(series.symbol)", "kind": "\(series.kind.rawValue)", "timeframe": "\(series.timeframe)", "rows": "\(series.rows)",
            ])
            return ImportMarketDataResponse(symbol: series.symbol, kind: plan.kind == .candles ? .candles : .ticks,
                                            timeframe: series.timeframe, rowsImported: series.rows,
                                            firstTime: ProtoTimestamp(microsecondsSinceEpoch: series.firstTime),
                                            lastTime: ProtoTimestamp(microsecondsSinceEpoch: series.lastTime))
        } catch {
            await load.abort()
            throw error
        }
    }

    struct Plan {
        var kind: MarketSeries.Kind
        var timeframe: String
        var csv: Bool
        var source: String
    }

    static func check(_ header: ImportHeader) throws(RPCError) -> Plan {
        try StartRequestValidator.checkSymbol(header.symbol, "header.symbol")
        let kind: MarketSeries.Kind
        var timeframe = ""
        switch header.kind {
        case .unspecified: throw RPCError(.invalidArgument, "header.kind: required (DATA_KIND_CANDLES or DATA_KIND_TICKS)")
        case .candles:
            kind = .candles
            guard !header.timeframe.isEmpty else { throw RPCError(.invalidArgument, "header.timeframe: required for candles (\"1m\", \"1d\", ...)") }
            do {
                let parsed = try Timeframe(parsing: header.timeframe)
                guard parsed != .tick else { throw RPCError(.invalidArgument, "header.timeframe: candles need an interval, not \"tick\"") }
                timeframe = parsed.description
            } catch let error as Timeframe.ParseError {
                throw RPCError(.invalidArgument, "header.timeframe: \(error.description)")
            } catch {
                throw error as! RPCError
            }
        case .ticks:
            kind = .ticks
            guard header.timeframe.isEmpty || header.timeframe == "tick" else {
                throw RPCError(.invalidArgument, "header.timeframe: must be empty for ticks")
            }
        }
        let source = header.sourceName.isEmpty ? "import" : header.sourceName
        return Plan(kind: kind, timeframe: timeframe, csv: header.format == .csv, source: source)
    }

    private func feed(_ iterator: inout RequestMessages<ImportMarketDataRequest>.AsyncIterator, header: ImportHeader,
                      plan: Plan, into load: any MarketDataImport) async throws -> MarketSeries {
        var csv = plan.csv ? CSVMarketDataParser(source: plan.source) : nil
        while let message = try await iterator.next() {
            switch message.payload {
            case .header:
                throw RPCError(.invalidArgument, "header: only the first message may be a header")
            case .candles(let batch):
                guard !plan.csv, plan.kind == .candles else { throw mismatch("candles", plan) }
                try await store(.candles(try Self.rows(batch, plan)), plan, into: load)
            case .ticks(let batch):
                guard !plan.csv, plan.kind == .ticks else { throw mismatch("ticks", plan) }
                try await store(.ticks(try Self.rows(batch, plan)), plan, into: load)
            case .csvChunk(let bytes):
                guard csv != nil else { throw mismatch("csv_chunk", plan) }
                for rows in try Self.parse({ () throws(CSVMarketDataParser.ParseError) in try csv!.feed(bytes) }) {
                    try await store(rows, plan, into: load)
                }
            case nil:
                throw RPCError(.invalidArgument, "payload: a message after the header carries nothing")
            }
        }
        if csv != nil {
            for rows in try Self.parse({ () throws(CSVMarketDataParser.ParseError) in try csv!.finish() }) {
                try await store(rows, plan, into: load)
            }
        }
        return try await Self.storeCall(plan) { try await load.commit() }
    }

    static func rows(_ b: CandleBatch, _ plan: Plan) throws(RPCError) -> [Candle] {
        let n = b.timeUs.count
        guard b.open.count == n, b.high.count == n, b.low.count == n, b.close.count == n, b.volume.count == n else {
            throw RPCError(.invalidArgument, "\(plan.source): candles: columns of different lengths (time_us \(n), open \(b.open.count), high \(b.high.count), low \(b.low.count), close \(b.close.count), volume \(b.volume.count))")
        }
        return (0..<n).map { Candle(time: b.timeUs[$0], open: b.open[$0], high: b.high[$0], low: b.low[$0], close: b.close[$0], volume: b.volume[$0]) }
    }

    static func rows(_ b: TickBatch, _ plan: Plan) throws(RPCError) -> [Tick] {
        let n = b.timeUs.count
        guard b.price.count == n, b.size.count == n else {
            throw RPCError(.invalidArgument, "\(plan.source): ticks: columns of different lengths (time_us \(n), price \(b.price.count), size \(b.size.count))")
        }
        return (0..<n).map { Tick(time: b.timeUs[$0], price: b.price[$0], size: b.size[$0]) }
    }

    /// The store checks every row (prices, order) and names the row and column.
    private func store(_ rows: CSVMarketDataParser.Rows, _ plan: Plan, into load: any MarketDataImport) async throws {
        switch rows {
        case .candles(let c):
            guard plan.kind == .candles else { throw mismatch("a candle file", plan) }
            if !c.isEmpty { try await Self.storeCall(plan) { try await load.append(candles: c) } }
        case .ticks(let t):
            guard plan.kind == .ticks else { throw mismatch("a tick file", plan) }
            if !t.isEmpty { try await Self.storeCall(plan) { try await load.append(ticks: t) } }
        }
    }

    /// Row refusals name the source they came from.
    static func storeCall<T>(_ plan: Plan, _ body: () async throws -> T) async throws -> T {
        do {
            return try await BacktestHandlers.storeCall(body)
        } catch let error as RPCError where error.code == .invalidArgument || error.code == .alreadyExists {
            throw RPCError(error.code, "\(plan.source): \(error.message)")
        }
    }

    private func mismatch(_ what: String, _ plan: Plan) -> RPCError {
        RPCError(.invalidArgument, "payload: \(what) does not match the header (\(plan.kind.rawValue), \(plan.csv ? "IMPORT_FORMAT_CSV" : "IMPORT_FORMAT_ROWS"))")
    }

    /// CSV errors name the source, line and column already.
    static func parse<T>(_ body: () throws(CSVMarketDataParser.ParseError) -> T) throws(RPCError) -> T {
        do {
            return try body()
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
    }
}
