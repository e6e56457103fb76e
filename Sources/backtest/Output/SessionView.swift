import BacktestProto

/// Sessions and statistics as people read them: backtesting.py's statistic names,
/// values aligned on the right.
enum SessionView {
    static func statistics(_ s: Statistics, style: Style) -> String {
        var list = KeyValueList()
        for (name, cell) in statisticRows(s) { list.append(name, cell) }
        return list.render(style: style)
    }

    /// backtesting.py's names and the values as shown, in its order.
    static func statisticRows(_ s: Statistics) -> [(String, Table.Cell)] {
        func time(_ t: ProtoTimestamp?) -> Table.Cell { Table.Cell(t.map(TimeDisplay.compact) ?? Format.undefined) }
        func pct(_ x: Double) -> Table.Cell { Table.Cell(Format.percent(x)) }
        func num(_ x: Double, _ decimals: Int = 2) -> Table.Cell { Table.Cell(Format.number(x, decimals: decimals)) }
        func signedPct(_ x: Double) -> Table.Cell { Table.Cell(Format.percent(x), x > 0 ? .green : x < 0 ? .red : nil) }
        return [
            ("Start", time(s.start)),
            ("End", time(s.end)),
            ("Duration", Table.Cell(Format.duration(s.duration))),
            ("Exposure Time [%]", pct(s.exposureTimePct)),
            ("Equity Final [$]", num(s.equityFinal)),
            ("Equity Peak [$]", num(s.equityPeak)),
            ("P&L [$]", Table.Cell(Format.signed(s.finalPnl), s.finalPnl > 0 ? .green : s.finalPnl < 0 ? .red : nil)),
            ("Commissions [$]", num(s.commissions)),
            ("Return [%]", signedPct(s.returnPct)),
            ("Buy & Hold Return [%]", pct(s.buyAndHoldReturnPct)),
            ("Return (Ann.) [%]", pct(s.returnAnnualizedPct)),
            ("Volatility (Ann.) [%]", pct(s.volatilityAnnualizedPct)),
            ("CAGR [%]", pct(s.cagrPct)),
            ("Sharpe Ratio", num(s.sharpeRatio, 3)),
            ("Sortino Ratio", num(s.sortinoRatio, 3)),
            ("Calmar Ratio", num(s.calmarRatio, 3)),
            ("Alpha [%]", pct(s.alphaPct)),
            ("Beta", num(s.beta, 3)),
            ("Max. Drawdown [%]", pct(s.maxDrawdownPct)),
            ("Avg. Drawdown [%]", pct(s.avgDrawdownPct)),
            ("Max. Drawdown Duration", Table.Cell(Format.duration(s.maxDrawdownDuration))),
            ("Avg. Drawdown Duration", Table.Cell(Format.duration(s.avgDrawdownDuration))),
            ("# Trades", Table.Cell(String(s.totalTrades))),
            ("Win Rate [%]", pct(s.winRatePct)),
            ("Best Trade [%]", pct(s.bestTradePct)),
            ("Worst Trade [%]", pct(s.worstTradePct)),
            ("Avg. Trade [%]", pct(s.avgTradePct)),
            ("Max. Trade Duration", Table.Cell(Format.duration(s.maxTradeDuration))),
            ("Avg. Trade Duration", Table.Cell(Format.duration(s.avgTradeDuration))),
            ("Profit Factor", num(s.profitFactor, 3)),
            ("Expectancy [%]", pct(s.expectancyPct)),
            ("SQN", num(s.sqn, 3)),
            ("Kelly Criterion", num(s.kellyCriterion, 4)),
        ]
    }

    /// The session's record: what ran, on what, and how it ended.
    static func header(_ s: Session, style: Style) -> String {
        var list = KeyValueList(valueAlignment: .left)
        let r = s.request ?? StartBacktestRequest()
        list.append("Session", Table.Cell(s.sessionID))
        list.append("Status", Table.Cell(s.status.name, Style.color(for: s.status.name)))
        list.append("Symbol", Table.Cell("\(r.symbol) \(r.timeframe)"))
        let range = [r.startTime, r.endTime].map { $0.map(TimeDisplay.compact) ?? "?" }
        list.append("Range", Table.Cell("\(range[0]) .. \(range[1])"))
        list.append("Strategy", Table.Cell(strategyText(r.strategy)))
        list.append("Initial capital", Table.Cell(Format.number(r.initialCapital)))
        if !r.labels.isEmpty {
            list.append(
                "Labels", Table.Cell(r.labels.keys.sorted().map { "\($0)=\(r.labels[$0]!)" }.joined(separator: " ")))
        }
        list.append("Progress", Table.Cell(Format.percent(s.progressPct, decimals: 1)))
        if let t = s.simTime { list.append("Simulated time", Table.Cell(TimeDisplay.compact(t))) }
        list.append("Events processed", Table.Cell(String(s.eventsProcessed)))
        if let t = s.createdAt { list.append("Created", Table.Cell(TimeDisplay.iso(t))) }
        if let t = s.startedAt { list.append("Started", Table.Cell(TimeDisplay.iso(t))) }
        if let t = s.completedAt { list.append("Ended", Table.Cell(TimeDisplay.iso(t))) }
        if let a = s.startedAt?.microsecondsSinceEpoch, let b = s.completedAt?.microsecondsSinceEpoch {
            list.append("Wall time", Table.Cell(Format.duration(seconds: Double(b - a) / 1e6)))
        }
        if !s.errorMessage.isEmpty { list.append("Error", Table.Cell(s.errorMessage, .red)) }
        if !s.stopReason.isEmpty { list.append("Stop reason", Table.Cell(s.stopReason, .yellow)) }
        return list.render(style: style)
    }

    /// The name a table shows: the built-in's name or the rule strategy's.
    static func strategyName(_ spec: StrategySpec?) -> String {
        switch spec?.kind {
        case .builtin(let b)?: b.name
        case .rules(let r)?: r.name.isEmpty ? "rules" : r.name
        case nil: Format.undefined
        }
    }

    static func strategyText(_ spec: StrategySpec?) -> String {
        switch spec?.kind {
        case .builtin(let b)?:
            let params = b.params.keys.sorted().map { "\($0)=\(Format.shortest(b.params[$0]!))" }
            return params.isEmpty ? b.name : "\(b.name) (\(params.joined(separator: ", ")))"
        case .rules(let r)?:
            return "\(r.name.isEmpty ? "rules" : r.name) (\(r.rules.count) rules)"
        case nil:
            return Format.undefined
        }
    }

    /// One line for a terminal event, for logs and pipes.
    static func terminalLine(_ e: ProgressEvent, style: Style) -> String {
        var s = "session \(e.sessionID) " + style.paint(e.status.name, Style.color(for: e.status.name))
        switch e.status {
        case .completed:
            let pnl = e.statistics?.finalPnl ?? (e.realizedPnl + e.unrealizedPnl)
            s += ": equity \(Format.number(e.equity)), P&L \(style.signed(Format.signed(pnl), pnl)), \(e.trades) trades"
            if let r = e.statistics?.returnPct { s += ", return \(Format.percent(r))" }
        case .failed:
            s += ": " + e.errorMessage
        case .stopped:
            s +=
                ": " + (e.stopReason.isEmpty ? "stopped" : e.stopReason)
                + " at \(Format.percent(e.progressPct, decimals: 1))"
        default:
            break
        }
        return s
    }
}
