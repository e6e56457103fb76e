import BacktestEngine
import FuzzSupport

/// The strategy language, parser to compiled program to a run: each input line is a
/// rule's expression (kinds in turn: entry_long, exit_long, entry_short, exit_short).
/// Invariants: an error inside a rule names that rule and a position within its text
/// (or just past it); a strategy that compiles runs over a fixed series, twice alike;
/// a rule in parentheses compiles and runs as the rule does.
enum StrategyHarness {
    static let kinds: [StrategyDefinition.RuleKind] = [.entryLong, .exitLong, .entryShort, .exitShort]
    static let params: [String: Double] = ["fast": 5, "slow": 12, "n": 3, "k": 0.5, "zero": 0]

    /// 60 daily bars that rise, fall, stay flat and gap, so crossings, stops and
    /// zero divisors all happen.
    static let candles: [Candle] = (0..<60).map { i in
        let x = Double(i)
        let close = i >= 40 && i < 46 ? 100 : 100 + 10 * (x / 7).squareRoot() * (i % 13 < 7 ? 1 : -1) + x / 4
        let open = i % 11 == 0 ? close * 1.03 : close - 0.5
        return Candle(
            time: 1_700_000_000_000_000 + Int64(i) * 86_400_000_000, open: open, high: max(open, close) + 1,
            low: min(open, close) - 1, close: close, volume: i % 9 == 0 ? 0 : 1000 + x * 10)
    }

    static func test(_ input: UnsafeBufferPointer<UInt8>) {
        // The server takes strings from protobuf, which are valid UTF-8.
        guard let text = String(validating: input, as: UTF8.self) else { return }
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        let rules = lines.enumerated().map { i, line in
            StrategyDefinition.Rule(name: "R\(i)", kind: kinds[i], expression: line)
        }
        let outcome = run(rules)
        if case .refused(let error) = outcome {
            checkPosition(error, rules)
            return
        }
        Fuzz.check(run(rules) == outcome, "a second run differed")
        // Parenthesised, every rule means what it meant; positions move by one.
        let wrapped = rules.map {
            StrategyDefinition.Rule(name: $0.name, kind: $0.kind, expression: "(\($0.expression))")
        }
        let again = run(wrapped)
        Fuzz.check(again.shifted(by: -1) == outcome, "in parentheses: \(again) where the rules gave \(outcome)")
    }

    enum Outcome: Equatable {
        case refused(StrategyError)
        /// Trades, the statistics' text (NaN compares equal as text), or the run's error.
        case ran(trades: String, statistics: String)
        case failed(EngineError)

        func shifted(by d: Int) -> Outcome {
            guard case .failed(.divisionByZero(let rule, let position, let bar, let time)) = self else { return self }
            return .failed(.divisionByZero(rule: rule, position: position + d, bar: bar, time: time))
        }
    }

    static func run(_ rules: [StrategyDefinition.Rule]) -> Outcome {
        let config = BacktestConfig(
            initialCapital: 10_000,
            strategy: .rules(.init(name: "fuzz", rules: rules, stopLossPct: 4, takeProfitPct: 9, params: params)))
        let validated = Result { () throws(StrategyError) in try Engine.validate(config) }
        let engine: Engine
        do throws(StrategyError) {
            engine = try Engine(config: config)
        } catch {
            Fuzz.check(validated.failureValue == error, "validate said \(validated), the engine \(error)")
            return .refused(error)
        }
        Fuzz.check(validated.failureValue == nil, "validate refused what the engine took: \(validated)")
        do throws(EngineError) {
            try engine.process(candles: candles)
        } catch {
            if case .divisionByZero(let rule, let position, _, _) = error {
                let text = rules.first { $0.name == rule }?.expression
                Fuzz.check(text != nil, "division by zero in unknown rule \(rule)")
                Fuzz.check(
                    position >= 1 && position <= text!.unicodeScalars.count, "division at \(position) in \(text!)")
            }
            return .failed(error)
        }
        let statistics = engine.finish()
        let trades = engine.takeTrades()
        // A trade opened by the final bar's orders stays open, outside the statistics.
        let closed = trades.count { $0.exitTime != nil }
        Fuzz.check(
            closed == statistics.totalTrades, "\(closed) closed trades, statistics say \(statistics.totalTrades)")
        Fuzz.check(trades.count <= closed + 1, "\(trades.count - closed) trades left open")
        return .ran(trades: "\(trades)", statistics: "\(statistics)")
    }

    static func checkPosition(_ error: StrategyError, _ rules: [StrategyDefinition.Rule]) {
        Fuzz.check(!error.message.isEmpty, "an error without a message")
        guard let name = error.rule else {
            Fuzz.check(error.position == nil, "a position without a rule: \(error)")
            return
        }
        guard let rule = rules.first(where: { $0.name == name }) else { Fuzz.fail("error in unknown rule: \(error)") }
        if let p = error.position {
            let length = rule.expression.unicodeScalars.count
            Fuzz.check(p >= 1 && p <= length + 1, "position \(p) outside a rule of \(length) characters: \(error)")
        }
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
