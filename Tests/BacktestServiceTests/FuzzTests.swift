import Foundation
import TestSupport
import Testing

/// Thousands of random, mostly absurd requests (and valid ones with a field or two made
/// odd) through grpcio: every one gets a status a client can act on, every refusal
/// names its field, and the server is still there at the end.
@Suite struct FuzzTests {
    static let allowed: Set<String> = [
        "OK", "INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "ALREADY_EXISTS", "RESOURCE_EXHAUSTED",
    ]

    @Test(arguments: [1, 2])
    func randomRequestsGetClearStatuses(seed: Int) async throws {
        let daemon = try await DaemonProcess(arguments: ["--max-running", "2", "--max-queued", "16"])
        defer { daemon.terminate() }
        let client = PyClient(port: daemon.port)
        #expect(try await client.importCSV(Fixtures.googCSV, header: Fixtures.googHeader).code == "OK")
        let r = try await client.run(["fuzz", "1500", String(seed)])
        #expect(r.code == "OK", "\(r)")
        let codes = r["codes"] as? [String: Int] ?? [:]
        #expect(Set(codes.keys).isSubset(of: Self.allowed), "\(codes)")
        #expect(codes.values.reduce(0, +) == 1500)
        #expect((r["started"] as? Int ?? 0) > 0, "some requests were valid enough to run")
        let messages = r["invalid_argument_messages"] as? [String] ?? []
        let field = try Regex(#"^[a-z_]+(\.[a-z_]+|\[\d+\]|\["[^"]*"\])*: "#)
        for m in messages {
            #expect(m.firstMatch(of: field) != nil, "a refusal that names no field: \(m)")
        }
        #expect(try await client.call("ListActive").code == "OK")
        #expect(daemon.process.isRunning)
    }
}
