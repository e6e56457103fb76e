import Testing

@testable import BacktestEngine

/// The strategy language: what compiles, what does not (with the position and what was
/// expected), and the runtime error.
@Suite struct StrategyLanguageTests {
    static func compileError(_ text: String, params: [String: Double] = ["p": 3]) -> String? {
        let config = BacktestConfig(
            initialCapital: 1000, strategy: Bars.rules([("R", .entryLong, text)], params: params))
        do {
            try Engine.validate(config)
            return nil
        } catch {
            return error.description
        }
    }

    static let invalid: [(String, String)] = [
        ("", "rule \"R\" at 1: expected an expression, found an empty rule"),
        ("   ", "rule \"R\" at 1: expected an expression, found an empty rule"),
        ("sma(close, 10 > 5", "rule \"R\" at 18: expected \")\" after the arguments of sma, found the end of the text"),
        ("sma(close, 10 close) > 1", "rule \"R\" at 15: expected \")\" after the arguments of sma, found \"close\""),
        ("close >", "rule \"R\" at 8: expected an expression, found the end of the rule"),
        (
            "clsoe > 1",
            "rule \"R\" at 1: unknown field \"clsoe\"; expected open, high, low, close, volume, price, size, position, a function call or a $parameter"
        ),
        ("sma > 1", "rule \"R\" at 1: sma is a function; expected \"(\" and its arguments after it"),
        ("close > $nope", "rule \"R\" at 9: unknown parameter $nope; known: $p"),
        ("sma(close) > 1", "rule \"R\" at 1: sma takes 2 arguments, found 1"),
        ("sma(close, 0) > 1", "rule \"R\" at 12: the period of sma must be a whole number from 1 to 1000000, is 0.0"),
        ("ema(close, 2.5) > 1", "rule \"R\" at 12: the period of ema must be a whole number from 1 to 1000000, is 2.5"),
        ("sma(close, close) > 1", "rule \"R\" at 12: expected a whole number (or $parameter) for the period of sma"),
        ("close + 1", "rule \"R\" at 1: expected a condition (a comparison, crossing, and/or/not), found a number"),
        ("close > 1 and 2", "rule \"R\" at 11: expected a condition after \"and\", found a number"),
        ("1 or close > 1", "rule \"R\" at 3: expected a condition before \"or\", found a number"),
        ("not close", "rule \"R\" at 1: expected a condition after \"not\", found a number"),
        ("close[-1] > 1", "rule \"R\" at 7: expected a whole number of bars after \"[\", found \"-\""),
        ("close[1 > 0", "rule \"R\" at 9: expected \"]\" after the lookback, found \">\""),
        ("close[1.5] > 0", "rule \"R\" at 7: the lookback of [] must be a whole number from 0 to 1000000, is 1.5"),
        ("close > 1 > 0", "rule \"R\" at 11: comparisons do not chain; join them with \"and\""),
        ("close = 1", "rule \"R\" at 7: unexpected \"=\"; expected \"==\" to compare"),
        ("close > 1 )", "rule \"R\" at 11: expected an operator or the end of the rule, found \")\""),
        ("(close > 1", "rule \"R\" at 11: expected \")\" to close the \"(\" at 1, found the end of the text"),
        ("close @ 1", "rule \"R\" at 7: unexpected character \"@\""),
        (
            "sma(position, 3) > 0",
            "rule \"R\" at 5: position can be used only directly in a rule, not inside an indicator, lookback or crossing"
        ),
        ("close / 0 > 1", "rule \"R\" at 7: division by zero"),
        ("close / ($p - 3) > 1", "rule \"R\" at 7: division by zero"),
        ("close > 1e999", "rule \"R\" at 9: \"1e999\" is not a finite number"),
        ("$ > 1", "rule \"R\" at 1: expected a parameter name after \"$\""),
        ("crosses_above(close) ", "rule \"R\" at 1: crosses_above takes 2 arguments, found 1"),
        ("close crosses_above", "rule \"R\" at 20: expected an expression, found the end of the rule"),
        (
            "crosses_above(close > 1, open)",
            "rule \"R\" at 21: a crossing compares two number series, found a condition"
        ),
        ("10x > 1", "rule \"R\" at 3: expected an operator after the number 10"),
        (
            "foo(close) > 1",
            "rule \"R\" at 1: unknown function \"foo\"; expected one of sma(x, n), ema(x, n), wma(x, n), stddev(x, n), highest(x, n), lowest(x, n), roc(x, n), momentum(x, n), rsi(x, n=14), macd(x, fast=12, slow=26, signal=9), macd_signal(...), macd_hist(...), bbands_upper(x, n=20, k=2), bbands_middle(...), bbands_lower(...), atr(n=14), vwap(n=0: whole run), volume_ratio(n=20), crosses_above(a, b), crosses_below(a, b)"
        ),
        ("and close > 1", "rule \"R\" at 1: expected an expression before \"and\""),
        (
            "bbands_upper(close, 20, close) > 1",
            "rule \"R\" at 25: the width of bbands_upper must be a number >= 0 (or $parameter)"
        ),
    ]

    @Test(arguments: invalid)
    func invalidRulesNameThePositionAndWhatWasExpected(text: String, expected: String) {
        #expect(Self.compileError(text) == expected)
    }

    static let valid = [
        "close > open", "close / close[1] - 1 > 0.001 and volume / sma(volume, 20) > 1.5",
        "crosses_above(sma(close, $p), ema(close, 10)) or close crosses_below 100",
        "rsi(close) < 30 and not (macd(close) < macd_signal(close))", "macd_hist(close, 5, 10, 3) > 0",
        "close > bbands_upper(close) or close < bbands_lower(close, 10, 1.5) or close == bbands_middle(close)",
        "atr() > 0 and vwap() > 0 and vwap(5) > 0 and volume_ratio() > 2",
        "highest(high, 5)[1] < close and lowest(low, 5) > 0",
        "wma(close, 4) > stddev(close, 10) and roc(close, 3) > momentum(close, 3)",
        "(close - open) / (high - low + 1) > 0.5", "-close < -100", "position == 0 and price > 0 and size > 0",
        "sma(close / close[1], 5) > 1", "(close > open)[2]", "true", "close != close[1]",
    ]

    @Test(arguments: valid)
    func validRulesCompile(text: String) {
        #expect(Self.compileError(text) == nil)
    }

    @Test func configurationErrorsNameTheField() {
        func message(_ c: BacktestConfig) -> String? {
            do {
                try Engine.validate(c)
                return nil
            } catch { return error.description }
        }
        let good = BacktestConfig(initialCapital: 1000, strategy: .builtin(name: "default", params: [:]))
        #expect(message(good) == nil)
        var c = good
        c.initialCapital = 0
        #expect(message(c) == "field \"initial_capital\": must be a finite amount > 0, is 0.0")
        c = good
        c.costs.commissionRate = -0.1
        #expect(message(c) == "field \"costs.commission_rate\": must be finite and >= 0, is -0.1")
        c = good
        c.costs.commissionFixed = .nan
        #expect(message(c) == "field \"costs.commission_fixed\": must be finite and >= 0, is nan")
        c = good
        c.sizing = .equityFraction(1.5)
        #expect(message(c) == "field \"sizing.value\": the equity fraction must be in (0, 1], is 1.5")
        c = good
        c.equitySampleIntervalMicros = 0
        #expect(message(c) == "field \"equity_sample_interval\": must be > 0, is 0 µs")
        c.equitySampleIntervalMicros = 1
        c.strategy = .builtin(name: "nope", params: [:])
        #expect(
            message(c)
                == "field \"strategy.builtin.name\": unknown built-in strategy \"nope\"; expected one of default, sma_cross"
        )
        c.strategy = .builtin(name: "sma_cross", params: ["n3": 4])
        #expect(
            message(c) == "field \"strategy.builtin.params[\"n3\"]\": sma_cross has no parameter \"n3\"; it has n1, n2")
        c.strategy = .builtin(name: "sma_cross", params: ["n1": 0])
        #expect(
            message(c) == "rule \"CROSS_UP\" at 26: the period of sma must be a whole number from 1 to 1000000, is 0.0")
        c.strategy = Bars.rules([("A", .entryLong, "true"), ("A", .exitLong, "true")])
        #expect(message(c) == "rule \"A\": two rules have this name; rule names must be unique")
        c.strategy = Bars.rules([("X", .exitLong, "true")])
        #expect(message(c) == "field \"strategy.rules.rules\": expected at least one entry_long or entry_short rule")
        c.strategy = Bars.rules([("E1", .entryLong, "true")])
        #expect(
            message(c)
                == "rule \"E1\": the names E1, ZE1, TS and END are kept for stop-loss, take-profit, trailing-stop and end-of-data exits"
        )
        c.strategy = Bars.rules([("A", .entryLong, "true")], stopLoss: -1)
        #expect(
            message(c) == "field \"strategy.rules.stop_loss_pct\": must be a finite percentage >= 0 (0 = none), is -1.0"
        )
        c.strategy = Bars.rules([("A", .entryLong, "true")], params: ["x": .infinity])
        #expect(message(c) == "field \"strategy.rules.params[\"x\"]\": must be a finite number, is inf")
    }

    @Test func divisionByZeroAtRuntimeNamesRuleBarTimeAndOperator() throws {
        let bars = Bars.daily([(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 100)], volume: 0)
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: Bars.rules([("R", .entryLong, "close > 0 and close / volume > 1")])))
        do {
            try engine.process(candles: bars)
            Issue.record("no error")
        } catch {
            #expect(error == .divisionByZero(rule: "R", position: 21, bar: 1, time: Bars.t0 + Bars.day))
            #expect(error.description == "rule \"R\" at 21: division by zero on bar 1 at 2024-01-02T00:00:00Z")
        }
        // Short-circuit: the division is not evaluated when the left side is false.
        let guarded = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: Bars.rules([("R", .entryLong, "volume > 0 and close / volume > 1")])))
        try guarded.process(candles: bars)
        // Inside an indicator the expression runs on every bar.
        let inside = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: Bars.rules([("R", .entryLong, "sma(close / volume, 2) > 1")])))
        #expect(throws: EngineError.divisionByZero(rule: "R", position: 11, bar: 0, time: Bars.t0)) {
            try inside.process(candles: bars)
        }
    }

    @Test func nanFromWarmUpIsNoErrorAndComparesFalse() throws {
        let bars = Bars.daily(
            (0..<30).map { i in
                let p = 100 + Double(i)
                return (p, p + 1, p - 1, p)
            })
        let strategy = Bars.rules([("R", .entryLong, "close / sma(close, 25) > 0 and close[40] != close")])
        let r = try Bars.run(BacktestConfig(initialCapital: 1000, strategy: strategy), bars)
        #expect(r.trades.isEmpty)
    }

    @Test func builtinDefaultTradesOnMomentumWithVolume() throws {
        // 21 quiet bars, then a 1% rise on 4x volume: S1 on bar 21, in at bar 22's open (101),
        // out at +10% (111.1) on bar 23.
        var bars = Bars.daily((0..<21).map { _ in (100, 100.2, 99.8, 100) }, volume: 100)
        bars.append(Candle(time: Bars.t0 + 21 * Bars.day, open: 100, high: 101.2, low: 100, close: 101, volume: 400))
        bars.append(Candle(time: Bars.t0 + 22 * Bars.day, open: 101, high: 102, low: 100.5, close: 101.5, volume: 100))
        bars.append(Candle(time: Bars.t0 + 23 * Bars.day, open: 102, high: 112, low: 101.5, close: 111, volume: 100))
        let r = try Bars.run(
            BacktestConfig(initialCapital: 10_000, strategy: .builtin(name: "default", params: [:])), bars)
        let t = try #require(r.trades.first)
        #expect(r.trades.count == 1 && t.entryRule == "S1" && t.exitRule == "ZE1" && t.entryPrice == 101)
        #expect(approx(t.exitPrice, 111.1) && t.quantity == 99 && t.entryIndex == 22 && t.exitIndex == 23)
        // A stricter volume ratio finds nothing; a 1% stop-loss parameter is used as E1.
        let strict = try Bars.run(
            BacktestConfig(initialCapital: 10_000, strategy: .builtin(name: "default", params: ["volume_ratio": 5])),
            bars)
        #expect(strict.trades.isEmpty)
        // Zero volume everywhere: no trade, no error (the average is checked before dividing).
        let flat = Bars.daily((0..<40).map { i in (100, 101, 99, 100 + Double(i % 3)) }, volume: 0)
        #expect(
            try Bars.run(BacktestConfig(initialCapital: 10_000, strategy: .builtin(name: "default", params: [:])), flat)
                .trades.isEmpty)
        #expect(Engine.builtinStrategyNames == ["default", "sma_cross"])
        #expect(Engine.builtinParameters("sma_cross")?.map(\.defaultValue) == [10, 20])
    }

    @Test func exitRulesAndShorts() throws {
        // Short when close < 100, cover when close > 101; long/short reversal with sameSideEntry .reopen is sma_cross's.
        let bars = Bars.daily([
            (100, 100, 100, 100), (100, 100, 99, 99), (99, 99, 98, 98.5), (99, 102, 99, 101.5), (102, 103, 101, 102),
            (102, 102, 102, 102),
        ])
        let strategy = Bars.rules([
            ("SHORT", .entryShort, "close < 100 and position == 0"), ("COVER", .exitShort, "close > 101"),
        ])
        let r = try Bars.run(BacktestConfig(initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(2)), bars)
        let t = try #require(r.trades.first)
        // Signal on bar 1 (99): short at bar 2's open 99; cover signal on bar 3: out at bar 4's open 102.
        #expect(
            r.trades.count == 1 && t.side == .short && t.entryPrice == 99 && t.exitPrice == 102 && t.pnl == -6
                && t.exitRule == "COVER")
        #expect(r.stats.equityFinal == 994)
    }
}
