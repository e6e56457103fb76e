/// The order manager and the account: pending orders, the open trade, cash, fills with
/// commission and slippage, stop-loss / take-profit / trailing-stop exits and closed
/// trade records. Follows backtesting.py's `_Broker` (exclusive orders, no hedging):
///
/// - at a bar, market orders that close the position fill first, then the open trade's
///   stop (stop-loss or trailing, whichever is nearer) and take-profit are checked
///   against the bar's low and high (the stop wins when both are touched; a gap through
///   a level fills at the open), then orders that open trades;
/// - market orders fill at the bar's open, or with fill-on-close at the previous bar's
///   close (recorded at that bar);
/// - a trade opened by a market order checks its stop-loss and take-profit on the same
///   bar (it was filled at the open, before the rest of the bar);
/// - an opening order closes any open trade first, then sizes itself from the equity.
struct Broker {
    struct Costs {
        var fixed: Double
        var rate: Double
        /// Fraction (bps / 10,000), applied against the order at every fill.
        var slippage: Double
    }

    let costs: Costs
    let fillOnClose: Bool
    let sizing: BacktestConfig.SizingMode
    let fractional: Bool
    let stopLossPct: Double
    let takeProfitPct: Double
    let trailingPct: Double

    /// backtesting.py's cash: capital plus realised P&L minus commissions (the open
    /// position's cost is not taken out).
    private(set) var cash: Double
    private(set) var trade: OpenTrade?
    var pending: [PendingOrder] = []
    private(set) var realizedPnl = 0.0
    private(set) var closedCount = 0
    private var nextNumber = 1
    /// Trades closed since the engine last took them.
    var closedTrades: [TradeRecord] = []
    var statistics: StatisticsAccumulator
    /// Set by every fill on the current bar (tick runs sample equity then).
    var filledThisBar = false
    /// Rule names by index (orders and trades carry indices): the strategy's rules (their
    /// ids), then the built-in exits, then names of orders submitted from outside.
    private(set) var names: [String]
    let endRule: Int32
    let stopLossRule: Int32
    let trailingRule: Int32
    let takeProfitRule: Int32
    /// No stop-loss, take-profit or trailing stop: exits need no check.
    let noExits: Bool

    init(
        config: BacktestConfig, stopLossPct: Double, takeProfitPct: Double, trailingPct: Double,
        ruleNames: [String] = []
    ) {
        names = ruleNames
        endRule = Int32(names.count)
        stopLossRule = endRule + 1
        trailingRule = endRule + 2
        takeProfitRule = endRule + 3
        names += ["END", "E1", "TS", "ZE1"]
        costs = Costs(
            fixed: config.costs.commissionFixed, rate: config.costs.commissionRate,
            slippage: config.costs.slippageBps / 10_000)
        fillOnClose = config.fillMode == .onClose
        sizing = config.sizing
        fractional = config.fractionalUnits
        self.stopLossPct = stopLossPct
        self.takeProfitPct = takeProfitPct
        self.trailingPct = trailingPct
        noExits = stopLossPct == 0 && takeProfitPct == 0 && trailingPct == 0
        cash = config.initialCapital
        statistics = StatisticsAccumulator(initialCapital: config.initialCapital)
        pending.reserveCapacity(4)
    }

    /// Queues an order made outside the strategy's rules.
    mutating func submit(_ o: Order) {
        let rule = Int32(names.firstIndex(of: o.rule) ?? names.count)
        if rule == names.count { names.append(o.rule) }
        pending.append(
            PendingOrder(kind: o.kind, side: o.side, quantity: o.quantity, closesPosition: o.closesPosition, rule: rule)
        )
    }

    /// Signed units held.
    var positionSize: Double { trade?.size ?? 0 }

    /// Equity at `price`: backtesting.py's cash + (price * size - size * entry).
    @inline(__always)
    func equity(at price: Double) -> Double {
        guard let t = trade else { return cash }
        return cash + (price * t.size - t.size * t.entryPrice)
    }

    @inline(__always)
    private func commission(units: Double, price: Double) -> Double {
        costs.fixed + abs(units) * price * costs.rate
    }

    /// A bar's worth of order processing. `previous*` describe the bar before (the
    /// fill-on-close price and index).
    @inline(__always)
    mutating func process(
        index: Int, time: Int64, open: Double, high: Double, low: Double,
        previousClose: Double, previousTime: Int64
    ) {
        guard !pending.isEmpty else {
            // The usual bar: only the open trade's exits (inline in the bar loop).
            checkExits(index: index, time: time, open: open, high: high, low: low)
            return
        }
        processOrders(
            index: index, time: time, open: open, high: high, low: low, previousClose: previousClose,
            previousTime: previousTime)
    }

    /// `process` with orders pending.
    @inline(never)
    private mutating func processOrders(
        index: Int, time: Int64, open: Double, high: Double, low: Double,
        previousClose: Double, previousTime: Int64
    ) {
        let marketPrice = fillOnClose ? previousClose : open
        let marketIndex = fillOnClose ? index - 1 : index
        let marketTime = fillOnClose ? previousTime : time

        // 1. Market orders that close the position. (Orders that stay are moved up in
        // place: no element shifting per filled order.)
        var kept = 0
        for i in 0..<pending.count {
            let o = pending[i]
            if o.closesPosition && o.kind == .market {
                if trade != nil { close(at: marketPrice, index: marketIndex, time: marketTime, rule: o.rule) }
            } else {
                pending[kept] = o
                kept += 1
            }
        }
        dropPending(after: kept)
        // 2. The open trade's exits.
        checkExits(index: index, time: time, open: open, high: high, low: low)
        // 3. Orders that open (or close by limit/stop).
        guard !pending.isEmpty else { return }
        kept = 0
        for i in 0..<pending.count {
            let o = pending[i]
            let buy = o.side == .buy
            var price: Double
            var fillIndex = index
            var fillTime = time
            switch o.kind {
            case .market:
                price = marketPrice
                fillIndex = marketIndex
                fillTime = marketTime
            case .limit(let level):
                guard buy ? low <= level : high >= level else {
                    pending[kept] = o
                    kept += 1
                    continue
                }
                price = buy ? min(open, level) : max(open, level)
            case .stop(let level):
                guard buy ? high >= level : low <= level else {
                    pending[kept] = o
                    kept += 1
                    continue
                }
                price = buy ? max(open, level) : min(open, level)
            }
            if o.closesPosition {
                if trade != nil { close(at: price, index: fillIndex, time: fillTime, rule: o.rule) }
                continue
            }
            if trade != nil { close(at: price, index: fillIndex, time: fillTime, rule: o.rule) }
            if openTrade(
                o, at: price, index: fillIndex, time: fillTime, contingentFrom: o.kind == .market ? index : index + 1),
                o.kind == .market
            {
                // Filled at the open: the rest of this bar can reach its stop or target.
                checkExits(index: index, time: time, open: open, high: high, low: low)
            }
        }
        dropPending(after: kept)
    }

    /// Keeps the first `kept` pending orders (removeLast one by one: the bulk removal is a
    /// generic range replacement).
    @inline(__always)
    private mutating func dropPending(after kept: Int) {
        while pending.count > kept { pending.removeLast() }
    }

    /// Stop-loss, trailing stop and take-profit of the open trade against one bar.
    @inline(__always)
    private mutating func checkExits(index: Int, time: Int64, open: Double, high: Double, low: Double) {
        guard !noExits, let t = trade, index >= t.contingentFrom else { return }
        let long = t.size > 0
        let trail =
            trailingPct > 0 ? (long ? t.extreme * (1 - trailingPct / 100) : t.extreme * (1 + trailingPct / 100)) : .nan
        // The nearer stop is reached first; ties go to the stop-loss.
        var stop = t.stopLoss
        var stopRule = stopLossRule
        if !trail.isNaN && (stop.isNaN || (long ? trail > stop : trail < stop)) {
            stop = trail
            stopRule = trailingRule
        }
        if !stop.isNaN && (long ? low <= stop : high >= stop) {
            close(at: long ? min(open, stop) : max(open, stop), index: index, time: time, rule: stopRule)
            return
        }
        let tp = t.takeProfit
        if !tp.isNaN && (long ? high >= tp : low <= tp) {
            close(at: long ? max(open, tp) : min(open, tp), index: index, time: time, rule: takeProfitRule)
        }
    }

    /// After a bar: moves the trailing stop's reference to the bar's best price.
    @inline(__always)
    mutating func endBar(high: Double, low: Double) {
        guard trailingPct > 0, var t = trade else { return }
        if t.size > 0 { t.extreme = max(t.extreme, high) } else { t.extreme = min(t.extreme, low) }
        trade = t
    }

    /// Opens a trade; false when the account cannot pay for a single unit (the order is dropped).
    private mutating func openTrade(_ o: PendingOrder, at base: Double, index: Int, time: Int64, contingentFrom: Int)
        -> Bool
    {
        let sign: Double = o.side == .buy ? 1 : -1
        let price = base * (1 + sign * costs.slippage)
        let available = max(0, cash)
        var units: Double
        switch o.quantity {
        case .units(let u):
            units = fractional ? u : u.rounded(.down)
        case .configured:
            switch sizing {
            case .allEquity:
                units = affordableUnits(
                    available * PythonFloat.fullEquityFraction, fraction: PythonFloat.fullEquityFraction, price: price,
                    base: base)
            case .equityFraction(let f):
                let s = f >= 1 ? PythonFloat.fullEquityFraction : f
                units = affordableUnits(available * s, fraction: s, price: price, base: base)
            case .fixedUnits(let u):
                units = fractional ? u : u.rounded(.down)
            case .fixedNotional(let notional):
                units = fractional ? notional / price : (notional / price).rounded(.down)
            }
        }
        guard units > 0, units.isFinite else { return false }
        // backtesting.py cancels an order the margin cannot cover.
        guard units * price + commission(units: units, price: price) <= available else { return false }
        let entryCommission = commission(units: units, price: price)
        cash -= entryCommission
        let size = sign * units
        trade = OpenTrade(
            number: nextNumber, size: size, entryPrice: price, entryIndex: index, entryTime: time,
            entryCommission: entryCommission, entryRule: o.rule,
            stopLoss: stopLossPct > 0 ? price * (1 - sign * stopLossPct / 100) : .nan,
            takeProfit: takeProfitPct > 0 ? price * (1 + sign * takeProfitPct / 100) : .nan,
            extreme: price, contingentFrom: contingentFrom)
        nextNumber += 1
        filledThisBar = true
        return true
    }

    /// Whole units (or fractional) that `money` buys at `price` per unit plus commission,
    /// with backtesting.py's arithmetic: `money // (price + commission(f, base) / f)`.
    private func affordableUnits(_ money: Double, fraction f: Double, price: Double, base: Double) -> Double {
        let perUnit = price + (abs(f) * base * costs.rate) / abs(f)
        let budget = money - costs.fixed
        guard budget > 0 else { return 0 }
        return fractional ? budget / perUnit : PythonFloat.floorDivide(budget, perUnit)
    }

    /// Closes the open trade at `base` (slippage applied against it) and records it.
    mutating func close(at base: Double, index: Int, time: Int64, rule: Int32) {
        guard let t = trade else { return }
        let long = t.size > 0
        let price = base * (1 + (long ? -1 : 1) * costs.slippage)
        let exitCommission = commission(units: t.size, price: price)
        let gross = t.size * (price - t.entryPrice)
        cash += gross - exitCommission
        let commissions = exitCommission + t.entryCommission
        let pnl = gross - commissions
        let r = (long ? 1.0 : -1.0) * (price / t.entryPrice - 1) - commissions / (abs(t.size) * t.entryPrice)
        realizedPnl += pnl
        closedCount += 1
        closedTrades.append(
            TradeRecord(
                number: t.number, side: long ? .long : .short, quantity: abs(t.size), entryTime: t.entryTime,
                exitTime: time,
                entryPrice: t.entryPrice, exitPrice: price, pnl: pnl, returnPct: r * 100, commission: commissions,
                entryRule: names[Int(t.entryRule)], exitRule: names[Int(rule)], entryIndex: t.entryIndex,
                exitIndex: index))
        statistics.addTrade(
            pnl: pnl, returnFraction: r, entryIndex: t.entryIndex, exitIndex: index,
            duration: time - t.entryTime, commission: commissions)
        trade = nil
        filledThisBar = true
    }

    /// Equity fell to zero or below: close out and stop trading (backtesting.py zeroes
    /// the account from here on).
    mutating func bankrupt(index: Int, time: Int64, close price: Double) {
        if let t = trade {
            // At the bar's close, without slippage, as backtesting.py does.
            let exitCommission = commission(units: t.size, price: price)
            let gross = t.size * (price - t.entryPrice)
            let commissions = exitCommission + t.entryCommission
            let pnl = gross - commissions
            let r = (t.size > 0 ? 1.0 : -1.0) * (price / t.entryPrice - 1) - commissions / (abs(t.size) * t.entryPrice)
            realizedPnl += pnl
            closedCount += 1
            closedTrades.append(
                TradeRecord(
                    number: t.number, side: t.size > 0 ? .long : .short, quantity: abs(t.size), entryTime: t.entryTime,
                    exitTime: time,
                    entryPrice: t.entryPrice, exitPrice: price, pnl: pnl, returnPct: r * 100, commission: commissions,
                    entryRule: names[Int(t.entryRule)], exitRule: "END", entryIndex: t.entryIndex, exitIndex: index))
            statistics.addTrade(
                pnl: pnl, returnFraction: r, entryIndex: t.entryIndex, exitIndex: index,
                duration: time - t.entryTime, commission: commissions)
            trade = nil
        }
        pending.removeAll()
        cash = 0
    }

    /// The open trade as a record with no exit (leave-open-at-end), valued at `price`.
    func openTradeRecord(price: Double) -> TradeRecord? {
        guard let t = trade else { return nil }
        let gross = t.size * (price - t.entryPrice)
        return TradeRecord(
            number: t.number, side: t.size > 0 ? .long : .short, quantity: abs(t.size), entryTime: t.entryTime,
            exitTime: nil,
            entryPrice: t.entryPrice, exitPrice: price, pnl: gross - t.entryCommission,
            returnPct: ((t.size > 0 ? 1.0 : -1.0) * (price / t.entryPrice - 1) - t.entryCommission
                / (abs(t.size) * t.entryPrice)) * 100,
            commission: t.entryCommission, entryRule: names[Int(t.entryRule)], exitRule: "", entryIndex: t.entryIndex,
            exitIndex: nil)
    }

    /// The open trade's P&L at `price`, after its entry commission.
    func unrealizedPnl(at price: Double) -> Double {
        guard let t = trade else { return 0 }
        return t.size * (price - t.entryPrice) - t.entryCommission
    }
}
