import Foundation
import TestSupport
import Testing

/// Peak memory of a daemon of its own under abuse: in the test process, suites running
/// alongside move the peak as much as a server does, so the bound would be either
/// loose or flaky there.
@Suite struct DaemonMemoryTests {
    /// HPACK amplification (issue 16, item 3): ~150 KiB on the wire that decode to
    /// ~550 MiB of header fields. Fields past the 16 KiB list limit are counted, never
    /// kept (kept, they took the peak up by 577 MiB).
    @Test func headerListBombTakesBoundedMemory() async throws {
        let daemon = try await DaemonProcess()
        defer { Task { await daemon.stop() } }
        let memory = ProcessMemory(pid: daemon.process.processIdentifier)
        let before = try memory.resetPeak()
        let (r, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_limits.py",
            [String(daemon.port), "header_bomb", "/grpc.health.v1.Health/Check"])
        let grown = try memory.peakBytes() - before
        #expect((r["decoded_bytes"] as? Int ?? 0) > 500 << 20, "\(out.text)")
        #expect(r["status1"] as? String == "8", "RESOURCE_EXHAUSTED on the stream: \(r)")
        #expect(r["status3"] as? String == "0", "the same connection serves the next call: \(r)")
        #expect(grown < 48 << 20, "peak RSS grew by \(grown >> 20) MiB")
    }
}

extension DaemonMemoryTests {
    /// Clients that ask for an equity curve in big chunks and never read it (issue 16,
    /// item 4): bulk handlers wait for the client before reading and encoding each
    /// chunk, so the daemon holds a connection's send budget (4 MiB) and a chunk or
    /// two, not a chunk per stream (which took it to 1 GB a connection). Another
    /// client's Health/Check is answered throughout.
    @Test func clientsThatDoNotReadTakeBoundedMemory() async throws {
        let daemon = try await DaemonProcess()
        defer { Task { await daemon.stop() } }
        let client = PyClient(port: daemon.port)
        let start = 1_577_836_800
        let csv = try Fixtures.minuteBarsCSV(count: 100_000, start: start)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let header: [String: Any] = [
            "symbol": "BULK", "kind": "DATA_KIND_CANDLES", "timeframe": "1m", "format": "IMPORT_FORMAT_CSV",
        ]
        let imported = try await client.importCSV(csv, header: header)
        #expect(imported.code == "OK", "\(imported)")
        let id = try await client.start([
            "symbol": "BULK", "timeframe": "1m", "initial_capital": 10000,
            "start_time": "2020-01-01T00:00:00Z", "end_time": "2020-03-11T00:00:00Z",
            "strategy": ["builtin": ["name": "sma_cross", "params": ["n1": 10, "n2": 30]]],
        ])
        _ = try await client.waitFor(id, ["SESSION_STATUS_COMPLETED"])

        // GetEquityCurveRequest{session_id: id, chunk_size: 50000}: two ~2.5 MB messages.
        let request = [0x0A, UInt8(id.utf8.count)] + Array(id.utf8) + [0x20, 0xD0, 0x86, 0x03]
        let hex = request.map { String(format: "%02x", $0) }.joined()
        let memory = ProcessMemory(pid: daemon.process.processIdentifier)
        let before = try memory.resetPeak()
        let (r, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_limits.py",
            [
                String(daemon.port), "stalled_readers", "2", "100", "/backtest.v1.BacktestService/GetEquityCurve",
                hex, "3", "/grpc.health.v1.Health/Check",
            ])
        let grown = try memory.peakBytes() - before
        let probes = r["probes"] as? [String?] ?? []
        #expect(!probes.isEmpty && probes.allSatisfy { $0 == "0" }, "Health/Check meanwhile: \(out.text)")
        #expect(r["closed"] as? Int == 0, "\(r)")
        #expect(grown < 128 << 20, "peak RSS grew by \(grown >> 20) MiB; slowest probe \(r["slowest_probe"] ?? "?") s")
        // The held calls were let go with their connections: the daemon serves in full.
        let curve = try await client.call(
            "GetEquityCurve", ["session_id": id, "chunk_size": 50000, "end_time": "2020-01-01T01:00:00Z"])
        #expect(curve.code == "OK", "\(curve)")
    }
}
