import ArgumentParser
import BacktestProto
import Foundation

/// Builds a StartBacktest request from options, encodes it with the service's message
/// layer, decodes it back and prints it: a check of what a start would send, and a
/// way to make gRPC-framed request bodies for load tools such as h2load.
struct EncodeRequest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-request",
        abstract: "Encode a StartBacktest request and show what the server would receive.",
        discussion: """
            Examples:
              backtest encode-request --symbol GOOG --timeframe 1d --from 2004-08-19 --to 2013-03-02
              backtest encode-request --symbol GOOG --timeframe 1d --from 2004-08-19 --to 2013-03-02 \\
                  --strategy sma_cross --param n1=10 --param n2=20 --grpc-frame req.bin
            """
    )

    @Option(help: "Instrument symbol.") var symbol: String
    @Option(help: "\"tick\" or a candle interval such as 1m, 1h, 1d.") var timeframe: String
    @Option(help: "Range start (inclusive), ISO 8601: 2004-08-19 or 2004-08-19T09:30:00Z.") var from: String
    @Option(help: "Range end (exclusive), ISO 8601.") var to: String
    @Option(help: "Initial capital.") var capital: Double = 10_000
    @Option(help: "Built-in strategy: default or sma_cross.") var strategy: String = "default"
    @Option(name: .customLong("param"), help: "Strategy parameter override NAME=VALUE (repeatable).") var params: [String] = []
    @Option(help: "Commission per fill as a fraction of notional (0.002 = 0.2%).") var commissionRate: Double = 0
    @Option(help: "Fixed commission per fill.") var commissionFixed: Double = 0
    @Option(help: "Adverse slippage in basis points.") var slippageBps: Double = 0
    @Flag(help: "Fill market orders at the signal bar's close instead of the next open.") var fillOnClose = false
    @Option(help: "Simulated seconds per wall second; 0 = as fast as possible.") var acceleration: Double = 0
    @Option(name: .customLong("label"), help: "Label KEY=VALUE (repeatable).") var labels: [String] = []
    @Option(help: "Client request id for idempotent retries.") var requestID: String = ""
    @Option(help: "Also write the request as a gRPC length-prefixed message to this file.") var grpcFrame: String?

    func run() throws {
        let request = StartBacktestRequest(
            symbol: symbol,
            timeframe: timeframe,
            startTime: try Self.timestamp(from, option: "--from"),
            endTime: try Self.timestamp(to, option: "--to"),
            initialCapital: capital,
            strategy: StrategySpec(kind: .builtin(BuiltinStrategy(
                name: strategy, params: try Self.pairs(params, option: "--param").mapValues { value in
                    guard let d = Double(value) else { throw ValidationError("--param: \(value) is not a number") }
                    return d
                }))),
            costs: Costs(commissionFixed: commissionFixed, commissionRate: commissionRate, slippageBps: slippageBps),
            fillMode: fillOnClose ? .onClose : .nextOpen,
            accelerationFactor: acceleration,
            clientRequestID: requestID,
            labels: try Self.pairs(labels, option: "--label")
        )
        let bytes = try request.serializedBytes()
        let decoded = try StartBacktestRequest(serializedBytes: bytes)
        guard decoded == request else { throw ValidationError("round trip changed the request") }
        print("StartBacktestRequest: \(bytes.count) bytes on the wire, decodes to the same request")
        print(String(describing: decoded))
        if let grpcFrame {
            // gRPC framing: compressed flag, 4-byte big-endian length, message.
            let n = UInt32(bytes.count)
            let frame = [0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
            try Data(frame).write(to: URL(fileURLWithPath: grpcFrame))
            print("wrote \(frame.count) bytes to \(grpcFrame)")
        }
    }

    static func timestamp(_ text: String, option: String) throws -> ProtoTimestamp {
        let full = ISO8601DateFormatter()
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        guard let date = full.date(from: text) ?? dateOnly.date(from: text) else {
            throw ValidationError("\(option): \(text) is not an ISO 8601 date or date-time")
        }
        return ProtoTimestamp(microsecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    static func pairs(_ items: [String], option: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(option): expected NAME=VALUE, got \(item)")
            }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }
}
