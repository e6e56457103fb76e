import Dispatch
import Foundation
import TestSupport
import Testing

/// The test venv's Python (made by tools/setup.sh) and the stubs grpcio-tools
/// generates from proto/, for tests that check Swift against Python's protobuf.
enum PythonTools {
    static var python: String { Subprocess.python }

    static func run(_ executable: String, _ arguments: [String]) async throws -> Subprocess.Output {
        try await Subprocess.run(executable, arguments)
    }

    /// Python stubs for every proto file, generated once per test process. A task, so
    /// the tests wait for it without holding one of the few cooperative threads.
    static let stubs: Task<Result<String, StubError>, Never> = Task {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(StubError(message: "no Python at \(python): run tools/setup.sh first"))
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("backtest-stubs-\(ProcessInfo.processInfo.processIdentifier)").path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let out = try await Subprocess.run(
                python,
                [
                    "-m", "grpc_tools.protoc", "-I", "proto", "--python_out=\(dir)", "--grpc_python_out=\(dir)",
                    "backtest/v1/backtest.proto", "grpc/health/v1/health.proto",
                    "grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto",
                ])
            guard out.status == 0 else { return .failure(StubError(message: "grpc_tools.protoc failed: \(out.text)")) }
            return .success(dir)
        } catch {
            return .failure(StubError(message: "\(error)"))
        }
    }

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
