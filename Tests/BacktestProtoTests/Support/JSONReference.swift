import Foundation

@testable import BacktestProto

/// Python's protobuf as the reference for the JSON mapping: requests go to
/// Interop/json_interop.py in one batch (one interpreter for a whole test), and each
/// answer comes back on the line of its request.
enum JSONReference {
    /// One method of a descriptor set; `input` and `output` are full message names.
    struct MethodRow {
        var service: String
        var method: String
        var clientStreaming: Bool
        var serverStreaming: Bool
        var input: String
        var output: String
    }

    /// What json_format answered: the value, or the text of the error it raised.
    enum Answer {
        case json(String)
        case bytes([UInt8])
        case methods([MethodRow])
        case error(String)
    }

    /// MessageToJson of the message `bytes` hold, with json_format's own option names.
    static func toJSON(_ typeName: String, _ bytes: [UInt8], options: [String: Bool]) -> JSONValue {
        .object([
            JSONValue.Member("op", .string("to_json")),
            JSONValue.Member("type", .string(typeName)),
            JSONValue.Member("bytes", .string(Data(bytes).base64EncodedString())),
            JSONValue.Member(
                "options", .object(options.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, .bool($0.value)) })
            ),
        ])
    }

    /// json_format.Parse of `text`, answered with the message's deterministic bytes.
    static func parse(_ typeName: String, _ text: String, ignoreUnknown: Bool = false) -> JSONValue {
        .object([
            JSONValue.Member("op", .string("parse")),
            JSONValue.Member("type", .string(typeName)),
            JSONValue.Member("json", .string(text)),
            JSONValue.Member("ignore_unknown", .bool(ignoreUnknown)),
        ])
    }

    /// Every method of every service in a descriptor set file.
    static func services(descriptorSet path: String) -> JSONValue {
        .object([JSONValue.Member("op", .string("services")), JSONValue.Member("descriptor_set", .string(path))])
    }

    static func run(_ requests: [JSONValue]) async throws -> [Answer] {
        let stubs = try await PythonTools.stubs.value.get()
        let dir = try PythonTools.temporaryDirectory("json-interop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("requests.jsonl")
        let output = dir.appendingPathComponent("results.jsonl")
        try Data(requests.map { $0.text + "\n" }.joined().utf8).write(to: input)
        let out = try await PythonTools.run(
            PythonTools.python, ["Tests/BacktestProtoTests/Interop/json_interop.py", stubs, input.path, output.path])
        guard out.status == 0 else { throw Failure(description: "json_interop.py failed: \(out.text)") }
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        guard lines.count == requests.count else {
            throw Failure(description: "\(lines.count) answers to \(requests.count) requests")
        }
        return try lines.map { line in
            let answer = try JSONValue(parsing: String(line))
            if case .string(let text)? = answer["json"] { return .json(text) }
            if case .string(let b64)? = answer["bytes"] { return .bytes([UInt8](Data(base64Encoded: b64)!)) }
            if case .string(let message)? = answer["error"] { return .error(message) }
            if case .array(let rows)? = answer["methods"] {
                return .methods(
                    rows.map { row in
                        guard case .array(let r) = row, r.count == 6, case .string(let s) = r[0],
                            case .string(let m) = r[1], case .bool(let c) = r[2], case .bool(let sv) = r[3],
                            case .string(let i) = r[4], case .string(let o) = r[5]
                        else {
                            return MethodRow(
                                service: "?", method: "?", clientStreaming: false, serverStreaming: false, input: "?",
                                output: "?")
                        }
                        return MethodRow(
                            service: s, method: m, clientStreaming: c, serverStreaming: sv, input: i, output: o)
                    })
            }
            throw Failure(description: "unexpected answer \(line)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
