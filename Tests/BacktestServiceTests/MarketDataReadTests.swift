import BacktestProto
import Foundation
import RPC
import TestSupport
import Testing

/// GetMarketData: a stored series read back as a run reads it, in chunks, within a
/// range; candles built from ticks when only ticks are stored; every bad request
/// answered naming its field.
@Suite struct MarketDataReadTests {
    static func read(_ client: BacktestServiceClient, _ request: GetMarketDataRequest) async throws
        -> [GetMarketDataResponse]
    {
        var messages: [GetMarketDataResponse] = []
        try await client.getMarketData(request) { messages.append($0) }
        return messages
    }

    static func candles(_ messages: [GetMarketDataResponse]) -> CandleBatch {
        var all = CandleBatch()
        for case .candles(let b)? in messages.map(\.rows) {
            all.timeUs += b.timeUs
            all.open += b.open
            all.high += b.high
            all.low += b.low
            all.close += b.close
            all.volume += b.volume
        }
        return all
    }

    @Test func candlesAreReadBackAsImported() async throws {
        let s = try await InProcessServer()
        defer { s.remove() }
        let csv = Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path
        _ = try await s.importCSV(
            csv, ImportHeader(symbol: "GOOG", kind: .candles, format: .csv, sourceName: "GOOG.csv"))
        let messages = try await Self.read(
            s.client, GetMarketDataRequest(symbol: "GOOG", kind: .candles, timeframe: "1d", chunkSize: 500))
        #expect(messages.count == 5, "2148 rows in chunks of 500")
        let all = Self.candles(messages)
        #expect(all.timeUs.count == 2148)
        #expect(zip(all.timeUs, all.timeUs.dropFirst()).allSatisfy { $0 < $1 }, "in time order")
        // The file's first and last rows, as written in it.
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        let first = lines[1].split(separator: ",").map(String.init)
        let last = lines[lines.count - 1].split(separator: ",").map(String.init)
        #expect(all.timeUs.first == 1_092_873_600_000_000, "2004-08-19")
        #expect([all.open[0], all.high[0], all.low[0], all.close[0], all.volume[0]] == first[1...].map { Double($0)! })
        let n = all.timeUs.count - 1
        #expect([all.open[n], all.high[n], all.low[n], all.close[n], all.volume[n]] == last[1...].map { Double($0)! })

        // A range is half-open, as everywhere: [2010-01-01, 2011-01-01).
        let year = Self.candles(
            try await Self.read(
                s.client,
                GetMarketDataRequest(
                    symbol: "GOOG", timeframe: "1d",
                    startTime: ProtoTimestamp(microsecondsSinceEpoch: 1_262_304_000_000_000),
                    endTime: ProtoTimestamp(microsecondsSinceEpoch: 1_293_840_000_000_000))))
        #expect(year.timeUs.count == 252, "the trading days of 2010")
        #expect(year.timeUs.allSatisfy { (1_262_304_000_000_000..<1_293_840_000_000_000).contains($0) })
    }

    /// Only ticks stored: candles are built from them as a run builds them, and the
    /// ticks themselves read back.
    @Test func candlesAreBuiltFromTicks() async throws {
        let s = try await InProcessServer()
        defer { s.remove() }
        let minute: Int64 = 60_000_000
        let base: Int64 = 1_700_000_000_000_000 / minute * minute
        let ticks = TickBatch(
            timeUs: [base, base + 10_000_000, base + 50_000_000, base + minute + 1, base + 3 * minute],
            price: [10, 12, 9, 11, 13], size: [1, 2, 3, 4, 5])
        let imported = try await s.client.importMarketData { send in
            try await send(
                ImportMarketDataRequest(payload: .header(ImportHeader(symbol: "T", kind: .ticks, format: .rows))))
            try await send(ImportMarketDataRequest(payload: .ticks(ticks)))
        }
        #expect(imported.rowsImported == 5)
        let bars = Self.candles(
            try await Self.read(s.client, GetMarketDataRequest(symbol: "T", kind: .candles, timeframe: "1m")))
        #expect(bars.timeUs == [base, base + minute, base + 3 * minute], "empty minutes make no candle")
        #expect(bars.open == [10, 11, 13] && bars.high == [12, 11, 13] && bars.low == [9, 11, 13])
        #expect(bars.close == [9, 11, 13] && bars.volume == [6, 4, 5])
        let back = try await Self.read(s.client, GetMarketDataRequest(symbol: "T", kind: .ticks))
        guard case .ticks(let read)? = back.first?.rows else {
            Issue.record("no ticks: \(back)")
            return
        }
        #expect(read == ticks)
    }

    @Test func badRequestsNameTheirField() async throws {
        let s = try await InProcessServer()
        defer { s.remove() }
        _ = try await s.importCSV(
            Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path,
            ImportHeader(symbol: "GOOG", kind: .candles, format: .csv, sourceName: "GOOG.csv"))
        let cases: [(GetMarketDataRequest, Status.Code, String)] = [
            (GetMarketDataRequest(timeframe: "1d"), .invalidArgument, "symbol: required"),
            (GetMarketDataRequest(symbol: "GOOG"), .invalidArgument, "timeframe: required"),
            (GetMarketDataRequest(symbol: "GOOG", timeframe: "1x"), .invalidArgument, "timeframe: "),
            (GetMarketDataRequest(symbol: "GOOG", timeframe: "tick"), .invalidArgument, "timeframe: \"tick\""),
            (
                GetMarketDataRequest(symbol: "GOOG", kind: .ticks, timeframe: "1d"), .invalidArgument,
                "timeframe: must be empty"
            ),
            (GetMarketDataRequest(symbol: "GOOG", timeframe: "1d", chunkSize: 50_001), .invalidArgument, "chunk_size"),
            (
                GetMarketDataRequest(
                    symbol: "GOOG", timeframe: "1d", startTime: ProtoTimestamp(microsecondsSinceEpoch: 10),
                    endTime: ProtoTimestamp(microsecondsSinceEpoch: 10)), .invalidArgument, "end_time"
            ),
            (
                GetMarketDataRequest(symbol: "NOPE", timeframe: "1d"), .notFound,
                "symbol: no 1d candles stored for \"NOPE\""
            ),
            (
                GetMarketDataRequest(symbol: "GOOG", timeframe: "1h"), .notFound,
                "symbol: no 1h candles stored for \"GOOG\" (stored: 1d candles)"
            ),
            (GetMarketDataRequest(symbol: "GOOG", kind: .ticks), .notFound, "symbol: no ticks stored"),
        ]
        for (request, code, message) in cases {
            let error = await InProcessServer.status { try await Self.read(s.client, request) }
            #expect(error?.code == code, "\(request): \(String(describing: error))")
            #expect(error?.message.hasPrefix(message) == true, "\(request): \(error?.message ?? "OK")")
        }
    }
}
