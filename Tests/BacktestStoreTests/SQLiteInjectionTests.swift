import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Text that would break string-built SQL is stored and read back verbatim, and
/// filters on it match exactly.
@Suite struct SQLiteInjectionTests {
    static let nasty = [
        "x'; DROP TABLE backtest_sessions; --",
        "\"quoted\" 'single' `back`",
        "semi;colon;",
        "new\nline\r\nand\ttab",
        "back\\slash\\\\ \\' \\\"",
        "ünïcødé €uro 日本語 🚀",
        "nul\u{0}byte",
        "%_ LIKE wildcards *?",
        "$.path \"key\" [0]",
        "",
    ]

    @Test func sessionsWithHostileText() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var records: [SessionRecord] = []
            for (i, text) in Self.nasty.enumerated() {
                var record = sampleSession(
                    id: "id-\(i)-\(text)", createdAt: Int64(i), symbol: text,
                    labels: [text: text + "v", "k\(i)": text], clientRequestId: text.isEmpty ? "" : "req " + text)
                record.strategyName = text
                record.errorMessage = text
                record.stopReason = text
                record.timeframe = text
                records.append(record)
                try await store.saveSession(record)
            }
            for record in records {
                #expect(try await store.session(id: record.id) == record)
                if !record.clientRequestId.isEmpty {
                    #expect(try await store.session(clientRequestId: record.clientRequestId) == record)
                }
                var bySymbol = SessionQuery()
                bySymbol.symbol = record.symbol
                if !record.symbol.isEmpty {
                    #expect(try await store.listSessions(bySymbol).sessions == [record])
                }
                var byLabel = SessionQuery()
                byLabel.labels = record.labels
                #expect(try await store.listSessions(byLabel).sessions == [record], "labels \(record.labels)")
            }
            // Every table is still there and complete.
            #expect(try await store.listSessions(SessionQuery()).sessions.count == Self.nasty.count)
        }
    }

    @Test func marketDataAndTradesWithHostileText() async throws {
        try await withTemporarySQLiteStore { store, _ in
            for (i, symbol) in Self.nasty.enumerated() where !symbol.isEmpty {
                let importer = try await store.beginImport(
                    symbol: symbol, kind: .candles, timeframe: "1d", replaceExisting: false)
                try await importer.append(candles: [
                    Candle(time: Int64(i), open: 1, high: 2, low: 1, close: 2, volume: 3)
                ])
                #expect(try await importer.commit().symbol == symbol)
                let sessionId = "s" + symbol
                try await store.appendTrades(
                    sessionId: sessionId,
                    [
                        TradeRecord(
                            number: 1, side: .long, quantity: 1, entryTime: 1, exitTime: 2, entryPrice: 1, exitPrice: 2,
                            pnl: 1,
                            returnPct: 100, commission: 0, entryRule: symbol, exitRule: symbol, entryIndex: 0,
                            exitIndex: 1)
                    ])
                let trades = try await allRows(try await store.trades(sessionId: sessionId, batchSize: 10))
                #expect(trades.map(\.entryRule) == [symbol])
            }
            let series = try await store.marketSeries(symbol: "")
            #expect(Set(series.map(\.symbol)) == Set(Self.nasty.filter { !$0.isEmpty }))
            for (i, symbol) in Self.nasty.enumerated() where !symbol.isEmpty {
                #expect(try await store.marketSeries(symbol: symbol).count == 1)
                let candles = try await allRows(
                    try await store.candles(
                        symbol: symbol, timeframe: .candles(seconds: 86_400),
                        range: TimeRange(start: .min, end: .max), batchSize: 10))
                #expect(candles.map(\.time) == [Int64(i)])
            }
        }
    }
}
