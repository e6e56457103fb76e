import Foundation
import TestSupport
import Testing

/// Every BacktestService RPC as browsers and HTTP/1.1 clients call it: `buf curl` (a
/// full Connect and gRPC-Web client) over plaintext HTTP/1.1, its default for http://
/// URLs, against the real `backtestd`.
@Suite struct BrowserProtocolsTests {
    static let daemon = Task { try await DaemonProcess(arguments: ["--max-running", "4"]) }

    var buf: String { Subprocess.packageRoot.appendingPathComponent(".venv/bin/buf").path }

    /// One call: buf curl's exit code (the gRPC code times 8) and the messages it printed.
    func call(_ protocolName: String, _ method: String, _ request: [String: Any]) async throws -> (
        code: Int32, messages: [[String: Any]], text: String
    ) {
        let port = try await Self.daemon.value.port
        let body = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let out = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", protocolName, "--schema", "proto", "-d", body,
                "http://127.0.0.1:\(port)/backtest.v1.BacktestService/\(method)",
            ])
        return (out.status, Self.jsonValues(out.text), out.text)
    }

    /// The JSON objects of buf curl's output (one per message, pretty-printed, in a row).
    static func jsonValues(_ text: String) -> [[String: Any]] {
        var values: [[String: Any]] = []
        var depth = 0, inString = false, escaped = false
        var start: String.Index?
        for i in text.indices {
            let c = text[i]
            if inString {
                if escaped {
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    inString = false
                }
                continue
            }
            switch c {
            case "\"": inString = true
            case "{":
                if depth == 0 { start = i }
                depth += 1
            case "}":
                depth -= 1
                if depth == 0, let s = start,
                    let object = try? JSONSerialization.jsonObject(with: Data(text[s...i].utf8)) as? [String: Any]
                {
                    values.append(object)
                }
            default: break
            }
        }
        return values
    }

    @Test(arguments: ["connect", "grpcweb"]) func everyRPCOverHTTP1(protocolName: String) async throws {
        let symbol = protocolName == "connect" ? "GOOGC" : "GOOGW"
        // ImportMarketData: a client stream (header, then the CSV), over HTTP/1.1 too.
        let csv = try Data(contentsOf: Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv"))
        let port = try await Self.daemon.value.port
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let header: [String: Any] = [
            "header": [
                "symbol": symbol, "kind": "DATA_KIND_CANDLES", "timeframe": "1d", "format": "IMPORT_FORMAT_CSV",
                "sourceName": "GOOG.csv",
            ]
        ]
        let lines = [header, ["csvChunk": csv.base64EncodedString()]].map {
            String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(
            to: dir.appendingPathComponent("import.json"), atomically: true, encoding: .utf8)
        let imported = try await Subprocess.run(
            buf,
            [
                "curl", "--protocol", protocolName, "--schema", "proto", "-d", "@\(dir.path)/import.json",
                "http://127.0.0.1:\(port)/backtest.v1.BacktestService/ImportMarketData",
            ])
        #expect(
            imported.status == 0 && Self.jsonValues(imported.text).first?["rowsImported"] as? String == "2148",
            "\(imported.text)")
        let data = try await call(protocolName, "ListMarketData", ["symbol": symbol])
        #expect((data.messages.first?["series"] as? [[String: Any]])?.count == 1, "\(data.text)")
        let bars = try await call(protocolName, "GetMarketData", ["symbol": symbol, "timeframe": "1d"])
        #expect(bars.messages.compactMap { $0["candles"] as? [String: Any] }.count == 1, "\(bars.text.prefix(200))")

        let request: [String: Any] = [
            "symbol": symbol, "timeframe": "1d", "startTime": "2004-08-19T00:00:00Z",
            "endTime": "2013-03-02T00:00:00Z", "initialCapital": 10000,
            "strategy": ["builtin": ["name": "sma_cross", "params": ["n1": 10, "n2": 20]]],
        ]
        let started = try await call(protocolName, "StartBacktest", request)
        let id = try #require(started.messages.first?["sessionId"] as? String, "\(started.text)")
        // WatchProgress: a server stream, ending in exactly one terminal event.
        let watched = try await call(protocolName, "WatchProgress", ["sessionId": id, "minInterval": "0.001s"])
        #expect(watched.code == 0, "\(watched.text)")
        let kinds = watched.messages.compactMap { $0["kind"] as? String }
        #expect(
            kinds.first == "PROGRESS_EVENT_KIND_SNAPSHOT" && kinds.last == "PROGRESS_EVENT_KIND_TERMINAL", "\(kinds)")
        #expect(kinds.filter { $0 == "PROGRESS_EVENT_KIND_TERMINAL" }.count == 1)
        #expect(watched.messages.last?["status"] as? String == "SESSION_STATUS_COMPLETED")

        let session = try await call(protocolName, "GetSession", ["sessionId": id])
        let stats = (session.messages.first?["session"] as? [String: Any])?["statistics"] as? [String: Any]
        let tradeCount = Int(stats?["totalTrades"] as? String ?? "")
        #expect(tradeCount != nil && tradeCount! > 0, "\(session.text)")
        let trades = try await call(protocolName, "GetTrades", ["sessionId": id])
        #expect(
            trades.messages.flatMap { $0["trades"] as? [Any] ?? [] }.count == tradeCount, "\(trades.text.prefix(300))")
        let curve = try await call(protocolName, "GetEquityCurve", ["sessionId": id])
        #expect(curve.messages.flatMap { $0["points"] as? [Any] ?? [] }.count == 2148)
        let listed = try await call(protocolName, "ListSessions", ["symbol": symbol])
        #expect((listed.messages.first?["sessions"] as? [[String: Any]])?.first?["sessionId"] as? String == id)
        let active = try await call(protocolName, "ListActive", ["symbol": symbol])
        #expect(active.code == 0 && (active.messages.first?["sessions"] as? [Any] ?? []).isEmpty, "\(active.text)")
        let stopped = try await call(protocolName, "StopBacktest", ["sessionId": id])
        #expect(stopped.messages.first?["alreadyEnded"] as? Bool == true, "\(stopped.text)")

        // Sweeps: started, watched to the end, read, listed, and a stop after the end.
        let sweep = try await call(
            protocolName, "StartSweep",
            [
                "backtest": request,
                "axes": [
                    ["name": "n1", "list": ["values": [5, 10]]],
                    ["name": "n2", "range": ["start": 20, "stop": 30, "step": 10]],
                ],
                "topK": 1,
            ])
        let sweepID = try #require(sweep.messages.first?["sweepId"] as? String, "\(sweep.text)")
        let sweepWatch = try await call(protocolName, "WatchSweep", ["sweepId": sweepID])
        #expect(sweepWatch.messages.last?["status"] as? String == "SESSION_STATUS_COMPLETED", "\(sweepWatch.text)")
        let gotSweep = try await call(protocolName, "GetSweep", ["sweepId": sweepID])
        #expect((gotSweep.messages.first?["results"] as? [Any])?.count == 4, "\(gotSweep.text)")
        let sweeps = try await call(protocolName, "ListSweeps", [:])
        #expect(sweeps.code == 0 && sweeps.text.contains(sweepID))
        let sweepStop = try await call(protocolName, "StopSweep", ["sweepId": sweepID])
        #expect(sweepStop.code == 0, "\(sweepStop.text)")

        // Errors: the status and the message naming the field, as over gRPC.
        let missing = try await call(protocolName, "GetSession", ["sessionId": "nope"])
        #expect(missing.code == 5 * 8 && missing.text.contains("session_id"), "\(missing.text)")
        let deleted = try await call(protocolName, "DeleteSession", ["sessionId": id])
        #expect(
            (deleted.messages.first?["session"] as? [String: Any])?["sessionId"] as? String == id, "\(deleted.text)")
    }
}
