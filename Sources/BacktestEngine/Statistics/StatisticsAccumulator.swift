import Foundation
import TimeKit

/// backtesting.py's `compute_stats`, computed as the bars go by with O(1) memory:
/// per-period returns for the annualised figures, drawdown periods as they close,
/// co-moments for beta and running sums over closed trades.
///
/// The last bar's equity stays pending until the next bar or the end (the end of data
/// may still change it), so `commit` always works one bar behind.
struct StatisticsAccumulator {
    let initialCapital: Double

    // Bars.
    private(set) var bars = 0
    private var firstTime: Int64 = 0
    private var lastTime: Int64 = 0
    private var lastClose = Double.nan
    /// Close of the last warm-up bar (backtesting.py's buy-and-hold start).
    var buyAndHoldBase = Double.nan
    private var weekendBars = 0
    private var day = Int64.min
    private var nextDayStart = Int64.min
    private var isWeekend = false
    private var weekBin: Int64 = 0
    private var monthBin: Int64 = 0
    private var yearBin: Int64 = 0
    private var daily = PeriodReturns()
    private var weekly = PeriodReturns()
    private var monthly = PeriodReturns()
    private var yearly = PeriodReturns()
    /// The last 100 bar times, for backtesting.py's `_data_period` (median spacing).
    private var recentTimes = [Int64](repeating: 0, count: 100)
    private var recentSlot = 0

    // Equity.
    private var previousEquity = Double.nan
    private var drawdown = DrawdownTracker()
    var peak: Double { drawdown.peak }
    var maxDrawdown: Double { drawdown.maxDrawdown }
    private var lastEquity = Double.nan
    /// The drawdown of the last committed bar (a fraction).
    private(set) var lastDrawdown = 0.0

    // Beta: sums of equity and market log returns.
    private var pairs = 0
    private var sumE = 0.0
    private var sumM = 0.0
    private var sumEM = 0.0
    private var sumMM = 0.0

    // Trades.
    private(set) var trades = 0
    private var wins = 0
    private var pnlMean = 0.0
    private var pnlM2 = 0.0
    private var winPnlSum = 0.0
    private var lossPnlSum = 0.0
    private var losses = 0
    private var bestReturn = -Double.infinity
    private var worstReturn = Double.infinity
    private var returnSum = 0.0
    private var positiveReturnSum = 0.0
    private var negativeReturnSum = 0.0
    private var returnLogSum = 0.0
    private var returnNonPositive = false
    private var durationSum = 0.0
    private var durationMax: Int64 = 0
    private var coveredBars = 0
    private var coveredUntil = -1
    var commissions = 0.0

    init(initialCapital: Double) {
        self.initialCapital = initialCapital
    }

    /// Adds bar `index` with its final equity.
    mutating func commit(index: Int, time: Int64, close: Double, equity: Double) {
        if bars == 0 {
            firstTime = time
            drawdown.zeroTime = time
        } else {
            // Log returns of equity and market for beta (np.cov of the two).
            // log(1) is 0: flat stretches skip the logarithm.
            let e = equity == previousEquity ? 0 : NaturalLog.of(equity / previousEquity)
            let m = close == lastClose ? 0 : NaturalLog.of(close / lastClose)
            addPair(e, m)
        }
        recentTimes[recentSlot] = time
        recentSlot = recentSlot == 99 ? 0 : recentSlot + 1
        lastDrawdown = observe(index: index, time: time, equity: equity)
        lastClose = close
    }

    /// Adds bars `from..<to` of the columns (bar `from` is bar `firstIndex` of the run)
    /// and writes each bar's drawdown (a fraction) to `drawdowns`; with `samples`, also
    /// each bar's equity sample (`positions` gives the sizes) to samples[0..<to - from].
    /// The same arithmetic in the same order as `commit` one bar at a time, in two passes:
    /// the logarithms (independent, so they pipeline), then the running sums, the
    /// drawdowns and the samples. `scratch` holds 2 x (to - from) doubles.
    mutating func commit(
        times: UnsafeMutablePointer<Int64>, closes: UnsafeMutablePointer<Double>,
        equities: UnsafeMutablePointer<Double>, drawdowns: UnsafeMutablePointer<Double>,
        from: Int, to: Int, firstIndex: Int, scratch: UnsafeMutablePointer<Double>,
        positions: UnsafeMutablePointer<Double>, samples: UnsafeMutablePointer<EquitySample>?
    ) {
        guard from < to else { return }
        var start = from
        var index = firstIndex
        if bars == 0 {
            commit(index: index, time: times[start], close: closes[start], equity: equities[start])
            drawdowns[start] = lastDrawdown
            samples?[0] = Self.sample(
                time: times[start], equity: equities[start], position: positions[start], close: closes[start],
                drawdown: lastDrawdown)
            start += 1
            index += 1
            guard start < to else { return }
        }
        let n = to - start
        let logE = scratch, logM = scratch + n
        let pe = equities + start, pc = closes + start, pp = positions + start
        logE[0] = pe[0] == previousEquity ? 0 : NaturalLog.of(pe[0] / previousEquity)
        logM[0] = pc[0] == lastClose ? 0 : NaturalLog.of(pc[0] / lastClose)
        NaturalLog.logRatios(pe, logE, pc, logM, count: n)
        // `observe` for each bar and the running sums, with the per-bar state in locals
        // (a sum kept in the struct goes through memory every bar); the same additions in
        // the same order. One loop: the sums' addition chains overlap the rest.
        let pt = times + start
        let out = samples.map { $0 + (start - from) }
        var sE = sumE, sM = sumM, sEM = sumEM, sMM = sumMM
        var tracker = drawdown
        var weekend = 0
        for j in 0..<n {
            let e = logE[j], m = logM[j]
            sE += e
            sM += m
            sEM += e * m
            sMM += m * m
            let time = pt[j], equity = pe[j], barIndex = index + j
            if time >= nextDayStart {
                lastEquity = j == 0 ? lastEquity : pe[j - 1]
                settleBins()
                newDay(time)
                daily.observe(bin: day, equity: equity)
                weekly.observe(bin: weekBin, equity: equity)
                monthly.observe(bin: monthBin, equity: equity)
                yearly.observe(bin: yearBin, equity: equity)
            }
            if isWeekend { weekend += 1 }
            let dd = tracker.observe(index: barIndex, time: time, equity: equity)
            drawdowns[start + j] = dd
            out?[j] = Self.sample(time: time, equity: equity, position: pp[j], close: pc[j], drawdown: dd)
        }
        sumE = sE
        sumM = sM
        sumEM = sEM
        sumMM = sMM
        pairs += n
        drawdown = tracker
        weekendBars += weekend
        bars += n
        lastTime = pt[n - 1]
        previousEquity = pe[n - 1]
        lastEquity = pe[n - 1]
        lastDrawdown = drawdowns[to - 1]
        lastClose = closes[to - 1]
        // Only the last 100 times are ever read.
        for j in max(start, to - 100)..<to {
            recentTimes[recentSlot] = times[j]
            recentSlot = recentSlot == 99 ? 0 : recentSlot + 1
        }
    }

    /// A bar's equity sample (`drawdown` a fraction).
    @inline(__always)
    static func sample(time: Int64, equity: Double, position: Double, close: Double, drawdown d: Double) -> EquitySample
    {
        EquitySample(
            time: time, equity: equity, cash: equity - position * close, positionSize: position,
            drawdownPct: d == 0 ? 0 : -d * 100)
    }

    @inline(__always)
    private mutating func addPair(_ e: Double, _ m: Double) {
        pairs += 1
        sumE += e
        sumM += m
        sumEM += e * m
        sumMM += m * m
    }

    /// Counts a bar: calendar bins, peak, drawdown and drawdown periods. Returns the
    /// bar's drawdown.
    @inline(__always)
    private mutating func observe(index: Int, time: Int64, equity: Double) -> Double {
        bars += 1
        lastTime = time
        // Bins change only with the day; until then only their last equity would move,
        // and that is settled when they close.
        if time >= nextDayStart {
            settleBins()
            newDay(time)
            daily.observe(bin: day, equity: equity)
            weekly.observe(bin: weekBin, equity: equity)
            monthly.observe(bin: monthBin, equity: equity)
            yearly.observe(bin: yearBin, equity: equity)
        }
        if isWeekend { weekendBars += 1 }
        previousEquity = equity
        lastEquity = equity

        return drawdown.observe(index: index, time: time, equity: equity)
    }

    /// Gives the open calendar bins the last committed equity.
    private mutating func settleBins() {
        daily.settle(lastEquity)
        weekly.settle(lastEquity)
        monthly.settle(lastEquity)
        yearly.settle(lastEquity)
    }

    private mutating func newDay(_ time: Int64) {
        day = UTCTime.day(of: time)
        nextDayStart = (day + 1) * UTCTime.microsPerDay
        isWeekend = UTCTime.weekday(day: day) >= 5
        // pandas' "W" bins run Monday to Sunday.
        weekBin = UTCTime.floorDiv(day + 3, 7)
        let (y, m, _) = UTCTime.civil(day: day)
        monthBin = y * 12 + m
        yearBin = y
    }

    /// A closed trade. Trades arrive in exit order.
    mutating func addTrade(
        pnl: Double, returnFraction r: Double, entryIndex: Int, exitIndex: Int, duration: Int64, commission: Double
    ) {
        trades += 1
        commissions += commission
        if pnl > 0 {
            wins += 1
            winPnlSum += pnl
        } else if pnl < 0 {
            losses += 1
            lossPnlSum += pnl
        }
        let delta = pnl - pnlMean
        pnlMean += delta / Double(trades)
        pnlM2 += delta * (pnl - pnlMean)
        bestReturn = max(bestReturn, r)
        worstReturn = min(worstReturn, r)
        returnSum += r
        if r > 0 { positiveReturnSum += r } else if r < 0 { negativeReturnSum += r }
        if r + 1 <= 0 { returnNonPositive = true } else { returnLogSum += NaturalLog.of(r + 1) }
        durationSum += Double(duration)
        durationMax = max(durationMax, duration)
        let from = max(entryIndex, coveredUntil + 1)
        if exitIndex >= from { coveredBars += exitIndex - from + 1 }
        coveredUntil = max(coveredUntil, exitIndex)
    }

    /// Commissions of an opened trade that is never closed in the statistics.
    mutating func addOpenCommission(_ c: Double) { commissions += c }

    /// The statistics, after the last bar was committed.
    mutating func finish(warmupBars: Int) -> BacktestStatistics {
        var s = BacktestStatistics()
        guard bars > 0 else { return s }
        settleBins()
        daily.closeBin()
        weekly.closeBin()
        monthly.closeBin()
        yearly.closeBin()

        s.start = firstTime
        s.end = lastTime
        s.durationMicros = lastTime - firstTime
        let period = dataPeriod()
        let resolution = Self.resolution(of: period)

        s.exposureTimePct = Double(coveredBars) / Double(bars) * 100
        s.equityFinal = lastEquity
        s.equityPeak = peak
        s.finalPnl = lastEquity - initialCapital
        s.commissions = commissions
        let equity0 = initialCapital
        s.returnPct = (lastEquity - equity0) / equity0 * 100
        let base = buyAndHoldBase
        s.buyAndHoldReturnPct = (lastClose - base) / base * 100

        // Annualisation as backtesting.py: period from the median bar spacing (in days).
        let freqDays = period.isNaN ? -1 : Int64((period / Double(UTCTime.microsPerDay)).rounded(.down))
        let haveWeekends = Double(weekendBars) / Double(bars) > 2.0 / 7.0 * 0.6
        let annualPeriods: Double =
            freqDays == 7 ? 52 : freqDays == 31 ? 12 : freqDays == 365 ? 1 : (haveWeekends ? 365 : 252)
        let returns = freqDays == 7 ? weekly : freqDays == 31 ? monthly : freqDays == 365 ? yearly : daily
        let g = returns.geometricMean
        let annualized = pow(1 + g, annualPeriods) - 1
        s.returnAnnualizedPct = annualized * 100
        let variance = returns.variance
        s.volatilityAnnualizedPct =
            (pow(variance + (1 + g) * (1 + g), annualPeriods) - pow(1 + g, 2 * annualPeriods)).squareRoot() * 100
        let seconds = s.durationMicros / UTCTime.microsPerSecond
        let years = (Double(seconds / 86_400) + Double(seconds % 86_400) / 86_400) / 365.25
        s.cagrPct = years != 0 ? (pow(lastEquity / equity0, 1 / years) - 1) * 100 : .nan
        s.sharpeRatio = s.returnAnnualizedPct / (s.volatilityAnnualizedPct == 0 ? .nan : s.volatilityAnnualizedPct)
        s.sortinoRatio = annualized / (returns.meanNegativeSquare.squareRoot() * annualPeriods.squareRoot())
        s.calmarRatio = annualized / (maxDrawdown == 0 ? .nan : maxDrawdown)
        var beta = Double.nan
        if pairs > 1 {
            let n = Double(pairs)
            let cov = (sumEM - sumE * sumM / n) / (n - 1)
            let varM = (sumMM - sumM * sumM / n) / (n - 1)
            beta = cov / varM
        }
        s.beta = beta
        s.alphaPct = s.returnPct - beta * s.buyAndHoldReturnPct
        s.maxDrawdownPct = -maxDrawdown * 100

        // The last drawdown period runs to the end of data (backtesting.py counts it
        // when it spans more than one bar).
        var final = drawdown
        if lastDrawdown != 0 && bars - 1 > final.zeroIndex + 1 { final.closePeriod(endTime: lastTime) }
        if final.periods > 0 {
            s.avgDrawdownPct = -final.peakSum / Double(final.periods) * 100
            s.maxDrawdownDurationMicros = Self.ceil(Double(final.durationMax), to: resolution)
            s.avgDrawdownDurationMicros = Self.ceil(final.durationSum / Double(final.periods), to: resolution)
        } else {
            // backtesting.py then averages the nonzero drawdowns: only the last bar's can be.
            s.avgDrawdownPct = lastDrawdown != 0 ? -lastDrawdown * 100 : .nan
        }

        s.totalTrades = trades
        if trades > 0 {
            let n = Double(trades)
            let winRate = Double(wins) / n
            s.winRatePct = winRate * 100
            s.bestTradePct = bestReturn * 100
            s.worstTradePct = worstReturn * 100
            s.avgTradePct = (returnNonPositive ? 0 : exp(returnLogSum / n) - 1) * 100
            s.maxTradeDurationMicros = Self.ceil(Double(durationMax), to: resolution)
            s.avgTradeDurationMicros = Self.ceil(durationSum / n, to: resolution)
            s.profitFactor = positiveReturnSum / (negativeReturnSum == 0 ? .nan : abs(negativeReturnSum))
            s.expectancyPct = returnSum / n * 100
            let std = trades > 1 ? (pnlM2 / (n - 1)).squareRoot() : .nan
            s.sqn = n.squareRoot() * pnlMean / (std == 0 ? .nan : std)
            let avgWin = wins > 0 ? winPnlSum / Double(wins) : .nan
            let avgLoss = losses > 0 ? lossPnlSum / Double(losses) : .nan
            s.kellyCriterion = winRate - (1 - winRate) / (avgWin / -avgLoss)
        }
        return s
    }

    /// Median spacing of the last 100 bar times (NaN for one bar).
    private func dataPeriod() -> Double {
        let n = min(bars, 100)
        guard n >= 2 else { return .nan }
        var times: [Int64] = []
        let first = bars - n
        for i in first..<bars { times.append(recentTimes[i % 100]) }
        var diffs = (1..<n).map { times[$0] - times[$0 - 1] }
        diffs.sort()
        let m = diffs.count
        return m % 2 == 1 ? Double(diffs[m / 2]) : (Double(diffs[m / 2 - 1]) + Double(diffs[m / 2])) / 2
    }

    /// pandas' Timedelta.resolution_string as a unit in microseconds: the finest unit the
    /// bar spacing uses (durations are rounded up to it). A spacing of 0 (most recent
    /// ticks sharing a time) gives 1 µs: pandas would say "D" and round a trade of a few
    /// milliseconds up to a day.
    static func resolution(of period: Double) -> Int64 {
        guard period.isFinite, period > 0 else { return 1 }
        let p = Int64(period.rounded())
        for unit: Int64 in [86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000, 1000] where p % unit == 0 {
            return unit
        }
        return 1
    }

    static func ceil(_ micros: Double, to unit: Int64) -> Int64 {
        guard micros.isFinite else { return 0 }
        return Int64((micros / Double(unit)).rounded(.up)) * unit
    }
}
