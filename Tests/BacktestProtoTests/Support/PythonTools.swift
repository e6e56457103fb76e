import Dispatch
import Foundation
import Testing

/// The test venv's Python (made by tools/setup.sh) and the stubs grpcio-tools
/// generates from proto/, for tests that check Swift against Python's protobuf.
enum PythonTools {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `BACKTEST_PYTHON`, or `.venv/bin/python` in the package root.
    static var python: String {
        ProcessInfo.processInfo.environment["BACKTEST_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    struct Output {
        var status: Int32
        var text: String
    }

    /// Runs a command to completion, capturing stdout and stderr together.
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

    /// Python stubs for every proto file, generated once per test process.
    static let stubs: Result<String, StubError> = {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(StubError(message: "no Python at \(python): run tools/setup.sh first"))
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("backtest-stubs-\(ProcessInfo.processInfo.processIdentifier)").path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let out = try runBlocking(python, [
                "-m", "grpc_tools.protoc", "-I", "proto", "--python_out=\(dir)", "--grpc_python_out=\(dir)",
                "backtest/v1/backtest.proto", "grpc/health/v1/health.proto",
                "grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto",
            ])
            guard out.status == 0 else { return .failure(StubError(message: "grpc_tools.protoc failed: \(out.text)")) }
            return .success(dir)
        } catch {
            return .failure(StubError(message: "\(error)"))
        }
    }()

    struct StubError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
