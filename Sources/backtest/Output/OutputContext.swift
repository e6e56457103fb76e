import BacktestProto

/// How a command prints: JSON for scripts, or text for people, live on a terminal
/// and plain when piped.
struct OutputContext {
    var json: Bool
    var terminal: Terminal

    var style: Style { terminal.style }
    /// Live redrawn lines only for people at a terminal.
    var live: Bool { terminal.isTTY && !json }

    /// `--json` is the canonical proto3 JSON of the messages, with the fields at their
    /// default written too, so a script finds every field of a message (0, "", [])
    /// rather than a missing key; unset messages are left out.
    static let jsonOptions = ProtoJSONEncodingOptions(alwaysPrintFieldsWithNoPresence: true)

    /// One message as one line of JSON.
    static func jsonLine<M: ProtoJSONMessage>(_ message: M) throws -> String {
        do {
            return try message.jsonString(options: jsonOptions)
        } catch {
            // Only a Timestamp or Duration out of its range has no JSON form.
            throw CLIError("the server's \(M.protoName) has no JSON form: \(error)")
        }
    }

    func emit<M: ProtoJSONMessage>(_ message: M) throws { Console.line(try Self.jsonLine(message)) }

    /// Errors go to stderr: `backtest: NOT_FOUND: session x not found`, and with
    /// --json also as an object scripts can parse.
    func reportError(code: String, grpcCode: Int?, message: String) {
        if json {
            var fields = [JSONValue.Member("code", .string(code))]
            if let grpcCode { fields.append(JSONValue.Member("grpc_code", JSONValue(grpcCode))) }
            fields.append(JSONValue.Member("message", .string(message)))
            Console.err(JSONValue.object([JSONValue.Member("error", .object(fields))]).text)
        } else {
            let stderrStyle = Style(enabled: terminal.colors && Terminal.stderrIsTTY)
            Console.err(stderrStyle.paint("backtest: ", .red) + (grpcCode == nil ? message : "\(code): \(message)"))
        }
    }
}
