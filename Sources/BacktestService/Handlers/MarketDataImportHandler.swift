import BacktestCore
import BacktestEngine
import BacktestProto
import BacktestStore
import Logging
import RPC

/// ImportMarketData: a header, then row batches or CSV chunks, fed to the store's
/// one import path (`MarketDataImporter`), all or nothing. Any bad row aborts the
/// import (nothing is kept) with INVALID_ARGUMENT naming the source, line (or
/// message and row) and column. Candles with no timeframe get it inferred.
struct MarketDataImportHandler {
    let store: any BacktestStore
    let logger: Logger

    func run(_ requests: RequestMessages<ImportMarketDataRequest>) async throws -> ImportMarketDataResponse {
        var iterator = requests.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw ServiceError.invalid("header", "the import is empty; the first message must be the header")
        }
        guard case .header(let header) = first.payload else {
            throw ServiceError.invalid("header", "the first message must be the header")
        }
        let plan = try Self.check(header)
        let importer = MarketDataImporter(
            store: store, symbol: header.symbol, timeframe: plan.timeframe,
            replaceExisting: header.replaceExisting, source: plan.source, expectedKind: plan.kind)
        do {
            while let message = try await iterator.next() {
                switch message.payload {
                case .header:
                    throw ServiceError.invalid("header", "only the first message may be a header")
                case .candles(let batch):
                    guard !plan.csv else { throw mismatch("candles", plan) }
                    try await Self.imported { try await importer.append(.candles(try Self.rows(batch, plan))) }
                case .ticks(let batch):
                    guard !plan.csv else { throw mismatch("ticks", plan) }
                    try await Self.imported { try await importer.append(.ticks(try Self.rows(batch, plan))) }
                case .csvChunk(let bytes):
                    guard plan.csv else { throw mismatch("csv_chunk", plan) }
                    try await Self.imported { try await importer.feed(csv: bytes) }
                case nil:
                    throw ServiceError.invalid("payload", "a message after the header carries nothing")
                }
            }
            let series = try await Self.imported { try await importer.finish() }
            logger.info(
                "market data imported",
                metadata: [
                    "symbol": "\(series.symbol)", "kind": "\(series.kind.rawValue)", "timeframe": "\(series.timeframe)",
                    "rows": "\(series.rows)",
                ])
            return ImportMarketDataResponse(
                symbol: series.symbol, kind: series.kind == .candles ? .candles : .ticks,
                timeframe: series.timeframe, rowsImported: series.rows,
                firstTime: ProtoTimestamp(microsecondsSinceEpoch: series.firstTime),
                lastTime: ProtoTimestamp(microsecondsSinceEpoch: series.lastTime))
        } catch {
            await importer.abort()
            throw error
        }
    }

    struct Plan {
        var kind: MarketSeries.Kind
        var timeframe: String
        var csv: Bool
        var source: String
    }

    static func check(_ header: ImportHeader) throws(ServiceError) -> Plan {
        try RunRequest.checkSymbol(header.symbol, field: "header.symbol")
        let kind: MarketSeries.Kind
        var timeframe = ""
        switch header.kind {
        case .unspecified: throw .invalid("header.kind", "required (DATA_KIND_CANDLES or DATA_KIND_TICKS)")
        case .candles:
            kind = .candles
            // Empty: inferred from the rows' spacing.
            if !header.timeframe.isEmpty {
                let parsed = try RunRequest.timeframe(header.timeframe, field: "header.timeframe")
                guard parsed != .tick else {
                    throw .invalid("header.timeframe", "candles need an interval, not \"tick\"")
                }
                timeframe = parsed.description
            }
        case .ticks:
            kind = .ticks
            guard header.timeframe.isEmpty || header.timeframe == "tick" else {
                throw .invalid("header.timeframe", "must be empty for ticks")
            }
        }
        let source = header.sourceName.isEmpty ? "import" : header.sourceName
        return Plan(kind: kind, timeframe: timeframe, csv: header.format == .csv, source: source)
    }

    static func rows(_ b: CandleBatch, _ plan: Plan) throws(ServiceError) -> [Candle] {
        let n = b.timeUs.count
        guard b.open.count == n, b.high.count == n, b.low.count == n, b.close.count == n, b.volume.count == n else {
            throw ServiceError(
                .invalidArgument,
                "\(plan.source): candles: columns of different lengths (time_us \(n), open \(b.open.count), high \(b.high.count), low \(b.low.count), close \(b.close.count), volume \(b.volume.count))"
            )
        }
        return (0..<n).map {
            Candle(
                time: b.timeUs[$0], open: b.open[$0], high: b.high[$0], low: b.low[$0], close: b.close[$0],
                volume: b.volume[$0])
        }
    }

    static func rows(_ b: TickBatch, _ plan: Plan) throws(ServiceError) -> [Tick] {
        let n = b.timeUs.count
        guard b.price.count == n, b.size.count == n else {
            throw ServiceError(
                .invalidArgument,
                "\(plan.source): ticks: columns of different lengths (time_us \(n), price \(b.price.count), size \(b.size.count))"
            )
        }
        return (0..<n).map { Tick(time: b.timeUs[$0], price: b.price[$0], size: b.size[$0]) }
    }

    /// The importer's refusals: CSV errors name the source, line and column; store
    /// refusals the source and row.
    static func imported<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CSVMarketDataParser.ParseError {
            throw ServiceError(.invalidArgument, error.description, cause: error)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError.store(error)
        }
    }

    private func mismatch(_ what: String, _ plan: Plan) -> ServiceError {
        .invalid(
            "payload",
            "\(what) does not match the header (\(plan.kind.rawValue), \(plan.csv ? "IMPORT_FORMAT_CSV" : "IMPORT_FORMAT_ROWS"))"
        )
    }
}
