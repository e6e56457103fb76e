import Foundation
import Testing

@testable import BacktestProto

/// Wire compatibility with an independent implementation: Python's protobuf, on stubs
/// grpcio-tools made from our proto. Both sides build every sample message by the
/// same rule; each decodes the other's bytes, and the bytes must be equal (the
/// encoding is canonical: fields in number order, map entries sorted).
@Suite struct InteropTests {
    @Test func pythonBytesDecodeInSwiftAndMatchSwiftBytes() async throws {
        let stubs = try await PythonTools.stubs.value.get()
        let dir = try PythonTools.temporaryDirectory("py-samples")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await PythonTools.run(
            PythonTools.python, ["Tests/BacktestProtoTests/Interop/interop.py", "write", stubs, dir.path])
        try #require(out.status == 0, "interop.py write failed: \(out.text)")

        let written = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        var expectedFiles: Set<String> = []
        for type in allSampleTypes {
            try checkPythonSamples(type, dir: dir, expectedFiles: &expectedFiles)
        }
        // Every message type of the contract is covered, on both sides.
        #expect(Set(written) == expectedFiles)
    }

    @Test func swiftBytesDecodeInPython() async throws {
        let stubs = try await PythonTools.stubs.value.get()
        let dir = try PythonTools.temporaryDirectory("swift-samples")
        defer { try? FileManager.default.removeItem(at: dir) }
        for type in allSampleTypes {
            try writeSwiftSamples(type, dir: dir)
        }
        let out = try await PythonTools.run(
            PythonTools.python, ["Tests/BacktestProtoTests/Interop/interop.py", "check", stubs, dir.path])
        #expect(out.status == 0, "\(out.text)")
        #expect(out.text.contains(", 0 failures"), "\(out.text)")
    }

    private func checkPythonSamples<M: ProtoMessage & SampleFillable>(
        _ type: M.Type, dir: URL, expectedFiles: inout Set<String>
    ) throws {
        for v in 0..<M.sampleVariants {
            let name = "\(M.protoName).\(v).bin"
            expectedFiles.insert(name)
            let python = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            let sample = M.sample(v, depth: 0)
            #expect(try sample.serializedBytes() == python, "\(name): Swift's bytes differ from Python's")
            #expect(try M(serializedBytes: python) == sample, "\(name): Python's bytes decode to another value")
        }
    }

    private func writeSwiftSamples<M: ProtoMessage & SampleFillable>(_ type: M.Type, dir: URL) throws {
        for v in 0..<M.sampleVariants {
            let bytes = try M.sample(v, depth: 0).serializedBytes()
            try Data(bytes).write(to: dir.appendingPathComponent("\(M.protoName).\(v).bin"))
        }
    }
}
