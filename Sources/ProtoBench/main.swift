// Encode/decode speed of the message layer, on the message the server sends most:
// a ProgressEvent as WatchProgress streams it. Release build:
//   swift run -c release proto-bench [iterations]
import BacktestProto
import Foundation

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000

let event = ProgressEvent(
    sessionID: "0193a5c2-7d1e-7c3a-9f10-4b6d2e8a1c55",
    sequence: 1234,
    kind: .update,
    status: .running,
    progressPct: 42.125,
    simTime: ProtoTimestamp(microsecondsSinceEpoch: 1_600_000_000_000_000),
    equity: 10_523.75,
    cash: 523.75,
    realizedPnl: 480.5,
    unrealizedPnl: 43.25,
    drawdownPct: -1.75,
    maxDrawdownPct: -8.5,
    openPositions: 1,
    positionSize: 52,
    trades: 17,
    eventsProcessed: 421_250,
    eventsPerSecond: 3_950_000,
    eta: ProtoDuration(seconds: 1, nanos: 250_000_000),
    wallTime: ProtoTimestamp(microsecondsSinceEpoch: 1_764_000_000_000_000)
)

func measure(_ label: String, _ body: () throws -> Int) rethrows {
    let clock = ContinuousClock()
    var sink = 0
    let elapsed = try clock.measure { sink = try body() }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(iterations) / seconds
    print(
        "\(label): \(iterations) messages in \(String(format: "%.3f", seconds)) s = \(Int(rate)) messages/s (\(String(format: "%.0f", 1e9 / rate)) ns each) [\(sink)]"
    )
}

let bytes = try event.serializedBytes()
print("ProgressEvent: \(bytes.count) bytes on the wire")
try measure("encode") {
    var total = 0
    for _ in 0..<iterations { total &+= try event.serializedBytes().count }
    return total
}
try measure("decode") {
    var total = 0
    for _ in 0..<iterations { total &+= Int(try ProgressEvent(serializedBytes: bytes).sequence) }
    return total
}
