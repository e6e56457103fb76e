import BacktestProto

/// Follows a sweep's WatchSweep stream to its terminal event, for `sweep --watch`: a
/// live bar on a terminal, JSON lines with --json, otherwise only the end's line.
enum SweepFollower {
    static func follow(
        _ id: String, objective: String, client: BacktestClient, out: OutputContext, minInterval: ProtoDuration?
    ) async throws -> SweepProgressEvent {
        var terminal = out.terminal
        var last: SweepProgressEvent?
        var drawn = false
        if out.live { SessionFollower.installInterruptHandler() }
        try await client.service.watchSweep(WatchSweepRequest(sweepID: id, minInterval: minInterval)) { event in
            last = event
            if out.json {
                try out.emit(event)
            } else if out.live {
                terminal.refreshWidth(environment: [:])
                Console.redraw(
                    SweepView.progressLine(event, objective: objective, width: terminal.width - 1, style: out.style))
                drawn = true
            }
        }
        if drawn { Console.line() }
        guard let last, last.kind == .terminal else {
            throw CLIError("the progress stream of sweep \(id) ended before the sweep did")
        }
        if !out.json {
            let kind = last.windows > 0 ? "walk-forward" : "sweep"
            var line = "\(kind) \(id) \(out.style.paint(last.status.name, Style.color(for: last.status.name)))"
            line += ": \(last.done)/\(last.total) " + (last.windows > 0 ? "in-sample runs" : "combinations")
            if last.failed > 0 { line += ", \(last.failed) failed" }
            if !last.stopReason.isEmpty { line += " (\(last.stopReason))" }
            if !last.errorMessage.isEmpty { line += ": " + last.errorMessage }
            Console.line(line)
        }
        return last
    }
}
