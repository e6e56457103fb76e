import BacktestEngine
import Testing

@testable import BacktestStore

/// The compact equity and trade chunk formats: exact round trips of every bit pattern,
/// and the size of a regular curve.
@Suite struct SQLiteChunkTests {
    /// A curve as the engine makes it: one point per minute, a position that flips every
    /// 100 points, cash constant between flips, drawdown from the running peak.
    static func regularCurve(count: Int, start: Int64 = 1_704_067_200_000_000) -> [EquitySample] {
        var predictor = DrawdownPredictor(peak: -.infinity)
        var cash = 10_000.0
        var state: UInt64 = 7
        var price = 100.0
        return (0..<count).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            price *= 1 + (Double(state >> 11) / Double(1 << 53) - 0.5) * 0.002
            let position = (i / 100) % 2 == 0 ? 50.0 : -50.0
            if i % 100 == 0 { cash = 10_000 - position * price }
            let equity = cash + position * price
            return EquitySample(
                time: start + Int64(i) * 60_000_000, equity: equity, cash: cash,
                positionSize: position, drawdownPct: predictor.next(equity: equity))
        }
    }

    static func bitsEqual(_ a: [EquitySample], _ b: [EquitySample]) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy { x, y in
                x.time == y.time && x.equity.bitPattern == y.equity.bitPattern && x.cash.bitPattern == y.cash.bitPattern
                    && x.positionSize.bitPattern == y.positionSize.bitPattern
                    && x.drawdownPct.bitPattern == y.drawdownPct.bitPattern
            }
    }

    static func roundTrip(_ points: [EquitySample], hint: Double? = nil) throws -> (points: [EquitySample], bytes: Int)
    {
        let encoded = EquityChunk.encode(points[...], peakHint: hint)
        var out: [EquitySample] = []
        try encoded.data.withUnsafeBytes { blob in try EquityChunk.decode(blob, count: points.count, into: &out) }
        return (out, encoded.data.count)
    }

    @Test func regularCurveIsSmallAndExact() throws {
        let points = Self.regularCurve(count: EquityChunk.capacity)
        let (back, bytes) = try Self.roundTrip(points)
        #expect(Self.bitsEqual(back, points))
        // Equity ~6-8 bytes, the other columns a bitmap and the odd change.
        #expect(Double(bytes) / Double(points.count) < 10, "\(bytes) bytes")
        // A wrong peak hint costs bytes, never exactness.
        let (wrong, _) = try Self.roundTrip(points, hint: 1e9)
        #expect(Self.bitsEqual(wrong, points))
    }

    @Test func everyBitPatternRoundTrips() throws {
        let nanPayload = Double(bitPattern: 0x7ff8_0000_dead_beef)
        let signalling = Double(bitPattern: 0x7ff0_0000_0000_0001)
        let specials: [Double] = [
            .nan, -.nan, nanPayload, signalling, 0, -0.0, .infinity, -.infinity,
            .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 1, -1, 1e300,
        ]
        var points: [EquitySample] = []
        for (i, a) in specials.enumerated() {
            for (j, b) in specials.enumerated() {
                points.append(
                    EquitySample(
                        time: Int64(i * 100 + j), equity: a, cash: b, positionSize: specials[(i + j) % specials.count],
                        drawdownPct: specials[(i * 7 + j) % specials.count]))
            }
        }
        #expect(Self.bitsEqual(try Self.roundTrip(points).points, points))
        // -0.0 and NaN drawdowns among predicted ones; predicted 0 is +0.0, so -0.0 is a residual.
        var curve = Self.regularCurve(count: 500)
        curve[3].drawdownPct = -0.0
        curve[4].drawdownPct = .nan
        curve[5].equity = .nan
        curve[6].cash = -0.0
        #expect(Self.bitsEqual(try Self.roundTrip(curve).points, curve))
    }

    @Test func irregularTimes() throws {
        var curve = Self.regularCurve(count: 3000)
        // Weekend gaps, a step back, equal times, extreme values.
        for i in stride(from: 100, to: 3000, by: 390) { for k in i..<3000 { curve[k].time += 2 * 86_400_000_000 } }
        curve[7].time = curve[6].time
        curve[9].time = curve[8].time - 5
        curve[2999].time = .max
        curve[0].time = .min
        #expect(Self.bitsEqual(try Self.roundTrip(curve).points, curve))
        for count in [1, 2, 3] {
            let few = Array(curve[10..<10 + count])
            #expect(Self.bitsEqual(try Self.roundTrip(few).points, few))
        }
        #expect(try Self.roundTrip([]).points.isEmpty)
    }

    @Test func randomColumnsRoundTrip() throws {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
        for _ in 0..<20 {
            let n = Int(next() % 5000) + 1
            let points = (0..<n).map { _ in
                EquitySample(
                    time: Int64(bitPattern: next()), equity: Double(bitPattern: next()),
                    cash: Double(bitPattern: next() & 0xffff_0000_0000_0000),
                    positionSize: Double(bitPattern: next() & 0xff),
                    drawdownPct: Double(bitPattern: next()))
            }
            #expect(Self.bitsEqual(try Self.roundTrip(points).points, points))
        }
    }

    @Test func corruptBlobsThrow() throws {
        let points = Self.regularCurve(count: 300)
        let data = EquityChunk.encode(points[...], peakHint: nil).data
        for cut in [1, 5, 20, data.count / 2, data.count - 1] {
            var out: [EquitySample] = []
            #expect(throws: StoreError.self) {
                try Array(data.prefix(cut)).withUnsafeBytes {
                    try EquityChunk.decode($0, count: points.count, into: &out)
                }
            }
        }
        var out: [EquitySample] = []
        #expect(throws: StoreError.self) {
            try data.withUnsafeBytes { try EquityChunk.decode($0, count: 299, into: &out) }
        }
    }

    @Test func tradesRoundTripExactly() throws {
        let trades = (1...300).map { n -> TradeRecord in
            var t = SQLiteResultsTests.trade(n)
            if n == 5 { t.pnl = -0.0 }
            if n == 6 { t.returnPct = Double(bitPattern: 0x7ff8_0000_0000_0042) }
            if n == 7 {
                t.entryRule = "nul\u{0}inside ✓"
                t.exitTime = .min
                t.entryTime = .max
            }
            return t
        }
        let data = TradeChunk.encode(trades[...])
        var out: [TradeRecord] = []
        try data.withUnsafeBytes { try TradeChunk.decode($0, count: trades.count, into: &out) }
        #expect(out.count == trades.count)
        for (a, b) in zip(out, trades) {
            #expect(
                a.number == b.number && a.side == b.side && a.entryTime == b.entryTime && a.exitTime == b.exitTime
                    && a.entryRule == b.entryRule && a.exitRule == b.exitRule && a.entryIndex == b.entryIndex
                    && a.exitIndex == b.exitIndex)
            for (x, y) in [
                (a.quantity, b.quantity), (a.entryPrice, b.entryPrice), (a.exitPrice, b.exitPrice), (a.pnl, b.pnl),
                (a.returnPct, b.returnPct), (a.commission, b.commission),
            ] {
                #expect(x.bitPattern == y.bitPattern)
            }
        }
        var after: [TradeRecord] = []
        try data.withUnsafeBytes { try TradeChunk.decode($0, count: trades.count, into: &after, after: 250) }
        #expect(after.map(\.number) == Array(251...300))
        #expect(throws: StoreError.self) {
            try Array(data.dropLast()).withUnsafeBytes { try TradeChunk.decode($0, count: trades.count, into: &out) }
        }
    }

    @Test func normalizedSortsAndKeepsTheLastDuplicate() {
        var a = SQLiteResultsTests.trade(3)
        a.pnl = 1
        var b = SQLiteResultsTests.trade(3)
        b.pnl = 2
        let got = TradeChunk.normalized([SQLiteResultsTests.trade(5), a, SQLiteResultsTests.trade(1), b])
        #expect(got.map(\.number) == [1, 3, 5])
        #expect(got[1].pnl == 2)
    }
}
