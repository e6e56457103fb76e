import Foundation
import TestSupport

/// Calls the real service through grpcio (Clients/backtest_client.py).
struct PyClient {
    let port: Int
    var token: String?
    /// Seconds each call may take (the client's default is 60).
    var timeout: Double?
    static let script = "Tests/BacktestServiceTests/Clients/backtest_client.py"

    init(port: Int, token: String? = nil) {
        self.port = port
        self.token = token
    }

    private var environment: [String: String] {
        var env: [String: String] = [:]
        if let token { env["BACKTEST_TOKEN"] = token }
        if let timeout { env["BACKTEST_TIMEOUT"] = String(timeout) }
        return env
    }

    /// Any RPC with a JSON request (proto3 JSON mapping). `code` is "OK" or a status name.
    func call(_ method: String, _ request: [String: Any] = [:]) async throws -> [String: Any] {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        return try await run(["call", method, body])
    }

    func importCSV(_ path: String, header: [String: Any], chunk: Int = 65536) async throws -> [String: Any] {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: header), as: UTF8.self)
        return try await run(["import", path, body, String(chunk)])
    }

    func run(_ arguments: [String]) async throws -> [String: Any] {
        let (json, out) = try await Subprocess.pythonJSON(
            Self.script, [String(port)] + arguments, environment: environment)
        guard !json.isEmpty else { throw ClientError(message: "no JSON from the client: \(out.text)") }
        return json
    }

    struct ClientError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension Dictionary where Key == String, Value == Any {
    var code: String { self["code"] as? String ?? "?" }
    var details: String { self["details"] as? String ?? "" }
    var response: [String: Any] { self["response"] as? [String: Any] ?? [:] }
    var responses: [[String: Any]] { self["responses"] as? [[String: Any]] ?? [] }
}
