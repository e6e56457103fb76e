import Foundation
import TestSupport
import Testing

/// DeleteSweep through the real `backtestd` and grpcio (Clients/backtest_client.py):
/// the sweep as it was, then nothing of it nor of the sessions it stored (unless they
/// are kept); every bad input answered with its status and a message naming the field,
/// nothing stored lost.
@Suite struct SweepDeleteEndToEndTests {
    /// SMA crossover, n1 in 5..10, n2 in 15..25 step 5, n1 < n2: 18 combinations, the
    /// best two kept in full.
    static func smallSweep(n1: ClosedRange<Double> = 5...10, n2: ClosedRange<Double> = 15...25, n2Step: Double = 5)
        -> [String: Any]
    {
        [
            "backtest": Fixtures.googRequest(),
            "axes": [
                ["name": "n1", "range": ["start": n1.lowerBound, "stop": n1.upperBound, "step": 1]],
                ["name": "n2", "range": ["start": n2.lowerBound, "stop": n2.upperBound, "step": n2Step]],
            ],
            "constraints": ["n1 < n2"], "top_k": 2,
        ]
    }

    static func start(_ client: PyClient, _ request: [String: Any]) async throws -> String {
        let r = try await client.call("StartSweep", request)
        guard r.code == "OK", let id = r.response["sweep_id"] as? String else {
            throw PyClient.ClientError(message: "StartSweep failed: \(r)")
        }
        return id
    }

    /// Polls GetSweep until the status is one of `statuses`; returns the response.
    static func waitFor(_ client: PyClient, _ id: String, _ statuses: Set<String>) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let r = try await client.call("GetSweep", ["sweep_id": id])
            let sweep = r.response["sweep"] as? [String: Any]
            if let status = sweep?["status"] as? String, statuses.contains(status) { return r.response }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PyClient.ClientError(message: "sweep \(id) did not reach \(statuses)")
    }

    static func sessionIds(_ response: [String: Any]) -> [String] {
        (response["results"] as? [[String: Any]] ?? []).compactMap { $0["session_id"] as? String }.filter {
            !$0.isEmpty
        }
    }

    @Test func deleteSweepOverTheWire() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let id = try await Self.start(client, Self.smallSweep())
        let shown = try await Self.waitFor(client, id, ["SESSION_STATUS_COMPLETED"])
        let best = Self.sessionIds(shown)
        #expect(best.count == 2, "\(shown)")

        let deleted = try await client.call("DeleteSweep", ["sweep_id": id])
        #expect(deleted.code == "OK", "\(deleted)")
        let sweep = deleted.response["sweep"] as? [String: Any]
        #expect(sweep?["sweep_id"] as? String == id && sweep?["status"] as? String == "SESSION_STATUS_COMPLETED")
        #expect(sweep?["done"] as? String == "18")
        #expect(Set(deleted.response["deleted_session_ids"] as? [String] ?? []) == Set(best))

        for method in ["GetSweep", "StopSweep", "DeleteSweep"] {
            let r = try await client.call(method, ["sweep_id": id])
            #expect(r.code == "NOT_FOUND" && r.details == "sweep_id: no sweep \"\(id)\"", "\(method): \(r)")
        }
        let watch = try await client.call("WatchSweep", ["sweep_id": id])
        #expect(watch.code == "NOT_FOUND", "\(watch)")
        let listed = try await client.call("ListSweeps", ["page_size": 1000])
        #expect(!(listed.response["sweeps"] as? [[String: Any]] ?? []).contains { $0["sweep_id"] as? String == id })
        for session in best {
            for method in ["GetSession", "GetTrades", "GetEquityCurve"] {
                let r = try await client.call(method, ["session_id": session])
                #expect(r.code == "NOT_FOUND", "\(method) \(session): \(r)")
            }
        }
        let lenient = try await client.call("DeleteSweep", ["sweep_id": id, "allow_missing": true])
        #expect(lenient.code == "OK" && lenient.response["sweep"] == nil, "\(lenient)")
        #expect((lenient.response["deleted_session_ids"] as? [String])?.isEmpty == true)
    }

    @Test func keepSessionsKeepsThemWhole() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let id = try await Self.start(client, Self.smallSweep())
        let best = Self.sessionIds(try await Self.waitFor(client, id, ["SESSION_STATUS_COMPLETED"]))
        var trades: [String: Int] = [:]
        for s in best { trades[s] = try await client.call("GetTrades", ["session_id": s]).responses.count }

        let deleted = try await client.call("DeleteSweep", ["sweep_id": id, "keep_sessions": true])
        #expect(deleted.code == "OK", "\(deleted)")
        #expect((deleted.response["deleted_session_ids"] as? [String])?.isEmpty == true, "\(deleted)")
        #expect(try await client.call("GetSweep", ["sweep_id": id]).code == "NOT_FOUND")
        // Labels included: ListSessions still finds them by their sweep.
        let labelled = try await client.call("ListSessions", ["labels": ["sweep": id]])
        let found = (labelled.response["sessions"] as? [[String: Any]] ?? []).compactMap { $0["session_id"] as? String }
        #expect(Set(found) == Set(best), "\(labelled)")
        for s in best {
            let r = try await client.call("GetTrades", ["session_id": s])
            #expect(r.code == "OK" && r.responses.count == trades[s], "\(r)")
            #expect(try await client.call("DeleteSession", ["session_id": s]).code == "OK")
        }
    }

    /// A best session deleted on its own: GetSweep then shows its row without one.
    @Test func aRowWhoseSessionWasDeletedShowsNone() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let id = try await Self.start(client, Self.smallSweep())
        let best = Self.sessionIds(try await Self.waitFor(client, id, ["SESSION_STATUS_COMPLETED"]))
        #expect(try await client.call("DeleteSession", ["session_id": best[0]]).code == "OK")
        let after = try await client.call("GetSweep", ["sweep_id": id])
        #expect(Self.sessionIds(after.response) == [best[1]], "\(after)")
        let deleted = try await client.call("DeleteSweep", ["sweep_id": id])
        #expect(deleted.response["deleted_session_ids"] as? [String] == [best[1]], "\(deleted)")
    }

    /// Every bad input: its status, a message naming the field, and nothing lost.
    @Test func badInputsAreRefusedNamingTheField() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        let long = String(repeating: "x", count: 129)
        let cases: [([String: Any], String, String)] = [
            ([:], "INVALID_ARGUMENT", "sweep_id: required"),
            (["sweep_id": "", "allow_missing": true], "INVALID_ARGUMENT", "sweep_id: required"),
            (["sweep_id": long], "INVALID_ARGUMENT", "sweep_id: longer than 128 bytes"),
            (["sweep_id": long, "allow_missing": true], "INVALID_ARGUMENT", "sweep_id: longer than 128 bytes"),
            (["sweep_id": "no-such-sweep"], "NOT_FOUND", "sweep_id: no sweep \"no-such-sweep\""),
            (
                ["sweep_id": "no-such-sweep", "keep_sessions": true], "NOT_FOUND",
                "sweep_id: no sweep \"no-such-sweep\""
            ),
        ]
        for (request, code, message) in cases {
            let r = try await client.call("DeleteSweep", request)
            #expect(r.code == code && r.details == message, "\(request): \(r)")
        }

        // Live sweeps: a running one (about 135,000 combinations: it runs until stopped)
        // and one waiting behind it (one sweep runs at a time).
        let running = try await Self.start(client, Self.smallSweep(n1: 1...300, n2: 1...600, n2Step: 1))
        let waiting = try await Self.start(client, Self.smallSweep())
        _ = try await Self.waitFor(client, running, ["SESSION_STATUS_RUNNING"])
        for (id, state) in [(running, "running"), (waiting, "started")] {
            for request: [String: Any] in [["sweep_id": id], ["sweep_id": id, "allow_missing": true]] {
                let r = try await client.call("DeleteSweep", request)
                #expect(r.code == "FAILED_PRECONDITION", "\(r)")
                #expect(
                    r.details == "sweep_id: sweep \"\(id)\" is \(state): stop it first (StopSweep), then delete it",
                    "\(r)")
            }
        }
        let still = try await client.call("GetSweep", ["sweep_id": running])
        #expect((still.response["sweep"] as? [String: Any])?["status"] as? String == "SESSION_STATUS_RUNNING")
        for id in [waiting, running] {
            #expect(try await client.call("StopSweep", ["sweep_id": id]).code == "OK")
            let r = try await client.call("DeleteSweep", ["sweep_id": id])
            #expect(r.code == "OK", "\(r)")
            #expect((r.response["sweep"] as? [String: Any])?["status"] as? String == "SESSION_STATUS_STOPPED")
        }
        // The server is still there.
        #expect(try await client.call("ListSweeps").code == "OK")
    }
}
