import Foundation
import Testing

@testable import BacktestProto

/// The proto3 JSON mapping against Python's protobuf (json_format). For each message:
/// Python's MessageToJson of the same wire bytes means the same JSON as ours (compared
/// as values: member order and number spelling may differ); Python's Parse of our text
/// gives the same message; and our decoder reads Python's text back to the message.
@Suite struct JSONInteropTests {
    /// Our options and json_format's names for them.
    static let optionSets: [(ProtoJSONEncodingOptions, [String: Bool])] = [
        (ProtoJSONEncodingOptions(), [:]),
        (
            ProtoJSONEncodingOptions(alwaysPrintFieldsWithNoPresence: true),
            ["always_print_fields_with_no_presence": true]
        ),
        (ProtoJSONEncodingOptions(preservingProtoFieldNames: true), ["preserving_proto_field_name": true]),
        (
            ProtoJSONEncodingOptions(
                alwaysPrintFieldsWithNoPresence: true, preservingProtoFieldNames: true, enumsAsIntegers: true),
            [
                "always_print_fields_with_no_presence": true, "preserving_proto_field_name": true,
                "use_integers_for_enums": true,
            ]
        ),
    ]

    /// One message written with one set of options, and what to check about it.
    struct Case {
        var label: String
        var typeName: String
        var bytes: [UInt8]
        var options: [String: Bool]
        var ours: Result<String, any Error>
        /// Decodes JSON text as this message type: nil when it gives the message back.
        var decodesBack: (String) -> String?
        /// The same for wire bytes (compared as messages: map entries may come in any
        /// order, and Python writes a map entry's empty key and value where we do not).
        var sameMessage: ([UInt8]) -> String?
    }

    static func cases<M: ProtoMessage & ProtoJSONMessage>(_ message: M, _ label: String) throws -> [Case] {
        let bytes = try message.serializedBytes()
        return optionSets.map { options, names in
            Case(
                label: "\(label) \(names.keys.sorted())", typeName: M.protoName, bytes: bytes, options: names,
                ours: Result { try message.jsonString(options: options) },
                decodesBack: { text in
                    do {
                        let decoded = try M(jsonString: text)
                        return Self.sameMessage(decoded, message) ? nil : "decodes to another message: \(decoded)"
                    } catch {
                        return "does not decode: \(error)"
                    }
                },
                sameMessage: { bytes in
                    guard let decoded = try? M(serializedBytes: bytes) else { return "bytes that do not decode" }
                    return Self.sameMessage(decoded, message) ? nil : "\(decoded)"
                })
        }
    }

    /// Equal messages, NaN fields included (== says NaN differs from itself): the same
    /// fields in the same JSON, whose writer is checked against Python's separately.
    static func sameMessage<M: ProtoJSONMessage>(_ a: M, _ b: M) -> Bool {
        let all = ProtoJSONEncodingOptions(alwaysPrintFieldsWithNoPresence: true)
        return a == b || (try? a.jsonString(options: all)) == (try? b.jsonString(options: all))
    }

    static func sampleCases<M: ProtoMessage & ProtoJSONMessage & SampleFillable>(_: M.Type) throws -> [Case] {
        try (0..<M.sampleVariants).flatMap { try cases(M.sample($0, depth: 0), "\(M.protoName) sample \($0)") }
    }

    /// Sends every case to Python twice (its JSON of our bytes, its parse of our JSON)
    /// and checks the three directions.
    func check(_ cases: [Case]) async throws {
        var requests: [JSONValue] = []
        for c in cases {
            requests.append(JSONReference.toJSON(c.typeName, c.bytes, options: c.options))
            requests.append(JSONReference.parse(c.typeName, (try? c.ours.get()) ?? "{}"))
        }
        let answers = try await JSONReference.run(requests)
        for (i, c) in cases.enumerated() {
            let ours: String
            do {
                ours = try c.ours.get()
            } catch {
                Issue.record("\(c.label): Swift cannot write it: \(error)")
                continue
            }
            guard case .json(let theirs) = answers[2 * i] else {
                Issue.record("\(c.label): Python cannot write it: \(answers[2 * i])")
                continue
            }
            let same = jsonEquivalent(try JSONValue(parsing: ours), try JSONValue(parsing: theirs))
            #expect(same, "\(c.label): Swift wrote\n\(ours)\nPython wrote\n\(theirs)")
            if case .bytes(let parsed) = answers[2 * i + 1] {
                if let other = c.sameMessage(parsed) {
                    Issue.record("\(c.label): Python parses Swift's JSON \(ours) to another message: \(other)")
                }
            } else {
                Issue.record("\(c.label): Python cannot parse Swift's JSON \(ours): \(answers[2 * i + 1])")
            }
            if let problem = c.decodesBack(theirs) {
                Issue.record("\(c.label): Python's JSON \(theirs) \(problem)")
            }
        }
    }

    @Test func everySampleMatchesPython() async throws {
        var all: [Case] = []
        for type in allSampleTypes {
            all += try Self.sampleCases(type)
        }
        #expect(all.count >= 3 * allSampleTypes.count * Self.optionSets.count)
        try await check(all)
    }

    /// Values the samples do not reach: non-finite and signed-zero doubles, the largest
    /// unsigned and smallest signed integers, integers past 2^53, control characters
    /// and non-BMP text, times before 1970 and at every fraction width, negative
    /// durations, oneof members at their default, empty messages, maps of messages.
    @Test func edgeValuesMatchPython() async throws {
        let text = "é\u{1}\u{1F}\u{7F}\u{2028}\"\\/\t\r\n\u{8}\u{C} 𝄞 ✓"
        var cases: [Case] = []
        cases += try Self.cases(
            ProgressEvent(
                sessionID: text, sequence: .max, kind: .terminal, status: .completed, progressPct: .nan,
                simTime: ProtoTimestamp(seconds: 951_782_400, nanos: 1), equity: .infinity, cash: -.infinity,
                realizedPnl: -1e-300, unrealizedPnl: 1e21, drawdownPct: 1e-7, maxDrawdownPct: 123_456_789_012_345_680,
                openPositions: .max, positionSize: 0.1, trades: 9_007_199_254_740_993, eventsProcessed: 1 << 63,
                eventsPerSecond: .leastNonzeroMagnitude, eta: ProtoDuration(seconds: -1, nanos: -500_000_000),
                wallTime: ProtoTimestamp(seconds: -1, nanos: 999_999_999),
                statistics: Statistics(
                    start: ProtoTimestamp(seconds: -86_400 * 365, nanos: 1000),
                    duration: ProtoDuration(seconds: -ProtoDuration.maxSeconds, nanos: 0),
                    sharpeRatio: .nan, maxDrawdownDuration: ProtoDuration(seconds: 0, nanos: 1),
                    avgDrawdownDuration: ProtoDuration(seconds: 3, nanos: 20_000_000), totalTrades: 0),
                errorMessage: "line 1\nline 2"), "edge ProgressEvent")
        cases += try Self.cases(
            StartBacktestRequest(
                symbol: "BTC/USD", timeframe: "1m", startTime: ProtoTimestamp(seconds: 0, nanos: 0),
                strategy: StrategySpec(
                    kind: .builtin(BuiltinStrategy(name: "x", params: ["nan": .nan, "inf": -.infinity, "ü": 1, "": 0]))),
                costs: Costs(), equitySampleInterval: ProtoDuration(seconds: 0, nanos: 0),
                labels: ["𝄞": "v", "a b": "\u{7}"]), "edge StartBacktestRequest")
        cases += try Self.cases(StrategySpec(kind: .builtin(BuiltinStrategy())), "oneof message at default")
        cases += try Self.cases(ImportMarketDataRequest(payload: .csvChunk([])), "oneof bytes at default")
        cases += try Self.cases(ImportMarketDataRequest(payload: .csvChunk([0xFB, 0xFF])), "bytes with + and /")
        cases += try Self.cases(
            ImportMarketDataRequest(payload: .csvChunk([0xFB, 0xFF, 0xBF, 1])), "bytes with padding")
        cases += try Self.cases(
            CandleBatch(timeUs: [.min, -1, 0, .max], open: [.nan, .infinity, -0.0, 1.5, 1e300]), "edge CandleBatch")
        cases += try Self.cases(
            ListSessionsRequest(statuses: [.completed, .unspecified, .failed], pageSize: .max), "repeated enum")
        cases += try Self.cases(
            GRPCReflectionV1.ServerReflectionRequest(messageRequest: .listServices("")), "oneof string at default")
        cases += try Self.cases(
            GRPCHealthV1.HealthListResponse(statuses: [
                "": .init(status: .unknown), "b": .init(status: .serviceUnknown),
            ]),
            "map of messages")
        cases += try Self.cases(GRPCHealthV1.HealthListRequest(), "empty message")
        cases += try Self.cases(ProtoDuration(seconds: 0, nanos: -1), "duration -1 ns")
        cases += try Self.cases(
            ProtoTimestamp(seconds: -62_135_596_800 + 86_400 * 59, nanos: 100_000_000), "timestamp 0001-03-01")
        try await check(cases)
    }

    /// Input in forms json_format.Parse accepts besides its own output: numbers for
    /// 64-bit integers and strings for 32-bit ones, exponents, enum numbers, proto
    /// field names, nulls, offsets, odd fraction widths, URL-safe unpadded base64,
    /// escaped surrogate pairs. Each must decode to the message Python makes of it.
    @Test func inputsPythonAcceptsDecodeToTheSameMessage() async throws {
        // Per input: given Python's bytes, nil when Swift's message is the same.
        var swift: [([UInt8]) -> String?] = []
        var requests: [JSONValue] = []
        func accept<M: ProtoMessage & ProtoJSONMessage>(_: M.Type, _ text: String) {
            let ours = Result { try M(jsonString: text) }
            swift.append { bytes in
                do {
                    let message = try ours.get()
                    let theirs = try M(serializedBytes: bytes)
                    return Self.sameMessage(message, theirs) ? nil : "Swift decodes \(message), Python \(theirs)"
                } catch {
                    return "\(error)"
                }
            }
            requests.append(JSONReference.parse(M.protoName, text))
        }
        accept(
            ProgressEvent.self,
            #"{"sequence": 18446744073709551615, "trades": "1e3", "eventsProcessed": 12.0, "openPositions": "4294967295"}"#
        )
        accept(
            ProgressEvent.self,
            #"{"sequence": "0", "kind": 3, "status": "SESSION_STATUS_RUNNING", "progress_pct": "1.5", "equity": "-Infinity", "cash": "NaN"}"#
        )
        accept(
            ProgressEvent.self,
            #"{"realizedPnl": 1E-7, "unrealized_pnl": -0.0, "drawdownPct": 2.5e+2, "maxDrawdownPct": 0, "positionSize": "-12"}"#
        )
        accept(
            ProgressEvent.self,
            #"{"simTime": "1972-01-01T10:00:20.021-05:00", "wallTime": "2000-02-29T23:59:59.5+14:00", "eta": "-3.000000001s"}"#
        )
        accept(
            ProgressEvent.self,
            #"{"simTime": "0001-01-01T00:00:00Z", "wall_time": "9999-12-31T23:59:59.999999999Z", "eta": "0.1s"}"#)
        accept(
            ProgressEvent.self,
            #"{"session_id": "\ud834\udd1e \u00e9\u0001\/", "statistics": null, "sim_time": null, "eta": null, "sequence": null}"#
        )
        accept(
            CandleBatch.self,
            #"{"timeUs": ["-9223372036854775808", 9223372036854775807, 1e2, "-5"], "open": [1, "2", "NaN", "Infinity"], "close": null}"#
        )
        accept(
            ListSessionsRequest.self,
            #"{"statuses": ["SESSION_STATUS_FAILED", 5, 0], "labels": {"k": "v", "": ""}, "page_size": 1000}"#)
        accept(
            ListSessionsRequest.self,
            #"{"statuses": [], "labels": {}, "createdAfter": "1969-07-20T20:17:40Z", "created_before": "1970-01-01T00:00:00.000000001Z"}"#
        )
        accept(
            StartBacktestRequest.self,
            #"{"strategy": {"rules": {"name": "r", "rules": [{"name": "a", "kind": "RULE_KIND_EXIT_SHORT", "expression": "close > 1"}], "params": {"p": 1e-3}}}}"#
        )
        accept(
            StartBacktestRequest.self,
            #"{"strategy": {"builtin": null, "rules": {}}, "costs": {"commission_rate": "0.002"}, "fill_mode": "FILL_MODE_ON_CLOSE", "leaveOpenAtEnd": true}"#
        )
        accept(
            StartBacktestRequest.self,
            #"{"equity_sample_interval": "315576000000s", "startTime": "2024-01-01T00:00:00+00:00", "endTime": "2024-01-01T00:00:00.5Z"}"#
        )
        accept(ImportMarketDataRequest.self, #"{"csvChunk": "-_8"}"#)
        accept(ImportMarketDataRequest.self, #"{"csv_chunk": "+/+/"}"#)
        accept(
            ImportMarketDataRequest.self,
            #"{"header": {"kind": "DATA_KIND_TICKS", "format": 2, "replaceExisting": false}}"#)
        accept(
            GRPCHealthV1.HealthListResponse.self,
            #"{"statuses": {"a": {}, "b": {"status": "SERVING"}, "c": {"status": 2}}}"#)
        accept(
            GRPCReflectionV1.ServerReflectionRequest.self,
            #"{"host": "h", "fileContainingExtension": {"containingType": "t", "extensionNumber": "-2147483648"}}"#)
        accept(
            GRPCReflectionV1.ServerReflectionResponse.self,
            #"{"fileDescriptorResponse": {"fileDescriptorProto": ["", "AA==", "AAE", "_w"]}}"#)
        accept(ProtoDuration.self, #""-0.5s""#)
        accept(ProtoTimestamp.self, #""1969-12-31T23:59:59.1234Z""#)
        let answers = try await JSONReference.run(requests)
        for (i, answer) in answers.enumerated() {
            let input = requests[i]["json"]!
            guard case .bytes(let expected) = answer else {
                Issue.record("Python rejects \(input.text): \(answer)")
                continue
            }
            if let problem = swift[i](expected) { Issue.record("\(input.text): \(problem)") }
        }
    }

    /// Input both sides refuse; ours says where and why, in proto field names.
    @Test func inputsPythonRejectsAreErrorsNamingTheField() async throws {
        var swift: [String] = []
        var expected: [String] = []
        var requests: [JSONValue] = []
        func reject<M: ProtoMessage & ProtoJSONMessage>(_: M.Type, _ text: String, _ error: String) {
            do {
                let m = try M(jsonString: text)
                swift.append("accepted as \(m)")
            } catch {
                swift.append("\(error)")
            }
            expected.append(error)
            requests.append(JSONReference.parse(M.protoName, text))
        }
        reject(
            StartBacktestRequest.self, #"{"costs": {"commissionRate": "abc"}}"#,
            #"costs.commission_rate: expected a number, got the string "abc""#)
        reject(
            StartBacktestRequest.self, #"{"costs": {"comission_rate": 0.1}}"#,
            "costs.comission_rate: unknown field of backtest.v1.Costs")
        reject(
            StartBacktestRequest.self, #"{"strategy": {"rules": {"rules": [{}, {"kind": "ENTRY"}]}}}"#,
            #"strategy.rules.rules[1].kind: unknown value "ENTRY" of enum backtest.v1.RuleKind"#)
        reject(
            StartBacktestRequest.self, #"{"strategy": {"builtin": {}, "rules": {}}}"#,
            "strategy.rules: rules and builtin are both set; they are members of the oneof kind")
        reject(
            StartBacktestRequest.self, #"{"labels": {"team": 5}}"#,
            #"labels["team"]: expected a string, got the number 5"#)
        reject(
            StartBacktestRequest.self, #"{"labels": ["team"]}"#, #"labels: expected an object (a map), got an array"#)
        reject(
            StartBacktestRequest.self, #"{"startTime": "2024-13-01T00:00:00Z"}"#,
            #"start_time: not an RFC 3339 timestamp like 1972-01-01T10:00:20.021Z: "2024-13-01T00:00:00Z""#)
        reject(
            StartBacktestRequest.self, #"{"startTime": "2024-01-01T00:00:00"}"#,
            #"start_time: not an RFC 3339 timestamp like 1972-01-01T10:00:20.021Z: "2024-01-01T00:00:00""#)
        reject(
            StartBacktestRequest.self, #"{"startTime": "2024-01-01T00:00:00.1234567891Z"}"#,
            #"start_time: not an RFC 3339 timestamp like 1972-01-01T10:00:20.021Z: "2024-01-01T00:00:00.1234567891Z""#)
        reject(
            StartBacktestRequest.self, #"{"startTime": 1704067200}"#,
            "start_time: expected an RFC 3339 timestamp string, got the number 1704067200")
        reject(
            StartBacktestRequest.self, #"{"equitySampleInterval": "1.5"}"#,
            #"equity_sample_interval: not a duration like "1.5s" or "-0.250s": "1.5""#)
        reject(
            StartBacktestRequest.self, #"{"equitySampleInterval": "315576000001s"}"#,
            #"equity_sample_interval: duration out of range (+-315576000000s): "315576000001s""#)
        reject(
            StartBacktestRequest.self, #"{"initialCapital": 1e400}"#,
            "initial_capital: out of range for a double: 1e400")
        reject(
            StartBacktestRequest.self, #"{"fillMode": "next_open"}"#,
            #"fill_mode: unknown value "next_open" of enum backtest.v1.FillMode"#)
        reject(StartBacktestRequest.self, #"{"symbol": "a", "symbol": "b"}"#, "symbol: set twice")
        reject(ListSessionsRequest.self, #"{"pageSize": -1}"#, "page_size: out of range for uint32: -1")
        reject(ListSessionsRequest.self, #"{"pageSize": 1.5}"#, "page_size: not an integer: 1.5")
        reject(ListSessionsRequest.self, #"{"pageSize": 4294967296}"#, "page_size: out of range for uint32: 4294967296")
        reject(ListSessionsRequest.self, #"{"pageSize": true}"#, "page_size: expected an integer (uint32), got true")
        reject(
            ListSessionsRequest.self, #"{"statuses": [null]}"#,
            "statuses[0]: null is not a valid element of a repeated field")
        reject(
            ListSessionsRequest.self, #"{"statuses": "SESSION_STATUS_FAILED"}"#,
            #"statuses: expected an array, got the string "SESSION_STATUS_FAILED""#)
        reject(
            CandleBatch.self, #"{"timeUs": [0, "9223372036854775808"]}"#,
            #"time_us[1]: out of range for int64: "9223372036854775808""#)
        reject(ProgressEvent.self, #"{"sequence": -1}"#, "sequence: out of range for uint64: -1")
        reject(
            ProgressEvent.self, #"{"equity": NaN}"#,
            "invalid JSON at line 1, column 12: unexpected 'N', expected a value")
        reject(ProgressEvent.self, #"{"equity": "nan"}"#, #"equity: expected a number, got the string "nan""#)
        reject(
            ImportMarketDataRequest.self, #"{"header": {"kind": "DATA_KIND_CANDLES"}, "ticks": {}}"#,
            "ticks: ticks and header are both set; they are members of the oneof payload")
        reject(
            GRPCHealthV1.HealthListResponse.self, #"{"statuses": {"a": {"status": "UP"}}}"#,
            #"statuses["a"].status: unknown value "UP" of enum grpc.health.v1.HealthCheckResponse.ServingStatus"#)
        reject(
            Costs.self, #"{"commissionFixed": 1,}"#,
            "invalid JSON at line 1, column 23: unexpected '}', expected a member name in quotes")
        reject(Costs.self, "{} {}", "invalid JSON at line 1, column 4: unexpected '{' after the JSON value")
        reject(
            GRPCHealthV1.HealthCheckRequest.self, "{\"service\": \"a\u{1}\"}",
            "invalid JSON at line 1, column 15: a control character (U+0001) must be escaped inside a string")
        reject(
            GRPCHealthV1.HealthCheckRequest.self, #"{"service": "\ud834"}"#,
            #"invalid JSON at line 1, column 20: a high surrogate escape \uD834 without its low surrogate"#)
        let answers = try await JSONReference.run(requests)
        for i in requests.indices {
            let input = requests[i]["json"]!.text
            if case .bytes = answers[i] { Issue.record("Python accepts \(input)") }
            #expect(swift[i] == expected[i], "\(input)")
        }
    }

    /// Input Python's json_format lets through and we refuse: a request body that
    /// means something else than it says is better refused with its path.
    @Test func strictWherePythonIsLax() throws {
        func reject<M: ProtoJSONMessage>(_: M.Type, _ text: String, _ expected: String) {
            do {
                let m = try M(jsonString: text)
                Issue.record("\(text) is accepted as \(m)")
            } catch {
                #expect(error is ProtoJSONError)
                #expect("\(error)" == expected, "\(text)")
            }
        }
        // Python reads true as 1.0.
        reject(Costs.self, #"{"commission_rate": true}"#, "commission_rate: expected a number, got true")
        // Python keeps unknown numbers of open enums; Swift's enums are closed.
        reject(
            StartBacktestRequest.self, #"{"fillMode": 7}"#, "fill_mode: undefined number 7 of enum backtest.v1.FillMode"
        )
        // Python takes the last of the JSON name and the proto name.
        reject(
            StopBacktestRequest.self, #"{"sessionId": "a", "session_id": "b"}"#,
            #"session_id: set twice, as "sessionId" and "session_id""#)
        // Python's base64 decoder skips characters outside the alphabet.
        reject(ImportMarketDataRequest.self, #"{"csvChunk": "***"}"#, #"csv_chunk: not base64: "***""#)
        reject(ImportMarketDataRequest.self, #"{"csvChunk": "AA=A"}"#, #"csv_chunk: not base64: "AA=A""#)
        // Python iterates an array as if it were an object.
        reject(Costs.self, "[]", "expected an object (backtest.v1.Costs), got an array")
        // Python accepts spaces, "+" and "inf" in quoted numbers, and lower-case "t" and "z" not.
        reject(Costs.self, #"{"commissionRate": " 1"}"#, #"commission_rate: expected a number, got the string " 1""#)
        reject(Costs.self, #"{"commissionRate": "+1"}"#, #"commission_rate: expected a number, got the string "+1""#)
        reject(Costs.self, #"{"commissionRate": "inf"}"#, #"commission_rate: expected a number, got the string "inf""#)
        reject(
            ProgressEvent.self, #"{"openPositions": "0x10"}"#,
            #"open_positions: expected an integer (uint32), got the string "0x10""#)
        reject(ProgressEvent.self, #"{"kind": "3"}"#, #"kind: unknown value "3" of enum backtest.v1.ProgressEventKind"#)
    }
}
