import Foundation
import Testing

@testable import BacktestProto

/// The hand-written JSON runtime under the generated mapping: the writer's text, the
/// parser's strictness, the number forms, and the well-known types' strings.
@Suite struct JSONRuntimeTests {
    @Test func stringsAreEscapedAsRFC8259Requires() {
        var out = ""
        JSONWriter.quote("a\"b\\c/\n\r\t\u{8}\u{C}\u{0}\u{1}\u{1F}\u{7F}é𝄞\u{2028}", into: &out)
        #expect(out == #""a\"b\\c/\n\r\t\b\f\u0000\u0001\u001f"# + "\u{7F}é𝄞\u{2028}\"")
        // And Foundation's parser, an independent one, reads the text back to the string.
        let back = try? JSONSerialization.jsonObject(with: Data("[\(out)]".utf8)) as? [String]
        #expect(back == ["a\"b\\c/\n\r\t\u{8}\u{C}\u{0}\u{1}\u{1F}\u{7F}é𝄞\u{2028}"])
    }

    @Test func doublesAreShortestInECMAScriptForm() throws {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "-0.0"), (1, "1"), (-1.5, "-1.5"), (100, "100"), (0.1, "0.1"), (1e21, "1e+21"),
            (1e20, "100000000000000000000"), (123_456_789_012_345_680, "123456789012345680"), (1e-6, "0.000001"),
            (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (.leastNonzeroMagnitude, "5e-324"),
            (-.greatestFiniteMagnitude, "-1.7976931348623157e+308"),
            (2.5e300, "2.5e+300"), (0.30000000000000004, "0.30000000000000004"),
            (9_007_199_254_740_992, "9007199254740992"),
        ]
        for (d, text) in cases {
            #expect(JSONWriter.number(d) == text, "\(d)")
        }
        #expect(JSONWriter.number(Float(0.1)) == "0.1")
        #expect(JSONWriter.number(-Float.greatestFiniteMagnitude) == "-3.4028235e+38")
        #expect(JSONWriter.number(Float(1e-45)) == "1e-45")
    }

    /// Every double read back from its text is the same double: random bit patterns
    /// over the whole range, subnormals included.
    @Test func doublesRoundTripThroughTheirText() throws {
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        while checked < 20_000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            let text = JSONWriter.number(d)
            #expect(Double(text)?.bitPattern == d.bitPattern, "\(d) -> \(text)")
            #expect(ProtoJSON.isNumberLiteral(text), "\(text)")
            checked += 1
        }
        for _ in 0..<5000 {
            let f = Float(bitPattern: UInt32.random(in: 0...UInt32.max))
            guard f.isFinite else { continue }
            #expect(Float(JSONWriter.number(f))?.bitPattern == f.bitPattern, "\(f)")
        }
    }

    @Test func parserReadsWhatRFC8259Allows() throws {
        let v = try JSONValue(
            parsing: " {\"a\" : [1, -0.5e+3, true, false, null, \"\\u00e9\\ud834\\udd1e\\/\"], \"\": {}, \"a\": 2}\n")
        #expect(
            v
                == .object([
                    JSONValue.Member(
                        "a",
                        .array([.number("1"), .number("-0.5e+3"), .bool(true), .bool(false), .null, .string("é𝄞/")])),
                    JSONValue.Member("", .object([])),
                    JSONValue.Member("a", .number("2")),
                ]))
        #expect(try JSONValue(parsing: "\"x\"") == .string("x"))
        #expect(try JSONValue(parsing: Array("[]".utf8)) == .array([]))
        #expect(v.text == #"{"a":[1,-0.5e+3,true,false,null,"é𝄞/"],"":{},"a":2}"#)
    }

    @Test func parserRefusesWhatRFC8259DoesNot() {
        let cases: [(String, String)] = [
            ("", "line 1, column 1: unexpected end of input, expected a value"),
            ("[1,]", "line 1, column 4: unexpected ']', expected a value"),
            ("{\"a\":1,}", "line 1, column 8: unexpected '}', expected a member name in quotes"),
            ("{'a':1}", "line 1, column 2: unexpected ''', expected a member name in quotes"),
            ("[01]", "line 1, column 3: a number cannot have a leading zero"),
            ("[1.]", "line 1, column 4: a number needs a digit after '.'"),
            ("[.5]", "line 1, column 2: unexpected '.', expected a value"),
            ("[1e]", "line 1, column 4: a number needs a digit in its exponent"),
            ("[+1]", "line 1, column 2: unexpected '+', expected a value"),
            ("[-]", "line 1, column 3: a number needs a digit after '-'"),
            ("[Infinity]", "line 1, column 2: unexpected 'I', expected a value"),
            ("[nul]", "line 1, column 2: unexpected 'n', expected a value"),
            ("[1 2]", "line 1, column 4: unexpected '2', expected ',' or ']'"),
            ("{\"a\" 1}", "line 1, column 6: unexpected '1', expected ':' after a member name"),
            ("\"abc", "line 1, column 1: unterminated string"),
            ("\"\\x\"", "line 1, column 3: an invalid escape \\'x'"),
            ("\"\\u12\"", "line 1, column 4: a \\u escape needs four hex digits"),
            ("\"\\udd1e\"", "line 1, column 8: a lone low surrogate escape \\uDD1E"),
            (
                "\"\\ud834\\u0041\"",
                "line 1, column 14: a high surrogate escape \\uD834 followed by \\u0041, not a low surrogate"
            ),
            ("[1]\n\n  x", "line 3, column 3: unexpected 'x' after the JSON value"),
            ("/* c */ 1", "line 1, column 1: unexpected '/', expected a value"),
        ]
        for (text, reason) in cases {
            #expect(throws: ProtoJSONError("invalid JSON at \(reason)"), "\(text)") { try JSONValue(parsing: text) }
        }
        // Bytes that are not UTF-8 inside a string; a byte-order mark is not whitespace.
        #expect(throws: ProtoJSONError("invalid JSON at line 1, column 1: a string is not valid UTF-8")) {
            try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22])
        }
        #expect(throws: ProtoJSONError.self) { try JSONValue(parsing: [0xEF, 0xBB, 0xBF, 0x31]) }
    }

    @Test func nestingIsLimited() throws {
        let deep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(throws: ProtoJSONError("invalid JSON at line 1, column 101: nested deeper than 100 levels")) {
            try JSONValue(parsing: deep)
        }
        _ = try JSONValue(parsing: String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        // A message nested past the limit fails in the parser, before any decoding recursion.
        #expect(throws: ProtoJSONError("invalid JSON at line 1, column 101: nested deeper than 100 levels")) {
            try StrategySpec(jsonString: deep)
        }
    }

    @Test func integersInEverySpellingThatIsExact() throws {
        let cases: [(String, ProtoJSON.ExactInteger)] = [
            ("0", .value(negative: false, magnitude: 0)), ("-0", .value(negative: true, magnitude: 0)),
            ("12", .value(negative: false, magnitude: 12)), ("1.0", .value(negative: false, magnitude: 1)),
            ("1e3", .value(negative: false, magnitude: 1000)), ("1.5e1", .value(negative: false, magnitude: 15)),
            ("-1500e-2", .value(negative: true, magnitude: 15)), ("0.0e5", .value(negative: false, magnitude: 0)),
            ("18446744073709551615", .value(negative: false, magnitude: .max)), ("18446744073709551616", .tooLarge),
            ("1e20", .tooLarge), ("1.5", .fraction), ("1e-1", .fraction), ("1e-100000000", .fraction),
            ("1e100000000", .tooLarge), ("100e-2", .value(negative: false, magnitude: 1)),
        ]
        for (literal, expected) in cases {
            #expect(ProtoJSON.exactInteger(literal) == expected, "\(literal)")
        }
        #expect(throws: ProtoJSONError("out of range for int64: -9223372036854775809")) {
            try ProtoJSON.int64(.number("-9223372036854775809"))
        }
        #expect(try ProtoJSON.int64(.number("-9223372036854775808")) == .min)
        #expect(try ProtoJSON.int32(.string("-2147483648")) == .min)
        #expect(try ProtoJSON.uint64(.string("-0")) == 0)
    }

    @Test func timestampsAsRFC3339() throws {
        let cases: [(Int64, Int32, String)] = [
            (0, 0, "1970-01-01T00:00:00Z"), (-1, 999_999_999, "1969-12-31T23:59:59.999999999Z"),
            (951_782_400, 0, "2000-02-29T00:00:00Z"), (951_868_799, 10_000_000, "2000-02-29T23:59:59.010Z"),
            (1_709_251_199, 123_000, "2024-02-29T23:59:59.000123Z"), (-62_135_596_800, 0, "0001-01-01T00:00:00Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59Z"), (-2_208_988_800, 0, "1900-01-01T00:00:00Z"),
            (4_107_542_400, 0, "2100-03-01T00:00:00Z"),
        ]
        for (seconds, nanos, text) in cases {
            let ts = ProtoTimestamp(seconds: seconds, nanos: nanos)
            #expect(try ts.protoJSON() == .string(text))
            #expect(try ProtoTimestamp(protoJSON: .string(text)) == ts)
        }
        #expect(
            try ProtoTimestamp(protoJSON: .string("1970-01-01T05:30:00+05:30")) == ProtoTimestamp(seconds: 0, nanos: 0))
        #expect(
            try ProtoTimestamp(protoJSON: .string("1969-12-31T19:00:00.5-05:00"))
                == ProtoTimestamp(seconds: 0, nanos: 500_000_000))
        for bad in [
            "1970-01-01t00:00:00Z", "1970-01-01T00:00:00z", "1970-02-30T00:00:00Z", "1900-02-29T00:00:00Z",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:60Z", "1970-01-01T00:00:00.Z", "1970-01-01 00:00:00Z", "70-01-01T00:00:00Z",
            "1970-01-01T00:00:00+0100",
        ] {
            #expect(throws: ProtoJSONError.self, "\(bad)") { try ProtoTimestamp(protoJSON: .string(bad)) }
        }
        #expect(
            throws: ProtoJSONError(#"timestamp out of range (0001-01-01 to 9999-12-31): "0001-01-01T00:00:00+00:01""#)
        ) {
            try ProtoTimestamp(protoJSON: .string("0001-01-01T00:00:00+00:01"))
        }
        // Out of range cannot be written: the path says which field.
        let event = ProgressEvent(simTime: ProtoTimestamp(seconds: 0, nanos: -1))
        #expect(
            throws: ProtoJSONError(
                "not a valid timestamp (seconds 0, nanos -1): outside 0001-01-01 to 9999-12-31 or nanos outside 0 to 999999999",
                path: ["sim_time"])
        ) { try event.jsonString() }
        let batch = GetEquityCurveResponse(points: [
            EquityPoint(), EquityPoint(time: ProtoTimestamp(seconds: .max, nanos: 0)),
        ])
        #expect((try? batch.jsonString()) == nil)
        do {
            _ = try batch.jsonString()
        } catch let e as ProtoJSONError {
            #expect(e.path == "points[1].time")
        }
    }

    @Test func durationsAsSecondsWithAnS() throws {
        let cases: [(Int64, Int32, String)] = [
            (0, 0, "0s"), (1, 500_000_000, "1.500s"), (-1, -500_000_000, "-1.500s"), (0, -1, "-0.000000001s"),
            (0, 1000, "0.000001s"), (86_400, 0, "86400s"), (-315_576_000_000, -999_999_999, "-315576000000.999999999s"),
        ]
        for (seconds, nanos, text) in cases {
            let d = ProtoDuration(seconds: seconds, nanos: nanos)
            #expect(try d.protoJSON() == .string(text))
            #expect(try ProtoDuration(protoJSON: .string(text)) == d)
        }
        #expect(try ProtoDuration(protoJSON: .string("1.5s")) == ProtoDuration(seconds: 1, nanos: 500_000_000))
        #expect(try ProtoDuration(protoJSON: .string("-0.25s")) == ProtoDuration(seconds: 0, nanos: -250_000_000))
        for bad in [
            "1", "s", "-s", "1.s", ".5s", "+1s", "1.0000000001s", "1e3s", " 1s", "1S", "1.5sec", "9999999999999s",
        ] {
            #expect(throws: ProtoJSONError.self, "\(bad)") { try ProtoDuration(protoJSON: .string(bad)) }
        }
        #expect(throws: ProtoJSONError.self) { try ProtoDuration(seconds: 1, nanos: -1).protoJSON() }
    }

    @Test func enumNamesAndShortNames() throws {
        #expect(SessionStatus.completed.protoValueName == "SESSION_STATUS_COMPLETED")
        #expect(SessionStatus.completed.protoShortName == "COMPLETED")
        #expect(SessionStatus(protoValueName: "SESSION_STATUS_FAILED") == .failed)
        #expect(SessionStatus(protoValueName: "FAILED") == nil)
        #expect(GRPCHealthV1.HealthCheckResponse.ServingStatus.notServing.protoShortName == "NOT_SERVING")
        #expect(GRPCHealthV1.HealthCheckResponse.ServingStatus.protoValuePrefix == "")
        #expect(SizingMode.protoName == "backtest.v1.SizingMode")
        // Every value of every enum maps to its name and back.
        func roundTrip<E: ProtoEnum>(_: E.Type) {
            for e in E.allCases { #expect(E(protoValueName: e.protoValueName) == e) }
            #expect(Set(E.allCases.map(\.protoValueName)).count == E.allCases.count)
        }
        roundTrip(SessionStatus.self)
        roundTrip(FillMode.self)
        roundTrip(SizingMode.self)
        roundTrip(DataKind.self)
        roundTrip(TradeSide.self)
        roundTrip(RuleKind.self)
        roundTrip(ProgressEventKind.self)
        roundTrip(ImportFormat.self)
        roundTrip(GRPCHealthV1.HealthCheckResponse.ServingStatus.self)
    }

    @Test func optionsChangeNamesEnumsAndDefaults() throws {
        let response = StopBacktestResponse(sessionID: "s1", status: .stopped)
        #expect(try response.jsonString() == #"{"sessionId":"s1","status":"SESSION_STATUS_STOPPED"}"#)
        #expect(
            try response.jsonString(options: .init(alwaysPrintFieldsWithNoPresence: true))
                == #"{"sessionId":"s1","status":"SESSION_STATUS_STOPPED","alreadyEnded":false}"#)
        #expect(
            try response.jsonString(options: .init(preservingProtoFieldNames: true, enumsAsIntegers: true))
                == #"{"session_id":"s1","status":5}"#)
        // Unset messages stay out even when defaults are printed; set ones are written even when empty.
        #expect(try GetSessionResponse().jsonString(options: .init(alwaysPrintFieldsWithNoPresence: true)) == "{}")
        #expect(try GetSessionResponse(session: Session()).jsonString() == #"{"session":{}}"#)
        #expect(
            try ListActiveResponse().jsonString(options: .init(alwaysPrintFieldsWithNoPresence: true))
                == #"{"sessions":[]}"#)
    }

    @Test func ignoringUnknownFields() throws {
        let options = ProtoJSONDecodingOptions(ignoreUnknownFields: true)
        let text = #"{"symbol": "X", "future": {"a": [1]}, "fillMode": "FILL_MODE_LATER", "costs": {"tax": 1}}"#
        let request = try StartBacktestRequest(jsonString: text, options: options)
        #expect(request == StartBacktestRequest(symbol: "X", costs: Costs()))
        let statuses = try ListSessionsRequest(
            jsonString: #"{"statuses": ["SESSION_STATUS_RUNNING", "SESSION_STATUS_PAUSED"]}"#, options: options)
        #expect(statuses.statuses == [.running])
        #expect(throws: ProtoJSONError("unknown field of backtest.v1.StartBacktestRequest", path: ["future"])) {
            try StartBacktestRequest(jsonString: text)
        }
    }
}
