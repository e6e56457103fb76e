/// An indicator of one input series, updated one value at a time.
protocol SeriesIndicator {
    /// The indicator's value after `x`.
    mutating func update(_ x: Double) -> Double
}

extension SeriesIndicator {
    /// Updates with input[0..<count] and writes each value to output (NaN input gives
    /// NaN and leaves the state alone). Works on a local copy so the state stays in
    /// registers for the whole loop.
    @inline(__always)
    mutating func run(_ input: UnsafeMutablePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        var state = self
        for j in 0..<count {
            let x = input[j]
            output[j] = x.isNaN ? .nan : state.update(x)
        }
        self = state
    }
}

extension RollingMean: SeriesIndicator {
    /// `run` with the warm-up done by `update` and the rest by `steadyUpdate`.
    @inline(__always)
    mutating func run(_ input: UnsafeMutablePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        var state = self
        var j = 0
        while j < count && !state.isSteady {
            let x = input[j]
            output[j] = x.isNaN ? .nan : state.update(x)
            j += 1
        }
        var steady = 0
        while j < count {
            let x = input[j]
            if x.isNaN {
                output[j] = .nan
            } else {
                output[j] = state.steadyUpdate(x)
                steady &+= 1
            }
            j += 1
        }
        state.addSeen(steady)
        self = state
    }

    /// `run` for two averages at once: two independent dependency chains in one loop.
    @inline(__always)
    @discardableResult
    static func runPair(
        _ a: UnsafeMutablePointer<RollingMean>, _ inA: UnsafeMutablePointer<Double>,
        _ outA: UnsafeMutablePointer<Double>,
        _ b: UnsafeMutablePointer<RollingMean>, _ inB: UnsafeMutablePointer<Double>,
        _ outB: UnsafeMutablePointer<Double>,
        count: Int, positiveInputs: Bool, lookahead: UnsafeRawBufferPointer? = nil
    ) -> UInt8 {
        var sa = a.pointee, sb = b.pointee
        var j = 0
        while j < count && !(sa.isSteady && sb.isSteady) {
            let x = inA[j], y = inB[j]
            outA[j] = x.isNaN ? .nan : sa.update(x)
            outB[j] = y.isNaN ? .nan : sb.update(y)
            j += 1
        }
        if positiveInputs && sa.isSteadyPositive && sb.isSteadyPositive {
            let sink = RollingMean.runSteadyPositivePair(
                &sa, inA, outA, &sb, inB, outB, from: j, count: count, lookahead: lookahead)
            a.pointee = sa
            b.pointee = sb
            return sink
        }
        var steadyA = 0, steadyB = 0
        while j < count {
            let x = inA[j], y = inB[j]
            if x.isNaN || y.isNaN {
                outA[j] = x.isNaN ? .nan : sa.steadyUpdate(x)
                outB[j] = y.isNaN ? .nan : sb.steadyUpdate(y)
                steadyA &+= x.isNaN ? 0 : 1
                steadyB &+= y.isNaN ? 0 : 1
            } else {
                outA[j] = sa.steadyUpdate(x)
                outB[j] = sb.steadyUpdate(y)
                steadyA &+= 1
                steadyB &+= 1
            }
            j += 1
        }
        sa.addSeen(steadyA)
        sb.addSeen(steadyB)
        a.pointee = sa
        b.pointee = sb
        return 0
    }
}

extension ExponentialMean: SeriesIndicator {}
extension WeightedMean: SeriesIndicator {}
extension RollingDeviation: SeriesIndicator {}
extension RollingExtremum: SeriesIndicator {}
extension WilderRSI: SeriesIndicator {}
