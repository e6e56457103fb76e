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
              backtest encode-request --symbol GOOG --timeframe 1d \\
                  --from 2004-08-19 --to 2013-03-02
              backtest encode-request --symbol GOOG --timeframe 1d \\
                  --from 2004-08-19 --to 2013-03-02 --strategy sma_cross \\
                  --param n1=10 --param n2=20 --grpc-frame req.bin

            """ + StartOptions.strategyFileHelp
    )

    @OptionGroup var options: StartOptions
    @Option(help: "Also write the request as a gRPC length-prefixed message to this file.") var grpcFrame: String?

    func validate() throws { try options.validateNumericParams() }

    func run() throws {
        let request = try options.request()
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
}
