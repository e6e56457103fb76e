import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A detached tmux session on a private tmux server: a real terminal (a pty) for the
/// CLI, whose screen the test reads with capture-pane.
final class Tmux: @unchecked Sendable {
    let socket = "cli-test-\(UUID().uuidString.prefix(8))"
    let name = "t"

    /// Starts `command` (a shell command line) in a `width` x `height` window. The shell
    /// stays after the command, printing its exit code, so the screen can be read.
    init(command: String, width: Int = 160, height: Int = 60) throws {
        let line = "\(command); echo \"EXIT=$?\"; sleep 300"
        let r = try tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), line])
        guard r.status == 0 else { throw CLIProcess.Failure("tmux new-session: \(r)") }
    }

    /// The visible screen, without escape codes (with `escapes`, with the colours).
    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p"] + (escapes ? ["-e"] : []) + ["-t", name]).stdout
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
        let dir = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        unlink("\(dir)/tmux-\(getuid())/\(socket)")
    }

    /// Runs tmux with posix_spawn and waitpid. Not Foundation's Process: it learns of
    /// a child's exit from a descriptor the child inherits, and the tmux server that
    /// `new-session` forks keeps that descriptor, so the wait would never end.
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> CLIProcess.Result {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)")
        let outPath = base.path + ".out", errPath = base.path + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        let argv =
            [
                "/bin/sh", "-c", "exec \"$0\" \"$@\" >\"$OUTFILE\" 2>\"$ERRFILE\" </dev/null", "/usr/bin/tmux",
                "-L", socket, "-f", "/dev/null",
            ] + arguments
        var env = ProcessInfo.processInfo.environment
        env["OUTFILE"] = outPath
        env["ERRFILE"] = errPath
        env["TMUX"] = nil
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0)=\($1)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        // The tmux server lives on after this call: it gets a clean signal state (a
        // test thread's blocked signals would make it and its panes deaf to SIGHUP,
        // and kill-server would leave them running).
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", nil, &attr, cArgs, cEnv)
        guard spawned == 0 else { throw CLIProcess.Failure("posix_spawn tmux: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return CLIProcess.Result(status: (status >> 8) & 0xFF, stdout: out, stderr: err)
    }
}
