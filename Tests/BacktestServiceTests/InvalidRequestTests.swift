import Foundation
import Testing

/// Every invalid StartBacktest of docs/DESIGN.md section 11, through the wire: the status and
/// a message naming the field.
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

    @Test(arguments: cases)
    func refused(_ c: Case) async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let r = try await client.call("StartBacktest", try c.apply(Fixtures.googRequest()))
        #expect(r.code == c.code, "\(c.name): \(r)")
        #expect(r.details.contains(c.mentions), "\(c.name): \(r.details)")
    }

    @Test func nothingWasStoredByRefusedRequests() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let r = try await client.call("ListSessions", ["symbol": "NOPE"])
        #expect(r.code == "OK")
        #expect((r.response["sessions"] as? [Any] ?? []).isEmpty)
    }

    @Test func badImportsNameTheLineAndStoreNothing() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try "time,open,high,low,close,volume\n1700000000,1,2,0.5,1.5,10\n1700000060,1,2,0.5,oops,10\n".write(
            to: url, atomically: true, encoding: .utf8)
        let header: [String: Any] = [
            "symbol": "BAD", "kind": "DATA_KIND_CANDLES", "timeframe": "1m", "format": "IMPORT_FORMAT_CSV",
            "source_name": "bad.csv",
        ]
        let r = try await client.importCSV(url.path, header: header)
        #expect(r.code == "INVALID_ARGUMENT", "\(r)")
        #expect(r.details.contains("bad.csv") && r.details.contains("3"), "names the file and line: \(r.details)")
        let data = try await client.call("ListMarketData", ["symbol": "BAD"])
        #expect((data.response["series"] as? [Any] ?? []).isEmpty, "all or nothing")
        let noHeader = try await client.importCSV(url.path, header: ["symbol": "", "kind": "DATA_KIND_CANDLES"])
        #expect(noHeader.code == "INVALID_ARGUMENT" && noHeader.details.contains("symbol"), "\(noHeader)")
    }
}
