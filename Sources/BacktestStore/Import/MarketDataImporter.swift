import BacktestEngine
import Foundation

/// Drives CSV bytes (or already parsed rows) into one all-or-nothing store import:
/// the one import path, for the RPC and for files. The import begins once the data
/// tells candles from ticks; the first error (a malformed row, a conflict, a store
/// failure) aborts it, so nothing is half imported. Refusals name the source.
/// Owned by one task.
public final class MarketDataImporter {
    private let store: any BacktestStore
    private let symbol: String
    private var timeframe: String
    private let replaceExisting: Bool
    /// What the caller declared; data of the other kind is refused.
    private let expectedKind: MarketSeries.Kind?
    private var parser: CSVMarketDataParser
    private var target: (any MarketDataImport)?
    /// Rows held back until the timeframe of a candle file is known (inferred from them).
    private var held: [Candle] = []
    private var done = false
    private var sawCSV = false

    /// `timeframe` may be empty for candles: it is then inferred from the smallest gap
    /// between the first rows (for example 1d for GOOG.csv).
    public init(
        store: any BacktestStore, symbol: String, timeframe: String, replaceExisting: Bool, source: String,
        expectedKind: MarketSeries.Kind? = nil, batchSize: Int = 8192
    ) {
        self.expectedKind = expectedKind
        self.store = store
        self.symbol = symbol
        self.timeframe = timeframe
        self.replaceExisting = replaceExisting
        parser = CSVMarketDataParser(source: source, batchSize: batchSize)
    }

    /// The next piece of the CSV file, split anywhere.
    public func feed(csv chunk: some Collection<UInt8>) async throws {
        try checkOpen()
        sawCSV = true
        do {
            for rows in try parser.feed(chunk) { try await deliver(rows) }
        } catch {
            await abort()
            throw error
        }
    }

    /// Rows that arrive parsed (not CSV): validated by the store's import.
    public func append(_ rows: CSVMarketDataParser.Rows) async throws {
        try checkOpen()
        do {
            try await deliver(rows)
        } catch {
            await abort()
            throw error
        }
    }

    /// Ends the CSV (or row) input and commits everything, or nothing.
    public func finish() async throws -> MarketSeries {
        try checkOpen()
        do {
            // An empty CSV (no header at all) is an error of the parser's.
            if sawCSV || (target == nil && held.isEmpty) {
                for rows in try parser.finish() { try await deliver(rows) }
            }
            try await flushHeld(final: true)
            guard let target else {
                throw StoreError.invalid("\(parser.source): no rows to import")
            }
            let series = try await target.commit()
            done = true
            return series
        } catch {
            await abort()
            throw named(error)
        }
    }

    public func abort() async {
        guard !done else { return }
        done = true
        await target?.abort()
        target = nil
    }

    private func checkOpen() throws(StoreError) {
        if done { throw StoreError.invalid("the import of \(symbol) is already finished") }
    }

    /// The name in messages: the file's, or the caller's.
    public var source: String { parser.source }

    private func deliver(_ rows: CSVMarketDataParser.Rows) async throws {
        let kind: MarketSeries.Kind =
            switch rows {
            case .candles: .candles
            case .ticks: .ticks
            }
        if let expectedKind, kind != expectedKind {
            throw StoreError.invalid(
                "\(parser.source): holds \(kind.rawValue), but the import is of \(expectedKind.rawValue)")
        }
        do {
            try await store(rows)
        } catch {
            throw named(error)
        }
    }

    /// A store refusal with the source in front (the store names the row; the source
    /// is ours to add).
    private func named(_ error: any Error) -> any Error {
        switch error as? StoreError {
        case .invalid(let m)? where !m.hasPrefix(parser.source): StoreError.invalid("\(parser.source): \(m)")
        case .conflict(let m)? where !m.hasPrefix(parser.source): StoreError.conflict("\(parser.source): \(m)")
        default: error
        }
    }

    private func store(_ rows: CSVMarketDataParser.Rows) async throws {
        switch rows {
        case .candles(let candles):
            if target == nil && timeframe.isEmpty {
                held += candles
                try await flushHeld(final: false)
                return
            }
            try await begin(.candles).append(candles: candles)
        case .ticks(let ticks):
            try await begin(.ticks).append(ticks: ticks)
        }
    }

    /// Infers the candle timeframe once enough rows are held (or at the end).
    private func flushHeld(final: Bool) async throws {
        guard !held.isEmpty, final || held.count >= 1024 else { return }
        let gaps = zip(held, held.dropFirst()).map { $1.time - $0.time }.filter { $0 > 0 }
        guard let smallest = gaps.min(), smallest % 1_000_000 == 0 else {
            throw StoreError.invalid(
                "\(parser.source): cannot infer the candle timeframe from \(held.count) row(s); give one (for example 1d)"
            )
        }
        timeframe = Timeframe.candles(seconds: smallest / 1_000_000).description
        let rows = held
        held = []
        try await begin(.candles).append(candles: rows)
    }

    private func begin(_ kind: MarketSeries.Kind) async throws -> any MarketDataImport {
        if let target { return target }
        let created = try await store.beginImport(
            symbol: symbol, kind: kind, timeframe: kind == .ticks ? "" : timeframe,
            replaceExisting: replaceExisting)
        target = created
        return created
    }
}

extension MarketDataImporter {
    /// Imports a CSV file read in 64 KiB pieces; the source in errors is the file name.
    public static func importCSVFile(
        path: String, store: any BacktestStore, symbol: String, timeframe: String = "",
        replaceExisting: Bool = false
    ) async throws -> MarketSeries {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.invalid("cannot open \(path)")
        }
        defer { try? handle.close() }
        let importer = MarketDataImporter(
            store: store, symbol: symbol, timeframe: timeframe, replaceExisting: replaceExisting,
            source: URL(fileURLWithPath: path).lastPathComponent)
        while true {
            let data: Data
            do {
                data = try handle.read(upToCount: 1 << 16) ?? Data()
            } catch {
                await importer.abort()
                throw StoreError.failed("reading \(path): \(error)")
            }
            if data.isEmpty { break }
            try await importer.feed(csv: data)
        }
        return try await importer.finish()
    }
}
