import ArgumentParser
import Foundation
import HTTP2Transport
import RPC

/// The options every command takes: where the server is, how to reach it, and how
/// to print.
struct GlobalOptions: ParsableArguments {
    static let defaultServer = "127.0.0.1:50051"

    @Option(help: ArgumentHelp("The server (env BACKTEST_SERVER; default \(defaultServer)).", valueName: "host:port"))
    var server: String?

    @Flag(help: "Connect with TLS (ALPN h2), verifying the server against the system's CAs or --ca.")
    var tls = false

    @Option(
        help: ArgumentHelp("CA certificate file (PEM) to verify the server with; implies --tls.", valueName: "file"))
    var ca: String?

    @Option(
        help: ArgumentHelp(
            "Bearer token (env BACKTEST_TOKEN), sent as 'authorization: Bearer TOKEN'.", valueName: "token"))
    var token: String?

    @Option(
        help: ArgumentHelp(
            "Deadline for each call, in seconds (default: none; connecting gives up after 5 s).", valueName: "seconds"))
    var timeout: Double?

    @Flag(help: "Print proto3 JSON for scripts: one message, or one per line for streams (watch, trades, equity, rm).")
    var json = false

    func validate() throws {
        if let timeout, !(timeout > 0) || !timeout.isFinite {
            throw ValidationError("--timeout: must be a positive number of seconds")
        }
        _ = try address()
    }

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// HOST:PORT, [IPv6]:PORT, or HOST alone (port 50051).
    func address() throws -> (host: String, port: Int) {
        let text = server ?? environment["BACKTEST_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultServer
        return try Self.parseAddress(text)
    }

    static func parseAddress(_ text: String) throws -> (host: String, port: Int) {
        var host = Substring(text), portText: Substring = "50051"
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw ValidationError("--server: bad address '\(text)'") }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw ValidationError("--server: bad address '\(text)'") }
                portText = rest.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            throw ValidationError("--server: expected HOST:PORT, got '\(text)'")
        }
        return (String(host), port)
    }

    var bearerToken: String? {
        token ?? environment["BACKTEST_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var callTimeout: Duration? {
        timeout.map { .nanoseconds(Int64($0 * 1e9)) }
    }

    func makeClient() throws -> BacktestClient {
        let (host, port) = try address()
        var tlsContext: TLSContext?
        if tls || ca != nil {
            do {
                tlsContext = try TLSContext.client(caFile: ca)
            } catch {
                throw CLIError("TLS: \(error)")
            }
        }
        let connectTimeout: Duration = timeout.map { .nanoseconds(Int64(min($0, 5) * 1e9)) } ?? .seconds(5)
        let grpc = GRPCClient(
            configuration: .init(host: host, port: port, tls: tlsContext, connectTimeout: connectTimeout))
        var metadata = Metadata()
        if let bearerToken { metadata.add("authorization", "Bearer \(bearerToken)") }
        return BacktestClient(rpc: RPCClient(transport: grpc, metadata: metadata, timeout: callTimeout))
    }

    func output() -> OutputContext {
        OutputContext(json: json, terminal: Terminal.detect(environment: environment))
    }

    /// Runs a command's body with a client, and turns what goes wrong into a message on
    /// stderr and an exit code: 10 + the gRPC code for a status, 1 for a local error.
    func run(_ body: (BacktestClient, OutputContext) async throws -> Int32) async throws {
        let out = output()
        let client = try makeClient()
        defer { client.close() }
        let code: Int32
        do {
            code = try await body(client, out)
        } catch let error as RPCError {
            out.reportError(code: error.code.description, grpcCode: error.code.rawValue, message: error.message)
            code = ExitCodes.forStatus(error.code)
        } catch let error as CLIError {
            out.reportError(code: "LOCAL", grpcCode: nil, message: error.message)
            code = error.exitCode
        } catch let error as StrategyFile.Error {
            out.reportError(code: "LOCAL", grpcCode: nil, message: error.description)
            code = ExitCodes.failure
        }
        if code != ExitCodes.ok { throw ExitCode(code) }
    }
}
