import Foundation
import TestSupport
import Testing

@testable import BacktestEngine

/// Every streaming indicator against pandas/numpy (Clients/indicators_reference.py) on
/// synthetic bars, and the monotonic-deque extremum against a naive scan.
@Suite struct IndicatorTests {
    static func sample() async throws -> (candles: [Candle], reference: [String: [Double]]) {
        let csv = NSTemporaryDirectory() + "engine-indicators-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let gen = try await Subprocess.run(
            Subprocess.python, ["Tests/BacktestEngineTests/Clients/synthetic_bars.py", "600", csv, "5"])
        #expect(gen.status == 0)
        let candles = try MarketCSV.load(csv)
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/BacktestEngineTests/Clients/indicators_reference.py", [csv])
        #expect(!json.isEmpty, Comment(rawValue: out.text))
        var reference: [String: [Double]] = [:]
        for (k, v) in json {
            reference[k] = (v as! [Any]).map {
                ($0 as? NSNumber)?.doubleValue ?? ($0 as? String).flatMap { Double($0) } ?? .nan
            }
        }
        return (candles, reference)
    }

    static func compare(_ name: String, _ actual: [Double], _ expected: [Double]?, tolerance: Double = 1e-9) {
        guard let expected else {
            Issue.record(Comment(rawValue: "no reference for \(name)"))
            return
        }
        #expect(actual.count == expected.count)
        var valid = 0
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            if a.isNaN || e.isNaN {
                if a.isNaN != e.isNaN {
                    Issue.record(Comment(rawValue: "\(name)[\(i)]: engine \(a), reference \(e)"))
                    return
                }
                continue
            }
            valid += 1
            if abs(a - e) > tolerance * max(1, abs(e)) {
                Issue.record(Comment(rawValue: "\(name)[\(i)]: engine \(a), reference \(e)"))
                return
            }
        }
        #expect(valid > 400, Comment(rawValue: "\(name): only \(valid) values compared"))
    }

    @Test func streamingIndicatorsMatchPandas() async throws {
        let (candles, ref) = try await Self.sample()
        // Indicators keep raw pointers into the arena: keep it alive to the end.
        let arena = Arena()
        defer { withExtendedLifetime(arena) {} }
        let close = candles.map(\.close)
        for n in [1, 5, 20] {
            var sma = RollingMean(period: n, arena: arena)
            var ema = ExponentialMean(period: n)
            var wma = WeightedMean(period: n, arena: arena)
            var sd = RollingDeviation(period: n, arena: arena)
            var hi = RollingExtremum(period: n, highest: true, arena: arena)
            var lo = RollingExtremum(period: n, highest: false, arena: arena)
            var lag = LaggedValue(lag: n, arena: arena)
            var vw = VolumeWeightedPrice(period: n, arena: arena)
            var volMean = RollingMean(period: n, arena: arena)
            var out: [String: [Double]] = [:]
            for c in candles {
                let x = c.close
                out["sma", default: []].append(sma.update(x))
                out["ema", default: []].append(ema.update(x))
                out["wma", default: []].append(wma.update(x))
                out["stddev", default: []].append(sd.update(x))
                out["highest", default: []].append(hi.update(x))
                out["lowest", default: []].append(lo.update(x))
                let old = lag.update(x)
                out["roc", default: []].append((x / old - 1) * 100)
                out["momentum", default: []].append(x - old)
                out["vwap", default: []].append(vw.update(high: c.high, low: c.low, close: c.close, volume: c.volume))
                let m = volMean.update(c.volume)
                out["volume_ratio", default: []].append(c.volume / m)
            }
            for (name, values) in out.sorted(by: { $0.key < $1.key }) {
                // Sliding sums drift a little more than pandas' direct windows.
                Self.compare(
                    "\(name)\(n)", values, ref["\(name)\(n)"],
                    tolerance: name == "stddev" || name == "wma" ? 1e-7 : 1e-9)
            }
        }
        for n in [2, 14] {
            var rsi = WilderRSI(period: n)
            var atr = AverageTrueRange(period: n)
            Self.compare("rsi\(n)", close.map { rsi.update($0) }, ref["rsi\(n)"])
            Self.compare(
                "atr\(n)", candles.map { atr.update(high: $0.high, low: $0.low, close: $0.close) }, ref["atr\(n)"])
        }
        var macd = MACD(fast: 12, slow: 26, signal: 9)
        let m = close.map { macd.update($0) }
        Self.compare("macd", m.map(\.line), ref["macd"])
        Self.compare("macd_signal", m.map(\.signal), ref["macd_signal"])
        Self.compare("macd_hist", m.map(\.histogram), ref["macd_hist"])
        var bb = BollingerBands(period: 20, width: 2, arena: arena)
        let b = close.map { bb.update($0) }
        Self.compare("bb_upper", b.map(\.upper), ref["bb_upper"], tolerance: 1e-7)
        Self.compare("bb_middle", b.map(\.middle), ref["bb_middle"])
        Self.compare("bb_lower", b.map(\.lower), ref["bb_lower"], tolerance: 1e-7)
        var vw0 = VolumeWeightedPrice(period: 0, arena: arena)
        Self.compare(
            "vwap0", candles.map { vw0.update(high: $0.high, low: $0.low, close: $0.close, volume: $0.volume) },
            ref["vwap0"])
    }

    /// pandas' rolling mean bit for bit (the crossover tie-breaks depend on it).
    @Test func rollingMeanIsBitExactWithPandas() async throws {
        let (candles, ref) = try await Self.sample()
        let arena = Arena()
        var sma = RollingMean(period: 20, arena: arena)
        let values = withExtendedLifetime(arena) { candles.map { sma.update($0.close) } }
        let expected = ref["sma20_hex"]!
        let differing = zip(values, expected).enumerated().filter {
            !($0.element.0 == $0.element.1 || ($0.element.0.isNaN && $0.element.1.isNaN))
        }
        #expect(
            differing.isEmpty,
            "\(differing.count) differ, first: \(differing.prefix(3).map { "#\($0.offset): \($0.element.0) vs \($0.element.1)" })"
        )
    }

    /// The paired column loops (general and positive-input) give `update`'s values bit
    /// for bit, whatever the chunk cuts, with repeated values (pandas' exact-repeat rule).
    @Test(arguments: [true, false])
    func pairedAveragesMatchOneByOne(positive: Bool) {
        var rng = SplitMix64(seed: 8)
        let n = 5000
        var xs: [Double] = []
        var price = 100.0
        for i in 0..<n {
            if !(i % 300 < 40) {
                price = (price * (1 + (Double(rng.next() % 2001) / 1000 - 1) * 0.003) * 100).rounded() / 100
            }
            xs.append(price)  // flat stretches of 40 values every 300
        }
        let arena = Arena()
        defer { withExtendedLifetime(arena) {} }
        var one = RollingMean(period: 7, arena: arena), two = RollingMean(period: 23, arena: arena)
        let expectedA = xs.map { one.update($0) }, expectedB = xs.map { two.update($0) }
        let pair = UnsafeMutablePointer<RollingMean>.allocate(capacity: 2)
        defer { pair.deallocate() }
        pair.initialize(to: RollingMean(period: 7, arena: arena))
        (pair + 1).initialize(to: RollingMean(period: 23, arena: arena))
        var outA = [Double](repeating: 0, count: n), outB = [Double](repeating: 0, count: n)
        var start = 0
        var cut = 1
        xs.withUnsafeMutableBufferPointer { x in
            outA.withUnsafeMutableBufferPointer { a in
                outB.withUnsafeMutableBufferPointer { b in
                    while start < n {
                        let count = min(cut, n - start)
                        RollingMean.runPair(
                            pair, x.baseAddress! + start, a.baseAddress! + start, pair + 1, x.baseAddress! + start,
                            b.baseAddress! + start, count: count, positiveInputs: positive)
                        start += count
                        cut = cut * 3 % 1031 + 1
                    }
                }
            }
        }
        #expect(zip(outA, expectedA).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        #expect(zip(outB, expectedB).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
    }

    @Test func extremumMatchesNaiveScanOnRandomData() {
        var rng = SplitMix64(seed: 42)
        let arena = Arena()
        defer { withExtendedLifetime(arena) {} }
        for n in [1, 2, 3, 7, 50] {
            var hi = RollingExtremum(period: n, highest: true, arena: arena)
            var lo = RollingExtremum(period: n, highest: false, arena: arena)
            var xs: [Double] = []
            for i in 0..<2000 {
                // Few distinct values, so ties are common.
                let x = Double(rng.next() % 10)
                xs.append(x)
                let h = hi.update(x), l = lo.update(x)
                if i + 1 >= n {
                    let window = xs[(i + 1 - n)...i]
                    #expect(h == window.max()!)
                    #expect(l == window.min()!)
                } else {
                    #expect(h.isNaN && l.isNaN)
                }
            }
        }
    }
}

/// A small deterministic generator for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
