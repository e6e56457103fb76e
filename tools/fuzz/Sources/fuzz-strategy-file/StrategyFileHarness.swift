import BacktestProto
import Foundation
import FuzzSupport

/// Strategy files as `backtest start --strategy-file` reads them, JSON or text, with
/// the CLI's own parser (CLI/ links its files: the CLI is an executable, which no
/// other package can import). Invariants: a refusal names the file (and, in the text
/// form, a line of it); a strategy read has rules with distinct names; written back
/// as JSON, and as text where its names allow, it reads back the same.
enum StrategyFileHarness {
    static func test(_ input: UnsafeBufferPointer<UInt8>) {
        // `load` refuses what is not UTF-8 before parsing.
        guard let text = String(validating: input, as: UTF8.self) else { return }
        let strategy: RuleStrategy
        do {
            strategy = try StrategyFile.parse(text, source: "fuzz.txt")
        } catch let error as StrategyFile.Error {
            checkRefusal(error, text)
            return
        } catch {
            Fuzz.fail("an error that is not StrategyFile.Error: \(error)")
        }
        Fuzz.check(!strategy.rules.isEmpty, "a strategy without rules")
        Fuzz.check(Set(strategy.rules.map(\.name)).count == strategy.rules.count, "rule names repeat")
        Fuzz.check(strategy.rules.allSatisfy { $0.kind != .unspecified }, "a rule without a kind")
        // Known bug (RendererTests.strategyFileJSONTakesZeroAndOne): on Linux the JSON
        // form refuses numbers 0 and 1, so strategies that write one skip the JSON trip.
        let written = strategy.params.values + [strategy.stopLossPct, strategy.takeProfitPct, strategy.trailingStopPct]
        if !strategy.params.values.contains(where: { $0 == 0 || $0 == 1 }) && !written.contains(1) {
            roundTrip(strategy, as: json(strategy), form: "JSON")
        }
        if let text = textForm(strategy) { roundTrip(strategy, as: text, form: "text") }
    }

    static func checkRefusal(_ error: StrategyFile.Error, _ text: String) {
        let d = error.description
        Fuzz.check(d.hasPrefix("fuzz.txt:") || d.hasPrefix("fuzz.txt "), "a refusal without the file: \(d)")
        // Text form: `fuzz.txt:LINE: ...` with a line of the file.
        let rest = d.dropFirst("fuzz.txt:".count)
        if let colon = rest.firstIndex(of: ":"), let line = Int(rest[..<colon]) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            Fuzz.check(line >= 1 && line <= lines, "a refusal at line \(line) of \(lines): \(d)")
        }
    }

    static func roundTrip(_ strategy: RuleStrategy, as file: String, form: String) {
        do {
            let again = try StrategyFile.parse(file, source: "again")
            // Known bug (RendererTests.strategyFileJSONNumbersAreExact): the JSON form
            // reads numbers inexactly; the text form must be exact.
            let same = form == "JSON" ? nearlyEqual(again, strategy) : again == strategy
            Fuzz.check(same, "written as \(form)\n\(file)\nit reads as \(again), not \(strategy)")
        } catch {
            Fuzz.fail("written as \(form)\n\(file)\nit does not read back: \(error)")
        }
    }

    static func nearlyEqual(_ a: RuleStrategy, _ b: RuleStrategy) -> Bool {
        // JSONSerialization keeps some 15 significant digits (5.4444444444444445e+98
        // reads as 5.44444444444444e+98): equal to 13 digits, then.
        func near(_ x: Double, _ y: Double) -> Bool { x == y || abs(x - y) <= 1e-13 * max(abs(x), abs(y)) }
        return a.name == b.name && a.rules == b.rules && near(a.stopLossPct, b.stopLossPct)
            && near(a.takeProfitPct, b.takeProfitPct) && near(a.trailingStopPct, b.trailingStopPct)
            && a.params.keys.sorted() == b.params.keys.sorted()
            && a.params.allSatisfy { near($0.value, b.params[$0.key]!) }
    }

    /// The file's JSON form: proto field names, kinds by their proto value names.
    static func json(_ strategy: RuleStrategy) -> String {
        do {
            return try strategy.jsonString(options: ProtoJSONEncodingOptions(preservingProtoFieldNames: true))
        } catch {
            Fuzz.fail("a strategy read from a file has no JSON: \(error)")
        }
    }

    /// The text form, when every name is one word and every value one trimmed line.
    static func textForm(_ s: RuleStrategy) -> String? {
        func word(_ t: String) -> Bool {
            !t.isEmpty
                && t.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || "0123456789_$-.".unicodeScalars.contains($0))
                }
        }
        func line(_ t: String) -> Bool {
            t == t.trimmingCharacters(in: .whitespacesAndNewlines) && !t.contains("\n") && !t.contains("\r")
        }
        guard line(s.name), !s.name.hasPrefix("#"),
            s.rules.allSatisfy({ word($0.name) && line($0.expression) && !$0.expression.isEmpty }),
            s.params.keys.allSatisfy({ word($0) && !$0.hasPrefix("$") })
        else { return nil }
        var out = s.name.isEmpty ? "" : "name: \(s.name)\n"
        for (k, v) in s.params.sorted(by: { $0.key < $1.key }) { out += "param \(k): \(v)\n" }
        if s.stopLossPct != 0 { out += "stop_loss_pct: \(s.stopLossPct)\n" }
        if s.takeProfitPct != 0 { out += "take_profit_pct: \(s.takeProfitPct)\n" }
        if s.trailingStopPct != 0 { out += "trailing_stop_pct: \(s.trailingStopPct)\n" }
        for r in s.rules { out += "\(r.kind.protoValueName) \(r.name): \(r.expression)\n" }
        return out
    }
}
