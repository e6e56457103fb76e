import Dispatch
import Foundation

/// The test venv's Python (made by tools/setup.sh) and a subprocess runner, for
/// tests that check our code against real clients and reference implementations.
public enum Subprocess {
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `BACKTEST_PYTHON`, or `.venv/bin/python` in the package root.
    public static var python: String {
        ProcessInfo.processInfo.environment["BACKTEST_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    public struct Output: Sendable {
        public var status: Int32
        public var text: String
    }

    /// Runs a command to completion, capturing stdout and stderr together. The wait
    /// happens on a thread of its own, never on Swift's cooperative pool: a test
    /// blocked there could starve the very server tasks its client is waiting for.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:])
        async throws -> Output
    {
        // Tests run in parallel and most start a Python client; dozens of interpreters
        // starting at once on 2 cores starve the servers under test for seconds, and
        // every timing expectation with them. A few at a time keeps the machine usable.
        await slots.acquire()
        defer { Task { await slots.release() } }
        // A thread of its own: Dispatch's global queue has about one thread per core,
        // and blocking those would stall the code under test that uses them.
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(executable, arguments, environment: environment) })
            }
        }
    }

    /// How many subprocesses tests may run at once.
    static let slots = Slots(count: max(3, ProcessInfo.processInfo.activeProcessorCount + 1))

    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(count: Int) { free = count }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }

    public static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String] = [:])
        throws -> Output
    {
        let process = Process()
        // stderr joins stdout in the shell, into a file read after the exit. Not a pipe:
        // Foundation's FileHandle reads crash on EINTR (seen under load), and a pipe given
        // as both stdout and stderr is closed twice in the parent, which can hit a
        // descriptor another thread has just opened (a socket of the code under test).
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "subprocess-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env["SUBPROCESS_OUTPUT"] = output.path
        process.environment = env
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments =
            ["-c", "exec \"$0\" \"$@\" >\"$SUBPROCESS_OUTPUT\" 2>&1 </dev/null", executable] + arguments
        process.currentDirectoryURL = packageRoot
        try process.runSafely()
        // Ten minutes is far beyond any test's subprocess: a hung one is killed, not waited on forever.
        let status = ProcessExit.wait(process, killAfter: 600)
        let data = (try? Data(contentsOf: output)) ?? Data()
        return Output(status: status, text: String(decoding: data, as: UTF8.self))
    }

}

extension Subprocess {
    /// Runs `script` (a path from the package root) with the venv's Python and
    /// returns its last output line parsed as a JSON object (empty when it is not).
    public static func pythonJSON(_ script: String, _ arguments: [String], environment: [String: String] = [:])
        async throws -> (json: [String: Any], output: Output)
    {
        let out = try await run(python, [script] + arguments, environment: environment)
        let line = out.text.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return (json, out)
    }
}
