import BacktestProto

/// How sweeps look in text: the live progress line, the ranked table of results and
/// the summary of a sweep.
enum SweepView {
    /// `▕████▌     ▏  45.0%  480/1,030  best sharpe_ratio 0.79 (n1=7 n2=20)  312/s  ETA 2s`
    static func progressLine(_ e: SweepProgressEvent, objective: String, width: Int, style: Style) -> String {
        var fields: [String] = []
        fields.append(Format.percent(e.progressPct, decimals: 1))
        fields.append("\(Format.number(Double(e.done), decimals: 0))/\(Format.number(Double(e.total), decimals: 0))")
        if e.windows > 0 && e.status != .started { fields.append("window \(e.window + 1)/\(e.windows)") }
        if e.status == .started {
            fields.append(style.paint("queued", .yellow))
        } else if let best = e.best {
            fields.append("best \(objective) \(Format.number(e.bestValue, decimals: 3)) (\(params(best.params)))")
        }
        if e.failed > 0 { fields.append(style.paint("\(e.failed) failed", .red)) }
        if e.combinationsPerSecond > 0 { fields.append(Format.compact(e.combinationsPerSecond) + "/s") }
        if let eta = e.eta, e.status != .started { fields.append("ETA " + Format.duration(eta)) }
        var kept = fields.count
        func textWidth(_ n: Int) -> Int { fields.prefix(n).reduce(0) { $0 + Table.width($1) + 2 } }
        while kept > 1 && textWidth(kept) + 12 > width { kept -= 1 }
        let cells = min(max(width - textWidth(kept) - 2, 1), 30)
        let bar = style.paint(
            ProgressBar.bar(fraction: e.progressPct / 100, cells: cells), e.status == .started ? .dim : .cyan)
        return bar + " " + fields.prefix(kept).joined(separator: "  ")
    }

    static func params(_ params: [ParameterValue]) -> String {
        params.map { "\($0.name)=\(Format.shortest($0.value))" }.joined(separator: " ")
    }

    /// The headline figures of a row beside the ranked statistic (which is not repeated
    /// among them): its contract name, column title and cell.
    static let headlines: [(name: String, title: String, cell: @Sendable (Statistics) -> Table.Cell)] = [
        (
            "return_pct", "RETURN%",
            { s in .init(Format.number(s.returnPct), s.returnPct > 0 ? .green : s.returnPct < 0 ? .red : nil) }
        ),
        ("sharpe_ratio", "SHARPE", { s in .init(Format.number(s.sharpeRatio, decimals: 3)) }),
        ("max_drawdown_pct", "MAXDD%", { s in .init(Format.number(s.maxDrawdownPct)) }),
        ("total_trades", "TRADES", { s in .init(String(s.totalTrades)) }),
        ("win_rate_pct", "WIN%", { s in .init(Format.number(s.winRatePct, decimals: 1)) }),
    ]

    /// The results as ranked (rank counts from `firstRank`): parameters, the sort
    /// statistic, headline figures, and the session of the best.
    static func table(_ results: [SweepResult], sortBy: String, firstRank: Int = 1, style: Style) -> Table {
        let names = results.first?.params.map(\.name) ?? []
        let shown = headlines.filter { $0.name != sortBy }
        var columns: [Table.Column] = [.init("RANK", .right), .init("#", .right)]
        columns += names.map { Table.Column($0, .right) }
        columns.append(.init(sortBy.uppercased(), .right))
        columns += shown.map { Table.Column($0.title, .right) }
        columns.append(.init("SESSION"))
        var table = Table(columns)
        for (i, r) in results.enumerated() {
            var row: [Table.Cell] = [.init(String(firstRank + i)), .init(String(r.combination))]
            row += names.map { name in .init(Format.shortest(r.params.first { $0.name == name }?.value ?? .nan)) }
            if let s = r.statistics {
                row.append(.init(Format.number(statistic(s, sortBy), decimals: 3), .bold))
                row += shown.map { $0.cell(s) }
            } else {
                row += [.init("error", .red), .init(r.error)]
                row += Array(repeating: Table.Cell(Format.undefined), count: shown.count - 1)
            }
            row.append(.init(r.sessionID.isEmpty ? "" : r.sessionID))
            table.append(row)
        }
        return table
    }

    /// A statistic by its contract name, from the message (the names GetSweep sorts by).
    static func statistic(_ s: Statistics, _ name: String) -> Double {
        switch name {
        case "exposure_time_pct": s.exposureTimePct
        case "equity_final": s.equityFinal
        case "equity_peak": s.equityPeak
        case "final_pnl": s.finalPnl
        case "return_pct": s.returnPct
        case "buy_and_hold_return_pct": s.buyAndHoldReturnPct
        case "return_annualized_pct": s.returnAnnualizedPct
        case "volatility_annualized_pct": s.volatilityAnnualizedPct
        case "cagr_pct": s.cagrPct
        case "sharpe_ratio": s.sharpeRatio
        case "sortino_ratio": s.sortinoRatio
        case "calmar_ratio": s.calmarRatio
        case "alpha_pct": s.alphaPct
        case "beta": s.beta
        case "max_drawdown_pct": s.maxDrawdownPct
        case "avg_drawdown_pct": s.avgDrawdownPct
        case "max_drawdown_duration": s.maxDrawdownDuration.map(Format.seconds) ?? .nan
        case "avg_drawdown_duration": s.avgDrawdownDuration.map(Format.seconds) ?? .nan
        case "total_trades": Double(s.totalTrades)
        case "win_rate_pct": s.winRatePct
        case "best_trade_pct": s.bestTradePct
        case "worst_trade_pct": s.worstTradePct
        case "avg_trade_pct": s.avgTradePct
        case "max_trade_duration": s.maxTradeDuration.map(Format.seconds) ?? .nan
        case "avg_trade_duration": s.avgTradeDuration.map(Format.seconds) ?? .nan
        case "profit_factor": s.profitFactor
        case "expectancy_pct": s.expectancyPct
        case "sqn": s.sqn
        case "kelly_criterion": s.kellyCriterion
        case "commissions": s.commissions
        default: .nan
        }
    }

    /// A sweep's header lines: id, status, what it sweeps, how far, the best.
    static func summary(_ s: Sweep, style: Style) -> String {
        let r = s.request
        let base = r?.backtest
        let direction = s.direction == .minimize ? "minimize" : "maximize"
        var lines = [
            "sweep \(style.paint(s.sweepID, .bold))  \(style.paint(s.status.name, Style.color(for: s.status.name)))",
            "\(base?.symbol ?? "") \(base?.timeframe ?? "")  \(SessionView.strategyName(base?.strategy))  "
                + "\(direction) \(s.objective)",
        ]
        if let r {
            let axes = r.axes.map { a -> String in
                switch a.values {
                case .range(let v)?:
                    "\(a.name)=\(Format.shortest(v.start))..\(Format.shortest(v.stop)):\(Format.shortest(v.step))"
                case .list(let v)?: "\(a.name)=" + v.values.map(Format.shortest).joined(separator: ",")
                case nil: a.name
                }
            }
            var line = "axes " + axes.joined(separator: " ")
            if !r.constraints.isEmpty { line += "  where " + r.constraints.joined(separator: " and ") }
            if r.sampleSize > 0 { line += "  sample \(r.sampleSize) (seed \(r.seed))" }
            lines.append(line)
            if let w = r.walkForward { lines.append(walkForwardText(w)) }
        }
        let isWalkForward = r?.walkForward != nil
        var progress = "\(s.done)/\(s.total) " + (isWalkForward ? "in-sample runs" : "combinations")
        if s.failed > 0 { progress += ", \(s.failed) failed" }
        if s.bestCombination >= 0 && !isWalkForward {
            progress += "; best #\(s.bestCombination): \(s.objective) \(Format.number(s.bestValue, decimals: 3))"
        }
        lines.append(progress)
        if !s.errorMessage.isEmpty { lines.append(style.paint("error: " + s.errorMessage, .red)) }
        if !s.stopReason.isEmpty { lines.append("stopped: " + s.stopReason) }
        return lines.joined(separator: "\n")
    }

    /// `walk-forward: 4 windows, in-sample 3x out-of-sample, rolling`.
    static func walkForwardText(_ w: WalkForward) -> String {
        let kind = w.anchored ? "anchored" : "rolling"
        if w.windows > 0 {
            return
                "walk-forward: \(w.windows) windows, in-sample \(Format.shortest(w.inSampleRatio))x out-of-sample, \(kind)"
        }
        return
            "walk-forward: in-sample \(Format.duration(w.inSampleLength)), out-of-sample \(Format.duration(w.outOfSampleLength)), \(kind)"
    }
}
