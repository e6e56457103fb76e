// engine-bench: the engine core's speed on one thread.
//
//   swift build -c release --product engine-bench
//   python3 tools/bench/gen_bars.py 1000000 /tmp/bars1m.csv   (the peers' generator: same data)
//   .build/release/engine-bench /tmp/bars1m.csv [ticks=10000000]
//   ENGINE_BENCH_SAME_TIME=3 .build/release/engine-bench ...   (1 tick in 3 at the previous time)
//   .build/release/engine-bench /tmp/bars1m.csv digest [bars]   (result hashes, see Digest)
//
// Runs SMA 10/20 crossover (close and reverse, backtesting.py's rules) and the built-in
// `default` strategy over the CSV's bars in batches of 4096 (as a runner feeds them,
// taking trades and equity samples after every batch), then both over synthetic ticks
// generated batch by batch (so memory stays flat), and prints bars/s, ticks/s and peak
// RSS. The best of three runs is reported for bars.
import BacktestEngine
import Foundation

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
}

/// Parses gen_bars.py's CSV: Time,Open,High,Low,Close,Volume with "YYYY-MM-DD HH:MM:SS".
func loadBars(_ path: String) -> [Candle] {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(
            Data(
                "engine-bench: cannot read \(path); make it with python3 tools/bench/gen_bars.py 1000000 \(path)\n".utf8
            ))
        exit(1)
    }
    var out: [Candle] = []
    out.reserveCapacity(data.count / 60)
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        let b = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i < b.count && b[i] != 10 { i += 1 }  // header
        i += 1
        func int(_ from: Int, _ len: Int) -> Int64 {
            var v: Int64 = 0
            for k in from..<(from + len) { v = v * 10 + Int64(b[k] - 48) }
            return v
        }
        func days(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
            let y = m <= 2 ? y0 - 1 : y0
            let era = (y >= 0 ? y : y - 399) / 400
            let yoe = y - era * 400
            let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
            return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        }
        var fields = [Double](repeating: 0, count: 5)
        while i + 19 < b.count {
            let t =
                (days(int(i, 4), int(i + 5, 2), int(i + 8, 2)) * 86_400 + int(i + 11, 2) * 3600 + int(i + 14, 2) * 60
                    + int(i + 17, 2)) * 1_000_000
            i += 20
            for f in 0..<5 {
                var j = i
                while j < b.count && b[j] != 44 && b[j] != 10 { j += 1 }
                fields[f] = Double(String(decoding: UnsafeBufferPointer(rebasing: b[i..<j]), as: UTF8.self))!
                i = j + 1
            }
            out.append(
                Candle(time: t, open: fields[0], high: fields[1], low: fields[2], close: fields[3], volume: fields[4]))
        }
    }
    return out
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let cpuStart = threadCPUSeconds()
    try body()
    lastCPUSeconds = threadCPUSeconds() - cpuStart
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// CPU time of this thread: on a shared machine it leaves out the time other processes
/// had the core (wall time is the figure; this one shows how much of it was ours).
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
nonisolated(unsafe) var lastCPUSeconds = 0.0

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "/tmp/bars1m.csv"
if arguments.count > 2 && arguments[2] == "digest" {
    let bars = loadBars(path)
    let limit = arguments.count > 3 ? min(Int(arguments[3])!, bars.count) : bars.count
    try bars.withUnsafeBufferPointer { try Digest.run(bars: UnsafeBufferPointer(rebasing: $0[0..<limit])) }
    exit(0)
}
let tickCount = arguments.count > 2 ? Int(arguments[2])! : 10_000_000
let batch = 4096

print("engine-bench: loading \(path)")
let bars = loadBars(path)
print("bars: \(bars.count), peak RSS after loading: \(String(format: "%.1f", peakRSSMiB())) MiB")

let strategies: [(String, StrategyDefinition)] = [
    ("sma_cross 10/20", .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])),
    ("default", .builtin(name: "default", params: [:])),
]

let repeats = Int(ProcessInfo.processInfo.environment["ENGINE_BENCH_REPEATS"] ?? "3") ?? 3
// ENGINE_BENCH_ONLY=default (a name prefix) runs one strategy, for profiling.
let only = ProcessInfo.processInfo.environment["ENGINE_BENCH_ONLY"] ?? ""
for (name, strategy) in strategies where name.hasPrefix(only) {
    var best = Double.infinity
    var bestCPU = Double.infinity
    var summary = ""
    for _ in 0..<repeats {
        let engine = try Engine(config: BacktestConfig(initialCapital: 1_000_000, strategy: strategy))
        var trades = 0
        var samples = 0
        var stats = BacktestStatistics()
        let s = try bars.withUnsafeBufferPointer { all in
            try seconds {
                var i = 0
                while i < all.count {
                    let end = min(all.count, i + batch)
                    try engine.process(candles: UnsafeBufferPointer(rebasing: all[i..<end]))
                    trades += engine.takeTrades().count
                    samples += engine.takeEquity().count
                    i = end
                }
                stats = engine.finish()
                trades += engine.takeTrades().count
                samples += engine.takeEquity().count
            }
        }
        bestCPU = min(bestCPU, lastCPUSeconds)
        if s < best {
            best = s
            summary =
                "trades=\(trades) samples=\(samples) final=\(String(format: "%.2f", stats.equityFinal)) sharpe=\(String(format: "%.4f", stats.sharpeRatio))"
        }
    }
    print(
        "bars  \(name): \(bars.count) in \(String(format: "%.3f", best)) s = \(Int(Double(bars.count) / best)) bars/s  \(summary)"
            + "  (cpu-time best \(Int(Double(bars.count) / bestCPU)) bars/s)")
}
print("peak RSS after bar runs: \(String(format: "%.1f", peakRSSMiB())) MiB")

/// Synthetic ticks, one batch at a time: a seeded random walk, 1-100 ms apart; with
/// `sameTimeEvery` = n > 0, about one tick in n keeps the previous tick's time (several
/// prints in one microsecond, as real feeds have).
struct TickSource {
    var state: UInt64 = 12_345
    var time: Int64 = 1_577_836_800_000_000  // 2020-01-01
    var price = 100.0
    var sameTimeEvery: UInt64 = 0

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func fill(_ buffer: inout [Tick]) {
        for i in 0..<buffer.count {
            let r = next()
            if sameTimeEvery == 0 || (r >> 50) % sameTimeEvery != 0 { time += 1000 + Int64(r % 100_000) }
            price *= 1 + (Double(r >> 40) / Double(1 << 24) - 0.5) * 0.0004
            buffer[i] = Tick(time: time, price: price, size: Double(1 + (r >> 20) % 500))
        }
    }
}

for (name, strategy) in strategies where name.hasPrefix(only) {
    let engine = try Engine(config: BacktestConfig(initialCapital: 1_000_000, strategy: strategy))
    // ENGINE_BENCH_SAME_TIME=n: about one tick in n shares the previous tick's time.
    var source = TickSource(
        sameTimeEvery: UInt64(ProcessInfo.processInfo.environment["ENGINE_BENCH_SAME_TIME"] ?? "0") ?? 0)
    var buffer = [Tick](repeating: Tick(time: 0, price: 0, size: 0), count: batch)
    var done = 0
    var spent = 0.0
    var trades = 0
    var samples = 0
    while done < tickCount {
        let n = min(batch, tickCount - done)
        if n < buffer.count { buffer.removeLast(buffer.count - n) }
        source.fill(&buffer)
        spent += try seconds {
            try engine.process(ticks: buffer)
            trades += engine.takeTrades().count
            samples += engine.takeEquity().count
        }
        done += n
    }
    var stats = BacktestStatistics()
    spent += seconds { stats = engine.finish() }
    trades += engine.takeTrades().count
    samples += engine.takeEquity().count
    print(
        "ticks \(name): \(done) in \(String(format: "%.3f", spent)) s = \(Int(Double(done) / spent)) ticks/s  trades=\(trades) samples=\(samples) final=\(String(format: "%.2f", stats.equityFinal))"
    )
}
print("peak RSS at the end: \(String(format: "%.1f", peakRSSMiB())) MiB")
