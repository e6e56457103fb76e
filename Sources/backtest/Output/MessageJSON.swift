import BacktestProto

// `--json` renderings of the contract's messages: snake_case field names as in the
// proto, times ISO 8601 UTC, durations in seconds, enums by their short lower-case
// names, NaN as null. Every field is present (unset messages as null).

extension StartBacktestRequest {
    var json: JSON {
        .object([
            ("symbol", .string(symbol)),
            ("timeframe", .string(timeframe)),
            ("start_time", .time(startTime)),
            ("end_time", .time(endTime)),
            ("initial_capital", .double(initialCapital)),
            ("strategy", strategy.map(\.json) ?? .null),
            ("costs", costs.map { .object([
                ("commission_fixed", .double($0.commissionFixed)),
                ("commission_rate", .double($0.commissionRate)),
                ("slippage_bps", .double($0.slippageBps)),
            ]) } ?? .null),
            ("fill_mode", .string(fillMode.name)),
            ("sizing", sizing.map { .object([
                ("mode", .string($0.mode.name)),
                ("value", .double($0.value)),
                ("fractional_units", .bool($0.fractionalUnits)),
            ]) } ?? .null),
            ("acceleration_factor", .double(accelerationFactor)),
            ("equity_sample_interval", .seconds(equitySampleInterval)),
            ("client_request_id", .string(clientRequestID)),
            ("labels", .map(labels)),
            ("leave_open_at_end", .bool(leaveOpenAtEnd)),
        ])
    }
}

extension StrategySpec {
    var json: JSON {
        switch kind {
        case .builtin(let b)?:
            .object([("builtin", .object([("name", .string(b.name)), ("params", .map(b.params))]))])
        case .rules(let r)?:
            .object([("rules", r.json)])
        case nil:
            .null
        }
    }

    /// The name a table shows: the built-in's name or the rule strategy's.
    var displayName: String {
        switch kind {
        case .builtin(let b)?: b.name
        case .rules(let r)?: r.name.isEmpty ? "rules" : r.name
        case nil: ""
        }
    }
}

extension RuleStrategy {
    var json: JSON {
        .object([
            ("name", .string(name)),
            ("rules", .array(rules.map { .object([
                ("name", .string($0.name)), ("kind", .string($0.kind.name)), ("expression", .string($0.expression)),
            ]) })),
            ("stop_loss_pct", .double(stopLossPct)),
            ("take_profit_pct", .double(takeProfitPct)),
            ("trailing_stop_pct", .double(trailingStopPct)),
            ("params", .map(params)),
        ])
    }
}

extension StartBacktestResponse {
    var json: JSON {
        .object([
            ("session_id", .string(sessionID)),
            ("status", .string(status.name)),
            ("deduplicated", .bool(deduplicated)),
            ("created_at", .time(createdAt)),
        ])
    }
}

extension StopBacktestResponse {
    var json: JSON {
        .object([
            ("session_id", .string(sessionID)),
            ("status", .string(status.name)),
            ("already_ended", .bool(alreadyEnded)),
        ])
    }
}

extension ActiveSession {
    var json: JSON {
        .object([
            ("session_id", .string(sessionID)),
            ("status", .string(status.name)),
            ("symbol", .string(symbol)),
            ("timeframe", .string(timeframe)),
            ("strategy_name", .string(strategyName)),
            ("created_at", .time(createdAt)),
            ("progress", progress.map(\.json) ?? .null),
            ("labels", .map(labels)),
        ])
    }
}

extension ProgressEvent {
    var json: JSON {
        .object([
            ("session_id", .string(sessionID)),
            ("sequence", .uint(sequence)),
            ("kind", .string(kind.name)),
            ("status", .string(status.name)),
            ("progress_pct", .double(progressPct)),
            ("sim_time", .time(simTime)),
            ("equity", .double(equity)),
            ("cash", .double(cash)),
            ("realized_pnl", .double(realizedPnl)),
            ("unrealized_pnl", .double(unrealizedPnl)),
            ("drawdown_pct", .double(drawdownPct)),
            ("max_drawdown_pct", .double(maxDrawdownPct)),
            ("open_positions", .uint(UInt64(openPositions))),
            ("position_size", .double(positionSize)),
            ("trades", .uint(trades)),
            ("events_processed", .uint(eventsProcessed)),
            ("events_per_second", .double(eventsPerSecond)),
            ("eta", .seconds(eta)),
            ("wall_time", .time(wallTime)),
            ("statistics", statistics.map(\.json) ?? .null),
            ("error_message", .string(errorMessage)),
            ("stop_reason", .string(stopReason)),
        ])
    }
}

extension Statistics {
    var json: JSON {
        .object([
            ("start", .time(start)),
            ("end", .time(end)),
            ("duration", .seconds(duration)),
            ("exposure_time_pct", .double(exposureTimePct)),
            ("equity_final", .double(equityFinal)),
            ("equity_peak", .double(equityPeak)),
            ("final_pnl", .double(finalPnl)),
            ("return_pct", .double(returnPct)),
            ("buy_and_hold_return_pct", .double(buyAndHoldReturnPct)),
            ("return_annualized_pct", .double(returnAnnualizedPct)),
            ("volatility_annualized_pct", .double(volatilityAnnualizedPct)),
            ("cagr_pct", .double(cagrPct)),
            ("sharpe_ratio", .double(sharpeRatio)),
            ("sortino_ratio", .double(sortinoRatio)),
            ("calmar_ratio", .double(calmarRatio)),
            ("alpha_pct", .double(alphaPct)),
            ("beta", .double(beta)),
            ("max_drawdown_pct", .double(maxDrawdownPct)),
            ("avg_drawdown_pct", .double(avgDrawdownPct)),
            ("max_drawdown_duration", .seconds(maxDrawdownDuration)),
            ("avg_drawdown_duration", .seconds(avgDrawdownDuration)),
            ("total_trades", .uint(totalTrades)),
            ("win_rate_pct", .double(winRatePct)),
            ("best_trade_pct", .double(bestTradePct)),
            ("worst_trade_pct", .double(worstTradePct)),
            ("avg_trade_pct", .double(avgTradePct)),
            ("max_trade_duration", .seconds(maxTradeDuration)),
            ("avg_trade_duration", .seconds(avgTradeDuration)),
            ("profit_factor", .double(profitFactor)),
            ("expectancy_pct", .double(expectancyPct)),
            ("sqn", .double(sqn)),
            ("kelly_criterion", .double(kellyCriterion)),
            ("commissions", .double(commissions)),
        ])
    }
}

extension Session {
    var json: JSON {
        .object([
            ("session_id", .string(sessionID)),
            ("status", .string(status.name)),
            ("request", request.map(\.json) ?? .null),
            ("progress_pct", .double(progressPct)),
            ("sim_time", .time(simTime)),
            ("final_pnl", .double(finalPnl)),
            ("total_trades", .uint(totalTrades)),
            ("win_rate_pct", .double(winRatePct)),
            ("statistics", statistics.map(\.json) ?? .null),
            ("created_at", .time(createdAt)),
            ("started_at", .time(startedAt)),
            ("completed_at", .time(completedAt)),
            ("error_message", .string(errorMessage)),
            ("stop_reason", .string(stopReason)),
            ("events_processed", .uint(eventsProcessed)),
        ])
    }
}

extension Trade {
    var json: JSON {
        .object([
            ("trade_number", .uint(tradeNumber)),
            ("side", .string(side.name)),
            ("quantity", .double(quantity)),
            ("entry_time", .time(entryTime)),
            ("exit_time", .time(exitTime)),
            ("entry_price", .double(entryPrice)),
            ("exit_price", .double(exitPrice)),
            ("pnl", .double(pnl)),
            ("return_pct", .double(returnPct)),
            ("commission", .double(commission)),
            ("entry_rule", .string(entryRule)),
            ("exit_rule", .string(exitRule)),
            ("entry_index", .uint(entryIndex)),
            ("exit_index", .uint(exitIndex)),
        ])
    }
}

extension EquityPoint {
    var json: JSON {
        .object([
            ("time", .time(time)),
            ("equity", .double(equity)),
            ("cash", .double(cash)),
            ("position_size", .double(positionSize)),
            ("drawdown_pct", .double(drawdownPct)),
        ])
    }
}

extension ImportMarketDataResponse {
    var json: JSON {
        .object([
            ("symbol", .string(symbol)),
            ("kind", .string(kind.name)),
            ("timeframe", .string(timeframe)),
            ("rows_imported", .uint(rowsImported)),
            ("first_time", .time(firstTime)),
            ("last_time", .time(lastTime)),
        ])
    }
}

extension MarketDataSeries {
    var json: JSON {
        .object([
            ("symbol", .string(symbol)),
            ("kind", .string(kind.name)),
            ("timeframe", .string(timeframe)),
            ("first_time", .time(firstTime)),
            ("last_time", .time(lastTime)),
            ("rows", .uint(rows)),
        ])
    }
}
