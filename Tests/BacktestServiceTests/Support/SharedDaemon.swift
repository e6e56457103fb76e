import Foundation
import TestSupport

/// One daemon with the GOOG sample imported, shared by the tests that need nothing
/// special of the server.
actor SharedDaemon {
    static let shared = SharedDaemon()
    private var started: (DaemonProcess, PyClient)?

    func get() async throws -> (DaemonProcess, PyClient) {
        if let started { return started }
        let daemon = try await DaemonProcess(arguments: ["--max-running", "4"])
        let client = PyClient(port: daemon.port)
        let imported = try await client.importCSV(Fixtures.googCSV, header: Fixtures.googHeader)
        guard imported.code == "OK" else { throw DaemonProcess.Failure(description: "GOOG import failed: \(imported)") }
        started = (daemon, client)
        return (daemon, client)
    }
}

extension PyClient {
    /// Starts a session and returns its id (the test fails through the thrown error).
    func start(_ request: [String: Any]) async throws -> String {
        let r = try await call("StartBacktest", request)
        guard r.code == "OK", let id = r.response["session_id"] as? String else {
            throw ClientError(message: "StartBacktest failed: \(r)")
        }
        return id
    }

    func session(_ id: String) async throws -> [String: Any] {
        let r = try await call("GetSession", ["session_id": id])
        return r.response["session"] as? [String: Any] ?? [:]
    }

    /// Polls GetSession until the status is one of `statuses`.
    func waitFor(_ id: String, _ statuses: Set<String>, timeout: Duration = .seconds(60)) async throws -> [String: Any]
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let s = try await session(id)
            if let status = s["status"] as? String, statuses.contains(status) { return s }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ClientError(message: "session \(id) did not reach \(statuses)")
    }
}
