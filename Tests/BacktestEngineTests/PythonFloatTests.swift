import Testing

@testable import BacktestEngine

/// The fast floor division gives CPython's result bit for bit.
@Suite struct PythonFloatTests {
    @Test func fastPathMatchesCPythonsAlgorithm() {
        var rng = SplitMix64(seed: 21)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var pairs: [(Double, Double)] = []
        for i in 0..<300_000 {
            switch i % 5 {
            case 0:  // an order: budget // (price + commission per unit)
                let price = 1 + uniform() * 1000
                pairs.append(
                    ((1e3 + uniform() * 1e7) * PythonFloat.fullEquityFraction, price * (1 + 0.001 * uniform())))
            case 1:  // exact multiples and their neighbours
                let w = (uniform() * 500).rounded() / 8 + 0.125
                let v = (uniform() * 1e6).rounded() * w
                pairs.append((v, w))
                pairs.append((v.nextUp, w))
                pairs.append((v.nextDown, w))
            case 2:  // quotients below 1 and near 1
                let w = 1 + uniform() * 100
                pairs.append((w * uniform(), w))
                pairs.append((w, w.nextDown))
            case 3:  // wide magnitudes
                pairs.append(
                    (
                        Double(sign: .plus, exponent: Int(rng.next() % 200) - 100, significand: 1 + uniform()),
                        Double(sign: .plus, exponent: Int(rng.next() % 200) - 100, significand: 1 + uniform())
                    ))
            default:  // quotients near 2^50 and beyond
                pairs.append((0x1p50 * (0.5 + uniform()), 1 + uniform()))
            }
        }
        for (v, w) in pairs + [
            (0, 3), (-7, 2), (7, -2), (1e308, 1e-10), (Double.leastNonzeroMagnitude, 1), (.infinity, 2), (3, .infinity),
        ] {
            let fast = PythonFloat.floorDivide(v, w), reference = PythonFloat.cpythonFloorDivide(v, w)
            #expect(fast.bitPattern == reference.bitPattern || (fast.isNaN && reference.isNaN), "\(v) // \(w)")
        }
    }
}
