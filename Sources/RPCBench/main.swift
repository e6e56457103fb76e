// Unary RPC throughput of the HTTP/2 transport, measured by h2load (Debian
// nghttp2-client) against the real server on 127.0.0.1. h2load counts any HTTP 200 as
// a success, so the handler counts the calls it answered with OK and both are shown.
//   swift build -c release --product rpc-bench && .build/release/rpc-bench [requests] [connections] [streams] [--task]
// The echo is non-blocking (`nonBlockingUnary`: answered on the event loop); with
// --task it is an ordinary unary method, each call a task on the cooperative pool.
import Foundation
import HTTP2Transport
import RPC
import Synchronization

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let requests = args.count > 0 ? args[0] : 200_000
let connections = args.count > 1 ? args[1] : 16
let streams = args.count > 2 ? args[2] : 32

let asTask = CommandLine.arguments.contains("--task")

let answered = Atomic<Int>(0)
var router = RPCRouter()
if asTask {
    router.unary("/bench.Echo/Unary", decode: { $0 }, encode: { $0 }) { (request: [UInt8], _) -> [UInt8] in
        answered.add(1, ordering: .relaxed)
        return request
    }
} else {
    router.nonBlockingUnary("/bench.Echo/Unary", decode: { $0 }, encode: { $0 }) { (request: [UInt8], _) -> [UInt8] in
        answered.add(1, ordering: .relaxed)
        return request
    }
}
let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: router))
let port = try server.start()

let body = FileManager.default.temporaryDirectory.appendingPathComponent("rpc-bench-\(getpid()).bin")
try Data(MessageFramer.frame(Array("ping".utf8))).write(to: body)
defer { try? FileManager.default.removeItem(at: body) }

let h2load = Process()
h2load.executableURL = URL(fileURLWithPath: "/usr/bin/h2load")
h2load.arguments = [
    "-n", "\(requests)", "-c", "\(connections)", "-m", "\(streams)", "-t", "1", "-d", body.path,
    "-H", "content-type: application/grpc", "-H", "te: trailers",
    "http://127.0.0.1:\(port)/bench.Echo/Unary",
]
/// This process's CPU time (user + system) in microseconds: the server's, as h2load
/// runs in a process of its own.
func cpuMicros() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + usage.ru_utime.tv_usec
        + usage.ru_stime.tv_usec
}

/// Threads of this process, from /proc.
func threadCount() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
    return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
}

let pipe = Pipe()
h2load.standardOutput = pipe
let cpuBefore = cpuMicros()
let peakThreads = Atomic<Int>(threadCount())
let sampling = Task.detached {
    while !Task.isCancelled {
        peakThreads.max(threadCount(), ordering: .relaxed)
        try? await Task.sleep(for: .milliseconds(50))
    }
}
try h2load.run()
let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
h2load.waitUntilExit()
let cpu = cpuMicros() - cpuBefore
sampling.cancel()
print("h2load \(h2load.arguments!.joined(separator: " ")) (echo \(asTask ? "as a task" : "inline"))")
for line in output.split(separator: "\n")
where line.hasPrefix("finished in") || line.hasPrefix("requests:")
    || line.hasPrefix("status codes:") || line.hasPrefix("time for request:")
{
    print(line)
}
print("handler answered OK: \(answered.load(ordering: .relaxed)) of \(requests)")
print(
    "server CPU: \(String(format: "%.1f", Double(cpu) / Double(max(1, requests)))) us per call; threads at most \(peakThreads.load(ordering: .relaxed))"
)
