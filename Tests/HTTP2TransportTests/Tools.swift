import Dispatch
import Foundation

/// The test venv's Python and a process runner (as in BacktestProtoTests).
enum Tools {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        ProcessInfo.processInfo.environment["BACKTEST_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    struct Output {
        var status: Int32
        var text: String
    }

    /// Runs a command to completion, capturing stdout and stderr together. The wait
    /// happens on a Dispatch thread, never on Swift's cooperative pool: a test blocked
    /// there could starve the very server tasks its client is waiting for.
    static func run(_ executable: String, _ arguments: [String]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(executable, arguments) })
            }
        }
    }

    static func runBlocking(_ executable: String, _ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
    }
}
