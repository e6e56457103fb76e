import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waiting for a child process without trusting Foundation alone: its Process now and
/// then misses a child's exit when many run at once (the child stays a zombie and
/// `waitUntilExit` never returns). This polls Foundation's view and the kernel's
/// (`/proc`), and reaps a zombie Foundation has left. Call it off Swift's pool.
public enum ProcessExit {
    /// The exit status (or the terminating signal); `killAfter` sends SIGKILL to a
    /// child still running then.
    public static func wait(_ process: Process, killAfter: TimeInterval = .infinity) -> Int32 {
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(killAfter)
        var zombieSince: Date?
        while true {
            if !process.isRunning { return process.terminationStatus }
            if isZombie(pid) {
                let since = zombieSince ?? Date()
                zombieSince = since
                var status: Int32 = 0
                if Date().timeIntervalSince(since) > 1, waitpid(pid, &status, WNOHANG) == pid {
                    // WIFEXITED / WEXITSTATUS, else WTERMSIG (the C macros are not imported).
                    return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
                }
            }
            if Date() > deadline { kill(pid, SIGKILL) }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
