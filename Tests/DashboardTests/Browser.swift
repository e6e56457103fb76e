import Foundation
import TestSupport
import Testing

/// Headless Chromium through Selenium, and where the test leaves its screenshots.
enum Browser {
    static let chromium = ProcessInfo.processInfo.environment["CHROMIUM"] ?? "/usr/bin/chromium"
    static let chromedriver = ProcessInfo.processInfo.environment["CHROMEDRIVER"] ?? "/usr/bin/chromedriver"

    /// What is missing for a real browser (Debian's chromium and chromium-driver,
    /// selenium in .venv), or nil when everything is there.
    static let missing: String? = {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: chromium) { missing.append("chromium (\(chromium))") }
        if !FileManager.default.isExecutableFile(atPath: chromedriver) {
            missing.append("chromium-driver (\(chromedriver))")
        }
        let check = try? Subprocess.runBlocking(Subprocess.python, ["-c", "import selenium"])
        if check?.status != 0 { missing.append("selenium in \(Subprocess.python)") }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }()

    static var skipReason: Comment { "needs \(missing ?? "nothing"): tools/setup.sh installs them" }

    /// BACKTEST_ARTIFACTS, or .build/test-artifacts/dashboard in the package.
    static let artifacts: URL = {
        let dir =
            ProcessInfo.processInfo.environment["BACKTEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? Subprocess.packageRoot.appendingPathComponent(".build/test-artifacts")
        return dir.appendingPathComponent("dashboard")
    }()

    /// Runs Clients/dashboard_browser.py in `mode` on `target`; its findings.
    static func run(_ mode: String, _ target: String, environment: [String: String] = [:]) async throws -> (
        json: [String: Any], output: String
    ) {
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/DashboardTests/Clients/dashboard_browser.py", [mode, target, artifacts.path],
            environment: ["CHROMIUM": chromium, "CHROMEDRIVER": chromedriver].merging(environment) { $1 })
        return (json, out.text)
    }
}
