/// How a command prints: JSON for scripts, or text for people, live on a terminal
/// and plain when piped.
struct OutputContext {
    var json: Bool
    var terminal: Terminal

    var style: Style { terminal.style }
    /// Live redrawn lines only for people at a terminal.
    var live: Bool { terminal.isTTY && !json }

    func emit(_ value: JSON) { Console.line(value.render()) }

    /// Errors go to stderr: `backtest: NOT_FOUND: session x not found`, and with
    /// --json also as an object scripts can parse.
    func reportError(code: String, grpcCode: Int?, message: String) {
        if json {
            var fields: [(String, JSON)] = [("code", .string(code))]
            if let grpcCode { fields.append(("grpc_code", .int(Int64(grpcCode)))) }
            fields.append(("message", .string(message)))
            Console.err(JSON.object([("error", .object(fields))]).render())
        } else {
            let stderrStyle = Style(enabled: terminal.colors && Terminal.stderrIsTTY)
            Console.err(stderrStyle.paint("backtest: ", .red) + (grpcCode == nil ? message : "\(code): \(message)"))
        }
    }
}
