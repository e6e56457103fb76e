import Foundation
import TestSupport
import Testing

/// backtestd serves the dashboard on its RPC port unless told not to (curl, HTTP/1.1).
@Suite struct DaemonSiteTests {
    static func get(_ url: String) async throws -> String {
        let out = try await Subprocess.run("/usr/bin/curl", ["-s", "-i", "--max-time", "60", url])
        #expect(out.status == 0, "\(out.text)")
        return out.text
    }

    @Test func servesTheDashboardByDefault() async throws {
        let daemon = try await DaemonProcess()
        defer { daemon.terminate() }
        let page = try await Self.get("http://\(daemon.server)/")
        #expect(page.hasPrefix("HTTP/1.1 200"), "\(page.prefix(300))")
        #expect(page.lowercased().contains("content-security-policy: default-src 'none'; script-src 'self';"))
        #expect(page.contains("<title>Backtests</title>"))
        let script = try await Self.get("http://\(daemon.server)/dashboard.js")
        #expect(script.lowercased().contains("content-type: text/javascript"))
        let missing = try await Self.get("http://\(daemon.server)/nothing-here")
        #expect(missing.hasPrefix("HTTP/1.1 404"))
    }

    @Test func noDashboardTurnsItOff() async throws {
        let daemon = try await DaemonProcess(arguments: ["--no-dashboard"])
        defer { daemon.terminate() }
        let page = try await Self.get("http://\(daemon.server)/")
        #expect(page.hasPrefix("HTTP/1.1 405"), "\(page.prefix(300))")
    }
}
