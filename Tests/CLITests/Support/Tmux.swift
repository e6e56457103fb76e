import Foundation

/// A detached tmux session on a private tmux server: a real terminal (a pty) for the
/// CLI, whose screen the test reads with capture-pane.
final class Tmux: @unchecked Sendable {
    let socket = "cli-test-\(UUID().uuidString.prefix(8))"
    let name = "t"

    /// Starts `command` (a shell command line) in a `width` x `height` window. The shell
    /// stays after the command, printing its exit code, so the screen can be read.
    init(command: String, width: Int = 160, height: Int = 60) throws {
        let line = "\(command); echo \"EXIT=$?\"; sleep 600"
        let r = try tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), line])
        guard r.status == 0 else { throw CLIProcess.Failure("tmux new-session: \(r)") }
    }

    /// The visible screen, without escape codes.
    func capture() throws -> String {
        try tmux(["capture-pane", "-p", "-t", name]).stdout
    }

    /// Polls the screen until `done` holds (or the timeout passes) and returns it.
    func waitFor(timeout: Duration = .seconds(60), _ done: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var screen = try capture()
        while !done(screen), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            screen = try capture()
        }
        return screen
    }

    func close() {
        _ = try? tmux(["kill-server"])
    }

    @discardableResult
    private func tmux(_ arguments: [String]) throws -> CLIProcess.Result {
        try CLIProcess.runBlocking("/usr/bin/tmux", ["-L", socket, "-f", "/dev/null"] + arguments, environment: [:])
    }
}
