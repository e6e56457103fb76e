import Foundation
import Testing

@testable import BacktestEngine

/// The statistics' own logarithm: within 1 ulp of the C library's, and beta (the only
/// statistic built from per-bar logarithms) within 1e-12 of the value from glibc's `log`.
@Suite struct NaturalLogTests {
    static func ulps(_ a: Double, _ b: Double) -> Double { a == b ? 0 : abs(a - b) / b.ulp }

    @Test func withinOneUlpOfTheCLibrary() {
        var rng = SplitMix64(seed: 11)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var worst = 0.0
        var differ = 0
        for i in 0..<400_000 {
            let x: Double
            switch i % 4 {
            case 0: x = 1 + (uniform() - 0.5) * 0.002  // a bar's return
            case 1: x = 1 + (uniform() - 0.5) * 2 / 64  // the whole near-one range
            case 2: x = 0.5 + uniform() * 1.5  // around it
            default: x = Foundation.exp((uniform() - 0.5) * 1400)  // any magnitude
            }
            let u = Self.ulps(NaturalLog.of(x), Foundation.log(x))
            worst = max(worst, u)
            if u > 0 { differ += 1 }
        }
        #expect(worst <= 1)
        #expect(differ < 20_000)  // 1-ulp differences are rare (< 5%)
        for x in [
            1 + 1.0 / 64, 1 - 1.0 / 64, (1 + 1.0 / 64).nextUp, (1 - 1.0 / 64).nextDown, 2.0.squareRoot(),
            0.5.squareRoot(),
            Double.leastNormalMagnitude, Double.greatestFiniteMagnitude, 1.0.nextUp, 1.0.nextDown,
        ] {
            #expect(Self.ulps(NaturalLog.of(x), Foundation.log(x)) <= 1, "\(x)")
        }
    }

    @Test func exactAndSpecialValues() {
        #expect(NaturalLog.of(1) == 0)
        #expect(NaturalLog.of(1).sign == .plus)
        #expect(NaturalLog.of(0) == -.infinity)
        #expect(NaturalLog.of(.infinity) == .infinity)
        #expect(NaturalLog.of(.nan).isNaN)
        #expect(NaturalLog.of(-1).isNaN)
        #expect(NaturalLog.of(Double.leastNonzeroMagnitude) == Foundation.log(Double.leastNonzeroMagnitude))
    }

    /// The vectorised column pass gives what `of` gives bar by bar, also for ratios far
    /// from 1, zeros (0/0 of a flat bankrupt account is 0) and infinities.
    @Test func columnPassMatchesTheScalarFunction() {
        var rng = SplitMix64(seed: 5)
        let n = 1000
        var a = [Double](repeating: 0, count: n), b = [Double](repeating: 0, count: n)
        var x = 100.0, y = 1e6
        for j in 0..<n {
            let r = rng.next()
            x *= j % 97 == 0 ? 1.5 : 1 + (Double(r % 1000) / 1000 - 0.5) * 0.004
            y *= j % 89 == 0 ? 0.9 : 1 + (Double((r >> 20) % 1000) / 1000 - 0.5) * 0.01
            a[j] = x
            b[j] = j % 50 == 0 ? y : b[max(0, j - 1)]  // flat stretches
        }
        b[300] = 0
        b[301] = 0
        b[302] = 5
        var outA = [Double](repeating: -1, count: n), outB = [Double](repeating: -1, count: n)
        NaturalLog.logRatios(a, &outA, b, &outB, count: n)
        for j in 1..<n {
            let ea = a[j] == a[j - 1] ? 0 : NaturalLog.of(a[j] / a[j - 1])
            let eb = b[j] == b[j - 1] ? 0 : NaturalLog.of(b[j] / b[j - 1])
            #expect(outA[j].bitPattern == ea.bitPattern, "a \(j)")
            #expect(outB[j].bitPattern == eb.bitPattern, "b \(j)")
        }
        #expect(outB[301] == 0)
        #expect(outB[300] == -.infinity)
        #expect(outB[302] == .infinity)
    }

    /// Beta recomputed from the equity curve the old way (glibc's `log`, the same sums in
    /// the same order) agrees to 1e-12 relative, on minute bars (quiet and with large
    /// moves) and GOOG's daily bars, for several strategies.
    @Test(arguments: 0..<4)
    func betaAgreesWithTheCLibraryLogarithm(dataset: Int) throws {
        let candles: [Candle]
        switch dataset {
        case 0: candles = Bars.randomWalk(30_000, seed: 3)
        case 1: candles = Bars.randomWalk(30_000, seed: 4, step: 0.05)  // many returns beyond 1/64
        case 2: candles = Bars.randomWalk(5_000, seed: 9, step: 0.0004)
        default: candles = try MarketCSV.load(ParityTests.goog)
        }
        let configs = [
            BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])),
            BacktestConfig(
                initialCapital: 10_000,
                strategy: .builtin(name: "default", params: ["stop_loss_pct": 0.5, "take_profit_pct": 1]),
                costs: .init(commissionFixed: 0.5, commissionRate: 0.0005, slippageBps: 1)),
            BacktestConfig(
                initialCapital: 10_000,
                strategy: Bars.rules(
                    [
                        ("L", .entryLong, "crosses_above(ema(close, 8), wma(close, 21))"),
                        ("S", .entryShort, "rsi(close, 14) > 70"),
                    ], trailing: 2), fillMode: .onClose, sizing: .equityFraction(0.5), fractionalUnits: true),
        ]
        for config in configs {
            let (stats, _, equity) = try Bars.run(config, candles)
            #expect(equity.count == candles.count)
            var sumE = 0.0, sumM = 0.0, sumEM = 0.0, sumMM = 0.0
            for j in 1..<candles.count {
                let e0 = equity[j - 1].equity, e1 = equity[j].equity, c0 = candles[j - 1].close, c1 = candles[j].close
                let e = e1 == e0 ? 0 : Foundation.log(e1 / e0)
                let m = c1 == c0 ? 0 : Foundation.log(c1 / c0)
                sumE += e
                sumM += m
                sumEM += e * m
                sumMM += m * m
            }
            let n = Double(candles.count - 1)
            let beta = ((sumEM - sumE * sumM / n) / (n - 1)) / ((sumMM - sumM * sumM / n) / (n - 1))
            #expect(beta.isFinite)  // 0 when a strategy never trades (flat equity)
            #expect(abs(stats.beta - beta) <= 1e-12 * abs(beta), "beta \(stats.beta) vs \(beta)")
            let alpha = stats.returnPct - beta * stats.buyAndHoldReturnPct
            #expect(
                abs(stats.alphaPct - alpha) <= 1e-12 * max(abs(alpha), 1e-300), "alpha \(stats.alphaPct) vs \(alpha)")
        }
    }
}
