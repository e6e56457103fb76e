import BacktestProto
import RPC
import Testing

@testable import backtest

/// The renderers the CLI prints with: pure functions of their input, checked
/// character by character.
@Suite struct RendererTests {
    let plain = Style(enabled: false)

    // MARK: progress bar

    @Test func barFillsInEighths() {
        #expect(ProgressBar.bar(fraction: 0, cells: 4) == "▕    ▏")
        #expect(ProgressBar.bar(fraction: 1, cells: 4) == "▕████▏")
        #expect(ProgressBar.bar(fraction: 0.5, cells: 4) == "▕██  ▏")
        // 0.53 of 32 eighths = 16.96 -> 16 eighths: two full cells, nothing partial.
        #expect(ProgressBar.bar(fraction: 0.53, cells: 4) == "▕██  ▏")
        // 0.6 of 32 eighths = 19.2 -> 19: two full cells and three eighths.
        #expect(ProgressBar.bar(fraction: 0.6, cells: 4) == "▕██▍ ▏")
        #expect(ProgressBar.bar(fraction: .nan, cells: 3) == "▕   ▏")
        #expect(ProgressBar.bar(fraction: 7, cells: 3) == "▕███▏")
    }

    func runningEvent() -> ProgressEvent {
        ProgressEvent(
            sessionID: "s1", sequence: 7, kind: .update, status: .running, progressPct: 52.44,
            simTime: TimeDisplay.parse("2008-11-03T14:30:00Z"), equity: 12_345.678, realizedPnl: 2000,
            unrealizedPnl: 345.678,
            drawdownPct: -3.21, trades: 14, eventsProcessed: 1100, eventsPerSecond: 3210,
            eta: ProtoDuration(seconds: 125, nanos: 0))
    }

    @Test func progressLineHasEveryField() {
        let line = ProgressBar.line(runningEvent(), width: 200, style: plain)
        #expect(line.hasPrefix("▕"))
        #expect(
            line.contains(
                "▏  52.4%  2008-11-03 14:30  equity 12,345.68  P&L +2,345.68  trades 14  dd -3.2%  3.2k ev/s  ETA 2m 05s"
            ))
        #expect(!line.contains("\u{1B}"))
        // The bar is at most 30 cells wide on a wide terminal.
        #expect(
            Table.width(line) == 30 + 2 + 1
                + Table.width(
                    "52.4%  2008-11-03 14:30  equity 12,345.68  P&L +2,345.68  trades 14  dd -3.2%  3.2k ev/s  ETA 2m 05s"
                ) + 1)
    }

    @Test func progressLineFitsNarrowTerminals() {
        for width in [40, 60, 80, 100] {
            let line = ProgressBar.line(runningEvent(), width: width, style: plain)
            #expect(Table.width(line) <= width, "width \(width): \(line)")
            #expect(line.contains("52.4%"))
        }
        // At 60 columns the least useful fields go first; percent and time stay.
        let narrow = ProgressBar.line(runningEvent(), width: 60, style: plain)
        #expect(narrow.contains("2008-11-03 14:30"))
        #expect(!narrow.contains("ETA"))
    }

    @Test func progressLineQueuedAndColoured() {
        var e = runningEvent()
        e.status = .started
        e.progressPct = 0
        let line = ProgressBar.line(e, width: 200, style: plain)
        #expect(line.contains("0.0%  queued"))
        #expect(!line.contains("ETA"))
        let coloured = ProgressBar.line(runningEvent(), width: 200, style: Style(enabled: true))
        #expect(coloured.contains("\u{1B}[32m+2,345.68\u{1B}[0m"))
    }

    @Test func bytesLine() {
        let line = ProgressBar.bytesLine(sent: 512 * 1024, total: 1024 * 1024, seconds: 0.5, width: 100, style: plain)
        #expect(line.hasSuffix(" 50.0%  512.0 KiB / 1.0 MiB  1.0 MiB/s"))
    }

    // MARK: tables

    @Test func tableAlignsTextLeftAndNumbersRight() {
        var t = Table([.init("ID"), .init("P&L", .right), .init("NOTE")])
        t.append(["a", "1.00", "x"])
        t.append(["long-id", "-1,234.50", "last"])
        let lines = t.render(style: plain).split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "ID             P&L  NOTE",
                "───────  ─────────  ────",
                "a             1.00  x",
                "long-id  -1,234.50  last",
            ])
    }

    @Test func tableColoursDoNotShiftColumns() {
        var t = Table([.init("S"), .init("N", .right)])
        t.append([.init("ok", .green), .init("1")])
        t.append([.init("failed", .red), .init("22")])
        let rendered = t.render(style: Style(enabled: true))
        let stripped = rendered.replacing(/\x{1B}\[[0-9;]*m/, with: "")
        #expect(stripped == "S        N\n──────  ──\nok       1\nfailed  22")
        #expect(rendered.contains("\u{1B}[31mfailed\u{1B}[0m"))
    }

    @Test func keyValueListAlignsValues() {
        var list = KeyValueList()
        list.append("Return [%]", "12.50%")
        list.append("# Trades", "3")
        #expect(list.render() == "Return [%]  12.50%\n# Trades         3")
        list.valueAlignment = .left
        #expect(list.render() == "Return [%]  12.50%\n# Trades    3")
    }

    // MARK: sparkline

    @Test func sparklineScalesToLevels() {
        #expect(Sparkline.line([1, 2, 3, 4, 5, 6, 7, 8], width: 8) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.line([5, 5, 5], width: 10) == "▄▄▄")
        #expect(Sparkline.line([1, .nan, 8], width: 10) == "▁█")
        #expect(Sparkline.line([], width: 10) == "")
    }

    @Test func sparklineResamplesToWidth() {
        let values = (0..<1000).map(Double.init)
        #expect(Sparkline.resample(values, to: 4) == [249, 499, 749, 999])
        #expect(Sparkline.line(values, width: 50).count == 50)
    }

    @Test func blockChartRows() {
        let rows = Sparkline.chart([0, 1, 2, 3], width: 10, height: 2)
        // 16 eighths: the lowest value fills 1, the highest 16.
        #expect(rows == ["  ▃█", "▁▆██"])
        let chart = EquityChart.render(
            [
                EquityPoint(time: TimeDisplay.parse("2020-01-01"), equity: 100),
                EquityPoint(time: TimeDisplay.parse("2020-01-03"), equity: 150),
            ],
            width: 40, height: 3, style: plain)
        #expect(chart.count == 4)
        #expect(chart[0].hasPrefix("150.00 ┤"))
        #expect(chart[2].hasPrefix("100.00 ┤"))
        #expect(chart[3].contains("2020-01-01") && chart[3].hasSuffix("2020-01-03"))
    }

    // MARK: exit codes

    @Test func exitCodesMapStatuses() {
        #expect(ExitCodes.forStatus(.ok) == 0)
        #expect(ExitCodes.forStatus(.invalidArgument) == 13)
        #expect(ExitCodes.forStatus(.notFound) == 15)
        #expect(ExitCodes.forStatus(.unavailable) == 24)
        #expect(ExitCodes.forStatus(.unauthenticated) == 26)
        #expect(ExitCodes.forSession(.completed) == 0)
        #expect(ExitCodes.forSession(.failed) == 2)
        #expect(ExitCodes.forSession(.stopped) == 3)
        // Every code is distinct and listed in the help table.
        let codes = Status.Code.allCases.map(ExitCodes.forStatus)
        #expect(Set(codes).count == codes.count)
        for code in Status.Code.allCases where code != .ok {
            #expect(ExitCodes.table.contains("\(ExitCodes.forStatus(code))   \(code)"))
        }
    }

    // MARK: times, durations, numbers

    @Test func timesParseAndPrintInUTC() throws {
        let t = try #require(TimeDisplay.parse("2004-08-19"))
        #expect(t == ProtoTimestamp(seconds: 1_092_873_600, nanos: 0))
        #expect(TimeDisplay.iso(t) == "2004-08-19T00:00:00Z")
        #expect(TimeDisplay.parse("2004-08-19T09:30:00Z") == ProtoTimestamp(seconds: 1_092_907_800, nanos: 0))
        #expect(TimeDisplay.parse("2004-08-19 09:30") == ProtoTimestamp(seconds: 1_092_907_800, nanos: 0))
        #expect(TimeDisplay.parse("2004-08-19T11:30:00+02:00") == ProtoTimestamp(seconds: 1_092_907_800, nanos: 0))
        #expect(
            TimeDisplay.parse("2004-08-19T09:30:00.25Z") == ProtoTimestamp(seconds: 1_092_907_800, nanos: 250_000_000))
        #expect(
            TimeDisplay.iso(ProtoTimestamp(seconds: 1_092_907_800, nanos: 250_000_000)) == "2004-08-19T09:30:00.250000Z"
        )
        #expect(TimeDisplay.iso(ProtoTimestamp(seconds: -1, nanos: 0)) == "1969-12-31T23:59:59Z")
        #expect(TimeDisplay.iso(ProtoTimestamp(seconds: 951_782_400, nanos: 0)) == "2000-02-29T00:00:00Z")
        for bad in ["2004-02-30", "2004-13-01", "04-08-19", "2004-08-19T25:00", "2004-08-19x", "", "yesterday"] {
            #expect(TimeDisplay.parse(bad) == nil, "\(bad)")
        }
        #expect(TimeDisplay.compact(t) == "2004-08-19")
        #expect(TimeDisplay.minute(ProtoTimestamp(seconds: 1_092_907_805, nanos: 0)) == "2004-08-19 09:30")
    }

    @Test func durationsForPeople() {
        #expect(Format.duration(seconds: 0.25) == "0.25s")
        #expect(Format.duration(seconds: 42) == "42s")
        #expect(Format.duration(seconds: 185) == "3m 05s")
        #expect(Format.duration(seconds: 7620) == "2h 07m")
        #expect(Format.duration(seconds: 12 * 86_400 + 4 * 3600) == "12d 04h")
        #expect(Format.duration(ProtoDuration(seconds: 90, nanos: 0)) == "1m 30s")
        #expect(Format.duration(nil) == "-")
        #expect(Format.seconds(ProtoDuration(seconds: 1, nanos: 500_000_000)) == 1.5)
    }

    @Test func numbersForPeople() {
        #expect(Format.number(1_234_567.891) == "1,234,567.89")
        #expect(Format.number(-1234.5) == "-1,234.50")
        #expect(Format.number(-0.001) == "0.00")
        #expect(Format.number(.nan) == "-")
        #expect(Format.number(6.658e305) == "6.658e+305")
        #expect(Format.signed(-2.5e20) == "-2.5e+20")
        #expect(Format.percent(1e300) == "1e+300%")
        #expect(Format.signed(12.5) == "+12.50")
        #expect(Format.signed(0) == "0.00")
        #expect(Format.percent(12.345) == "12.35%")
        #expect(Format.compact(950) == "950")
        #expect(Format.compact(3210) == "3.2k")
        #expect(Format.compact(4_500_000) == "4.5M")
    }

    // MARK: JSON

    /// --json prints the proto3 JSON of the messages with every field present: the
    /// exact line for a statistics message, and the forms of the awkward values.
    @Test func jsonIsProto3WithEveryField() throws {
        let stats = Statistics(
            start: TimeDisplay.parse("2004-08-19"), duration: ProtoDuration(seconds: 86_400, nanos: 0),
            sharpeRatio: .nan, sortinoRatio: .infinity, totalTrades: 3, winRatePct: 66.5)
        let text = try OutputContext.jsonLine(stats)
        #expect(
            text.hasPrefix(#"{"start":"2004-08-19T00:00:00Z","duration":"86400s","exposureTimePct":0,"equityFinal":0,"#)
        )
        #expect(!text.contains(#""end""#), "an unset message is left out: \(text)")
        #expect(text.contains(#""sharpeRatio":"NaN","sortinoRatio":"Infinity","#))
        #expect(text.contains(#""totalTrades":"3","winRatePct":66.5,"#))
        #expect(text.hasSuffix(#""kellyCriterion":0,"commissions":0}"#))
        let event = ProgressEvent(
            sessionID: "x\n\u{1}", sequence: .max, kind: .terminal, status: .completed,
            eta: ProtoDuration(seconds: 1, nanos: 500_000_000))
        let line = try OutputContext.jsonLine(event)
        #expect(
            line.hasPrefix(
                #"{"sessionId":"x\n\u0001","sequence":"18446744073709551615","kind":"PROGRESS_EVENT_KIND_TERMINAL","status":"SESSION_STATUS_COMPLETED","#
            ))
        #expect(line.contains(#""eta":"1.500s","#))
        #expect(line.hasSuffix(#""errorMessage":"","stopReason":""}"#))
        // What a script reads back is the message.
        #expect(try ProgressEvent(jsonString: line) == event)
        // A time outside the Timestamp range cannot be printed: a local error, not a crash.
        let error = #expect(throws: CLIError.self) {
            try OutputContext.jsonLine(ProgressEvent(simTime: ProtoTimestamp(seconds: .max, nanos: 0)))
        }
        #expect(
            error?.message.hasPrefix(
                "the server's backtest.v1.ProgressEvent has no JSON form: sim_time: not a valid timestamp") == true)
    }

    /// The names tables print and options accept come from the generated enums.
    @Test func enumNamesFromTheProto() {
        #expect(SessionStatus.completed.name == "completed")
        #expect(SizingMode.equityFraction.name == "equity_fraction")
        #expect(GRPCHealthV1.HealthCheckResponse.ServingStatus.notServing.name == "not_serving")
        #expect(SessionStatus.parse("Completed") == .completed)
        #expect(SessionStatus.parse("SESSION_STATUS_FAILED") == .failed)
        #expect(SessionStatus.parse("unspecified") == nil)
        #expect(SessionStatus.parse("done") == nil)
        #expect(RuleKind.parse("exit_short") == .exitShort)
        #expect(SessionStatus.choices == "started, running, completed, failed or stopped")
        #expect(DataKind.choices == "candles or ticks")
    }

    // MARK: option text

    @Test func paramParsingErrors() throws {
        #expect(try OptionParsing.numericPairs(["n1=10", "n2=2.5e1"], option: "--param") == ["n1": 10, "n2": 25])
        let cases: [(String, String)] = [
            ("n1", "--param: expected NAME=VALUE, got 'n1'"),
            ("=5", "--param: expected NAME=VALUE, got '=5'"),
            ("n1=ten", "--param: n1=ten: 'ten' is not a number"),
            ("n1=", "--param: n1=: '' is not a number"),
            ("n1=nan", "--param: n1=nan: 'nan' is not a number"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: (any Error).self) { try OptionParsing.numericPairs([text], option: "--param") }
            #expect(error.map { "\($0)" } == message)
        }
        let twice = #expect(throws: (any Error).self) {
            try OptionParsing.numericPairs(["n1=1", "n1=2"], option: "--param")
        }
        #expect(twice.map { "\($0)" } == "--param: n1 is given twice")
        #expect(
            try OptionParsing.pairs(["team=quant", "note=a=b"], option: "--label") == ["team": "quant", "note": "a=b"])
    }

    @Test func sizingAndDurations() throws {
        #expect(try OptionParsing.sizing("all", fractional: false) == Sizing(mode: .allEquity))
        #expect(
            try OptionParsing.sizing("fraction=0.5", fractional: true)
                == Sizing(mode: .equityFraction, value: 0.5, fractionalUnits: true))
        #expect(try OptionParsing.sizing("FIXED_UNITS=100", fractional: false) == Sizing(mode: .fixedUnits, value: 100))
        #expect(
            try OptionParsing.sizing("notional=5000", fractional: false) == Sizing(mode: .fixedNotional, value: 5000))
        #expect(throws: (any Error).self) { try OptionParsing.sizing("units", fractional: false) }
        #expect(throws: (any Error).self) { try OptionParsing.sizing("all=1", fractional: false) }
        #expect(throws: (any Error).self) { try OptionParsing.sizing("half", fractional: false) }
        #expect(try OptionParsing.duration("90", option: "-") == ProtoDuration(seconds: 90, nanos: 0))
        #expect(try OptionParsing.duration("250ms", option: "-") == ProtoDuration(seconds: 0, nanos: 250_000_000))
        #expect(try OptionParsing.duration("5m", option: "-") == ProtoDuration(seconds: 300, nanos: 0))
        #expect(try OptionParsing.duration("1.5h", option: "-") == ProtoDuration(seconds: 5400, nanos: 0))
        #expect(throws: (any Error).self) { try OptionParsing.duration("soon", option: "-") }
        #expect(throws: (any Error).self) { try OptionParsing.duration("-1s", option: "-") }
    }

    @Test func serverAddresses() throws {
        #expect(try GlobalOptions.parseAddress("127.0.0.1:50051") == ("127.0.0.1", 50051))
        #expect(try GlobalOptions.parseAddress("localhost") == ("localhost", 50051))
        #expect(try GlobalOptions.parseAddress("[::1]:9000") == ("::1", 9000))
        for bad in ["host:", ":80", "host:99999", "host:http", "[::1"] {
            #expect(throws: (any Error).self, "\(bad)") { try GlobalOptions.parseAddress(bad) }
        }
    }

    // MARK: strategy files

    @Test func strategyFileText() throws {
        let text = """
            # SMA crossover with a stop
            name: SMA cross
            param fast: 10
            param $slow: 20
            stop_loss_pct: 5
            trailing_stop_pct: 2.5
            entry_long buy: crosses_above(sma(close, $fast), sma(close, $slow))
            exit_long sell: crosses_below(sma(close, $fast), sma(close, $slow))
            """
        let s = try StrategyFile.parse(text, source: "s.txt")
        #expect(s.name == "SMA cross")
        #expect(s.params == ["fast": 10, "slow": 20])
        #expect(s.stopLossPct == 5 && s.trailingStopPct == 2.5 && s.takeProfitPct == 0)
        #expect(
            s.rules == [
                Rule(name: "buy", kind: .entryLong, expression: "crosses_above(sma(close, $fast), sma(close, $slow))"),
                Rule(name: "sell", kind: .exitLong, expression: "crosses_below(sma(close, $fast), sma(close, $slow))"),
            ])
    }

    @Test func strategyFileJSONMatchesText() throws {
        let json = """
            {"name": "SMA cross", "stop_loss_pct": 5, "trailing_stop_pct": 2.5,
             "params": {"fast": 10, "slow": 20},
             "rules": [{"name": "buy", "kind": "entry_long", "expression": "crosses_above(sma(close, $fast), sma(close, $slow))"},
                       {"name": "sell", "kind": "EXIT_LONG", "expression": "crosses_below(sma(close, $fast), sma(close, $slow))"}]}
            """
        let fromJSON = try StrategyFile.parse(json, source: "s.json")
        let fromText = try StrategyFile.parse(
            """
            name: SMA cross
            param fast: 10
            param slow: 20
            stop_loss_pct: 5
            trailing_stop_pct: 2.5
            entry_long buy: crosses_above(sma(close, $fast), sma(close, $slow))
            exit_long sell: crosses_below(sma(close, $fast), sma(close, $slow))
            """, source: "s.txt")
        #expect(fromJSON == fromText)
    }

    /// Found by fuzzing (tools/fuzz, fuzz-strategy-file): on Linux, Foundation's
    /// JSONSerialization gives 0 and 1 as NSNumbers that also cast to Bool, so the JSON
    /// form refuses them ("trailing_stop_pct must be a number"), the help's own example
    /// included. Sources/backtest is being changed elsewhere: a known issue until the
    /// parser there is fixed, and then this test fails until `withKnownIssue` goes.
    @Test func strategyFileJSONTakesZeroAndOne() {
        withKnownIssue("JSON 0 and 1 read as booleans on Linux") {
            let s = try StrategyFile.parse(
                """
                {"rules": [{"name": "b", "kind": "entry_long", "expression": "close > $n"}],
                 "stop_loss_pct": 1, "trailing_stop_pct": 0, "params": {"n": 0}}
                """, source: "f.json")
            #expect(s.stopLossPct == 1 && s.trailingStopPct == 0 && s.params == ["n": 0])
        }
    }

    /// Found by fuzzing, likewise: JSONSerialization on Linux reads numbers inexactly
    /// (0.30000000000000004 as 0.3000000000000001, 5.4444444444444445e+98 as
    /// 5.44444444444444e+98) where the text form reads them exactly.
    @Test func strategyFileJSONNumbersAreExact() {
        withKnownIssue("JSONSerialization misrounds on Linux") {
            let s = try StrategyFile.parse(
                """
                {"rules": [{"name": "b", "kind": "entry_long", "expression": "close > $n"}],
                 "params": {"n": 0.30000000000000004, "m": 5.4444444444444445e+98}}
                """, source: "f.json")
            #expect(s.params == ["n": 0.30000000000000004, "m": 5.4444444444444445e+98])
        }
    }

    @Test func strategyFileErrorsNameTheLine() {
        let cases: [(String, String)] = [
            ("name: x\nbuy_long b: close > 1", "f:2: unknown rule kind 'buy_long'"),
            ("entry_long b: close > 1\nstop_loss_pct: five", "f:2: 'five' is not a number"),
            ("entry_long b close > 1", "f:1: expected KEY: VALUE"),
            ("entry_long b: close > 1\nentry_long b: close > 2", "f: rule name 'b' is used twice"),
            ("name: only a name", "f: no rules"),
            (
                "{\"rules\": [{\"name\": \"b\", \"kind\": \"sideways\", \"expression\": \"1\"}]}",
                "f: rules[0].kind: unknown rule kind 'sideways'"
            ),
            ("{\"rules\": [], \"stop\": 1}", "f: unknown field 'stop'"),
            ("{\"rules\": [", "f: not valid JSON"),
        ]
        for (text, prefix) in cases {
            let error = #expect(throws: StrategyFile.Error.self) { try StrategyFile.parse(text, source: "f") }
            #expect(error?.description.hasPrefix(prefix) == true, "\(error?.description ?? "no error")")
        }
    }
}
