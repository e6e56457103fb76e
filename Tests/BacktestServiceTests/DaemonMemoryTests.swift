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
