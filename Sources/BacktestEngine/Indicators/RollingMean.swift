/// Simple moving average of the last `n` values, computed the way pandas'
/// `rolling(n).mean()` does it (a running sum with Kahan compensation, one
/// compensation term for additions and one for removals, and an exact answer when the
/// window holds one repeated value). Matching pandas bit for bit keeps crossovers
/// tie-breaking exactly like backtesting.py's SMA. O(1) per value.
struct RollingMean {
    let period: Int
    private let ring: UnsafeMutablePointer<Double>
    private var seen = 0
    private var slot = 0
    private var sum = 0.0
    private var compensationAdd = 0.0
    private var compensationRemove = 0.0
    private var negatives = 0
    private var sameRun = 0
    private var previous = 0.0

    init(period: Int, arena: Arena) {
        self.period = period
        ring = arena.allocate(period)
    }

    /// The mean of the last `period` values, NaN until there are that many.
    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        if period == 1 { return x }
        if seen >= period {
            // Remove the value leaving the window before adding the new one (pandas' order).
            let old = ring[slot]
            let y = -old - compensationRemove
            let t = sum + y
            compensationRemove = t - sum - y
            sum = t
            if old.sign == .minus { negatives -= 1 }
        }
        ring[slot] = x
        slot += 1
        if slot == period { slot = 0 }
        seen += 1
        let y = x - compensationAdd
        let t = sum + y
        compensationAdd = t - sum - y
        sum = t
        if x.sign == .minus { negatives += 1 }
        if seen == 1 || x == previous { sameRun += 1 } else { sameRun = 1 }
        previous = x
        guard seen >= period else { return .nan }
        let nobs = period
        if sameRun >= nobs { return previous }
        let mean = sum / Double(nobs)
        if negatives == 0 && mean < 0 { return 0 }
        if negatives == nobs && mean > 0 { return 0 }
        return mean
    }

    /// Past the warm-up (`seen >= period`, period > 1): then `update` always removes the
    /// leaving value and returns a mean.
    var isSteady: Bool { seen >= period && period > 1 }

    /// `update` for a steady average, with the warm-up branches gone (the same
    /// arithmetic in the same order). The caller counts the values in `seen` afterwards
    /// through `addSeen`.
    @inline(__always)
    mutating func steadyUpdate(_ x: Double) -> Double {
        let old = ring[slot]
        var y = -old - compensationRemove
        var t = sum + y
        compensationRemove = t - sum - y
        sum = t
        ring[slot] = x
        slot = slot &+ 1 == period ? 0 : slot &+ 1
        y = x - compensationAdd
        t = sum + y
        compensationAdd = t - sum - y
        sum = t
        negatives = negatives &+ (x.sign == .minus ? 1 : 0) &- (old.sign == .minus ? 1 : 0)
        sameRun = x == previous ? sameRun &+ 1 : 1
        previous = x
        let mean = sum / Double(period)
        if sameRun >= period { return x }
        if negatives == 0 && mean < 0 { return 0 }
        if negatives == period && mean > 0 { return 0 }
        return mean
    }

    @inline(__always)
    mutating func addSeen(_ n: Int) { seen &+= n }

    /// Steady, with no negative value in the window.
    var isSteadyPositive: Bool { isSteady && negatives == 0 }

    /// `steadyUpdate` for two averages over inputs[from..<count] known positive and finite
    /// (price fields, checked when loaded; both `isSteadyPositive`): the same arithmetic in
    /// the same order, without the NaN and negative-value bookkeeping (`negatives` stays
    /// 0, and pandas' "all values negative" case cannot arise), the state in registers.
    ///
    /// `lookahead` (memory read next, e.g. the next chunk's rows) gets one byte per cache
    /// line read per bar: the loop waits on its addition chains, so these loads cost
    /// nearly nothing and bring the lines into the cache before they are needed (Swift
    /// has no prefetch instruction). Returns the bytes read, xor-ed.
    @discardableResult
    static func runSteadyPositivePair(
        _ a: inout RollingMean, _ inA: UnsafeMutablePointer<Double>, _ outA: UnsafeMutablePointer<Double>,
        _ b: inout RollingMean, _ inB: UnsafeMutablePointer<Double>, _ outB: UnsafeMutablePointer<Double>,
        from: Int, count: Int, lookahead: UnsafeRawBufferPointer? = nil
    ) -> UInt8 {
        guard from < count else { return 0 }
        var sink: UInt8 = 0
        let ahead = lookahead?.baseAddress, aheadLast = max(0, (lookahead?.count ?? 0) - 1)
        let ringA = a.ring, periodA = a.period, divisorA = Double(a.period)
        let ringB = b.ring, periodB = b.period, divisorB = Double(b.period)
        var sumA = a.sum, removeA = a.compensationRemove, addA = a.compensationAdd, slotA = a.slot, runA = a.sameRun,
            previousA = a.previous
        var sumB = b.sum, removeB = b.compensationRemove, addB = b.compensationAdd, slotB = b.slot, runB = b.sameRun,
            previousB = b.previous
        for j in from..<count {
            if let ahead { sink ^= ahead.load(fromByteOffset: min(j &* 48, aheadLast), as: UInt8.self) }
            let x = inA[j], z = inB[j]
            let oldA = ringA[slotA], oldB = ringB[slotB]
            ringA[slotA] = x
            ringB[slotB] = z
            slotA = slotA &+ 1 == periodA ? 0 : slotA &+ 1
            slotB = slotB &+ 1 == periodB ? 0 : slotB &+ 1
            var yA = -oldA - removeA, yB = -oldB - removeB
            var tA = sumA + yA, tB = sumB + yB
            removeA = tA - sumA - yA
            removeB = tB - sumB - yB
            sumA = tA
            sumB = tB
            yA = x - addA
            yB = z - addB
            tA = sumA + yA
            tB = sumB + yB
            addA = tA - sumA - yA
            addB = tB - sumB - yB
            sumA = tA
            sumB = tB
            runA = x == previousA ? runA &+ 1 : 1
            runB = z == previousB ? runB &+ 1 : 1
            previousA = x
            previousB = z
            let meanA = sumA / divisorA, meanB = sumB / divisorB
            outA[j] = runA >= periodA ? x : meanA < 0 ? 0 : meanA
            outB[j] = runB >= periodB ? z : meanB < 0 ? 0 : meanB
        }
        a.sum = sumA
        a.compensationRemove = removeA
        a.compensationAdd = addA
        a.slot = slotA
        a.sameRun = runA
        a.previous = previousA
        a.seen &+= count - from
        b.sum = sumB
        b.compensationRemove = removeB
        b.compensationAdd = addB
        b.slot = slotB
        b.sameRun = runB
        b.previous = previousB
        b.seen &+= count - from
        return sink
    }
}
