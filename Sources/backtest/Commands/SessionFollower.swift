import BacktestProto

#if canImport(Glibc)
    import Glibc
#endif

/// Follows a session's WatchProgress stream to its terminal event, for `watch` and
/// `start --watch`: a live bar on a terminal, JSON lines with --json, and otherwise
/// (a pipe, a log) only the terminal event's line. Then the final statistics.
enum SessionFollower {
    /// Returns the exit code for the session's end: 0 completed, 2 failed, 3 stopped.
    static func follow(_ id: String, client: BacktestClient, out: OutputContext, minInterval: ProtoDuration?)
        async throws -> Int32
    {
        var terminal = out.terminal
        var last: ProgressEvent?
        var drawn = false
        if out.live { installInterruptHandler() }
        try await client.service.watchProgress(WatchProgressRequest(sessionID: id, minInterval: minInterval)) { event in
            last = event
            if out.json {
                try out.emit(event)
            } else if out.live {
                terminal.refreshWidth(environment: [:])
                Console.redraw(ProgressBar.line(event, width: terminal.width - 1, style: out.style))
                drawn = true
            }
        }
        if drawn { Console.line() }
        guard let last, last.kind == .terminal else {
            throw CLIError("the progress stream of \(id) ended before the session did")
        }
        if !out.json {
            Console.line(SessionView.terminalLine(last, style: out.style))
            if last.status == .completed, let statistics = last.statistics {
                Console.line()
                Console.line(SessionView.statistics(statistics, style: out.style))
            }
        }
        return ExitCodes.forSession(last.status)
    }

    /// Ctrl-C ends the watch (not the session) on a fresh line, so the shell's prompt
    /// does not land on the progress bar.
    static func installInterruptHandler() {
        signal(SIGINT) { _ in
            var newline: UInt8 = 10
            _ = write(STDOUT_FILENO, &newline, 1)
            _exit(ExitCodes.interrupted)
        }
    }
}
