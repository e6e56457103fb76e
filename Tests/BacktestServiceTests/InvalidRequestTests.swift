import BacktestProto
import Foundation
import RPC
import Testing

/// Every invalid StartBacktest of docs/DESIGN.md section 11: the status and a message
/// naming the field. In process, through the generated client (the JSON cases decode
/// with the contract's proto3 JSON mapping); the wire answers the same statuses
/// (FuzzTests and EndToEndTests call the real daemon through grpcio).
@Suite struct InvalidRequestTests {
    /// `patch` is a JSON object merged into the valid GOOG request; null removes a key.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var patch: String
        var code: String
        var mentions: String
        var description: String { name }

        func apply(_ request: [String: Any]) throws -> [String: Any] {
            var r = request
            let changes = try JSONSerialization.jsonObject(with: Data(patch.utf8)) as? [String: Any] ?? [:]
            for (k, v) in changes { r[k] = v is NSNull ? nil : v }
            return r
        }
    }

    static let rule =
        #"{"strategy": {"rules": {"rules": [{"name": "A", "kind": "RULE_KIND_ENTRY_LONG", "expression": "EXPR"}]}}}"#

    static let cases: [Case] = [
        Case(name: "no symbol", patch: #"{"symbol": null}"#, code: "INVALID_ARGUMENT", mentions: "symbol"),
        Case(name: "no timeframe", patch: #"{"timeframe": null}"#, code: "INVALID_ARGUMENT", mentions: "timeframe"),
        Case(name: "bad timeframe", patch: #"{"timeframe": "7x"}"#, code: "INVALID_ARGUMENT", mentions: "timeframe"),
        Case(name: "no start", patch: #"{"start_time": null}"#, code: "INVALID_ARGUMENT", mentions: "start_time"),
        Case(
            name: "start after end", patch: #"{"start_time": "2014-01-01T00:00:00Z"}"#, code: "INVALID_ARGUMENT",
            mentions: "end_time"),
        Case(
            name: "start equals end", patch: #"{"start_time": "2013-03-02T00:00:00Z"}"#, code: "INVALID_ARGUMENT",
            mentions: "end_time"),
        Case(
            name: "no capital", patch: #"{"initial_capital": null}"#, code: "INVALID_ARGUMENT",
            mentions: "initial_capital"),
        Case(
            name: "negative capital", patch: #"{"initial_capital": -5}"#, code: "INVALID_ARGUMENT",
            mentions: "initial_capital"),
        Case(
            name: "negative factor", patch: #"{"acceleration_factor": -1}"#, code: "INVALID_ARGUMENT",
            mentions: "acceleration_factor"),
        Case(name: "no strategy", patch: #"{"strategy": null}"#, code: "INVALID_ARGUMENT", mentions: "strategy"),
        Case(
            name: "unknown built-in", patch: #"{"strategy": {"builtin": {"name": "moonshot"}}}"#,
            code: "INVALID_ARGUMENT", mentions: "moonshot"),
        Case(
            name: "bad expression", patch: rule.replacingOccurrences(of: "EXPR", with: "close > sma(close, 10"),
            code: "INVALID_ARGUMENT", mentions: "strategy"),
        Case(
            name: "unknown parameter", patch: rule.replacingOccurrences(of: "EXPR", with: "close > $nope"),
            code: "INVALID_ARGUMENT", mentions: "nope"),
        Case(
            name: "rule without kind",
            patch: #"{"strategy": {"rules": {"rules": [{"name": "A", "expression": "close > open"}]}}}"#,
            code: "INVALID_ARGUMENT", mentions: "strategy.rules.rules[0].kind"),
        Case(
            name: "fraction over 1", patch: #"{"sizing": {"mode": "SIZING_MODE_EQUITY_FRACTION", "value": 2}}"#,
            code: "INVALID_ARGUMENT", mentions: "sizing.value"),
        Case(
            name: "negative commission", patch: #"{"costs": {"commission_rate": -0.1}}"#, code: "INVALID_ARGUMENT",
            mentions: "costs.commission_rate"),
        Case(
            name: "long request id", patch: "{\"client_request_id\": \"\(String(repeating: "x", count: 129))\"}",
            code: "INVALID_ARGUMENT", mentions: "client_request_id"),
        Case(name: "unknown symbol", patch: #"{"symbol": "NOPE"}"#, code: "FAILED_PRECONDITION", mentions: "NOPE"),
        Case(
            name: "range without data",
            patch: #"{"start_time": "1990-01-01T00:00:00Z", "end_time": "1991-01-01T00:00:00Z"}"#,
            code: "FAILED_PRECONDITION", mentions: "GOOG"),
        Case(name: "timeframe not stored", patch: #"{"timeframe": "1h"}"#, code: "FAILED_PRECONDITION", mentions: "1h"),
        Case(
            name: "ticks not stored", patch: #"{"timeframe": "tick"}"#, code: "FAILED_PRECONDITION", mentions: "ticks"),
    ]

    /// The status's canonical name, as the cases (and gRPC tools) spell it.
    static func code(_ e: RPCError?) -> String { e.map { "\($0.code)" } ?? "OK" }

    @Test(arguments: cases)
    func refused(_ c: Case) async throws {
        let server = try await SharedInProcessServer.shared.get()
        let json = try JSONSerialization.data(withJSONObject: try c.apply(Fixtures.googRequest()))
        let request = try StartBacktestRequest(jsonUTF8: [UInt8](json))
        let error = await InProcessServer.status { try await server.client.startBacktest(request) }
        #expect(Self.code(error) == c.code, "\(c.name): \(String(describing: error))")
        #expect(error?.message.contains(c.mentions) == true, "\(c.name): \(error?.message ?? "")")
    }

    @Test func nothingWasStoredByRefusedRequests() async throws {
        let server = try await SharedInProcessServer.shared.get()
        let r = try await server.client.listSessions(ListSessionsRequest(symbol: "NOPE"))
        #expect(r.sessions.isEmpty)
    }

    /// DeleteSession's bad inputs (docs/DESIGN.md section 11.3).
    @Test(arguments: [
        ("", "INVALID_ARGUMENT", "session_id: required"),
        (String(repeating: "x", count: 129), "INVALID_ARGUMENT", "session_id: longer than 128 bytes"),
        ("no-such-session", "NOT_FOUND", "session_id: no session \"no-such-session\""),
    ])
    func deleteRefuses(_ id: String, _ code: String, _ message: String) async throws {
        let server = try await SharedInProcessServer.shared.get()
        let error = await InProcessServer.status {
            try await server.client.deleteSession(DeleteSessionRequest(sessionID: id))
        }
        #expect(Self.code(error) == code && error?.message == message, "\(String(describing: error))")
        // allow_missing forgives an unknown id, never a malformed one.
        let lenient = await InProcessServer.status {
            try await server.client.deleteSession(DeleteSessionRequest(sessionID: id, allowMissing: true))
        }
        #expect(Self.code(lenient) == (code == "NOT_FOUND" ? "OK" : code), "\(String(describing: lenient))")
    }

    @Test func badImportsNameTheLineAndStoreNothing() async throws {
        let server = try await SharedInProcessServer.shared.get()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try "time,open,high,low,close,volume\n1700000000,1,2,0.5,1.5,10\n1700000060,1,2,0.5,oops,10\n".write(
            to: url, atomically: true, encoding: .utf8)
        let header = ImportHeader(symbol: "BAD", kind: .candles, timeframe: "1m", format: .csv, sourceName: "bad.csv")
        let error = await InProcessServer.status { try await server.importCSV(url.path, header) }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
        #expect(
            error?.message.contains("bad.csv") == true && error?.message.contains("3") == true,
            "names the file and line")
        let data = try await server.client.listMarketData(ListMarketDataRequest(symbol: "BAD"))
        #expect(data.series.isEmpty, "all or nothing")
        let noHeader = await InProcessServer.status {
            try await server.importCSV(url.path, ImportHeader(symbol: "", kind: .candles))
        }
        #expect(noHeader?.code == .invalidArgument && noHeader?.message.contains("symbol") == true)
    }
}
