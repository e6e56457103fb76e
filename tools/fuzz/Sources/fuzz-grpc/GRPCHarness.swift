import BacktestProto
import FuzzSupport
import RPC

/// A call's request body as the server reads it: gRPC length-prefixed framing, gzip,
/// then the request message of the method, for every method the server serves (the
/// generated tables, so a new RPC is fuzzed without touching this file).
///
/// Input: `/package.Service/Method\n` then the body; or a first byte that picks the
/// method, then the body. A body that starts with `{` is the request as proto3 JSON.
///
/// Invariants: chunking does not change what the deframer yields, and framing the
/// messages again gives back the bytes they came from; gzip round-trips; a request
/// that decodes encodes to bytes that decode to the same bytes, and its JSON form
/// reads back to the same JSON (with proto field names and defaults written too).
enum GRPCHarness {
    static let maxMessageSize = 4 << 20

    static let methods: [(path: String, messages: MethodMessages)] = {
        let tables = [
            BacktestServiceMethods.messages, GRPCHealthV1.HealthMethods.messages,
            GRPCReflectionV1.ServerReflectionMethods.messages, GRPCReflectionV1Alpha.ServerReflectionMethods.messages,
        ]
        return tables.flatMap { $0.map { ($0.key.path, $0.value) } }.sorted { $0.path < $1.path }
    }()

    static func test(_ input: UnsafeBufferPointer<UInt8>) {
        guard let first = input.first else { return }
        let method: MethodMessages
        let body: ArraySlice<UInt8>
        if first == UInt8(ascii: "/"), let newline = input.firstIndex(of: UInt8(ascii: "\n")) {
            let path = String(decoding: input[..<newline], as: UTF8.self)
            guard let m = methods.first(where: { $0.path == path }) else { return }
            method = m.messages
            body = Array(input)[(newline + 1)...]
        } else {
            method = methods[Int(first) % methods.count].messages
            body = Array(input)[1...]
        }
        if body.first == UInt8(ascii: "{") {
            json(method.request, Array(body))
            return
        }
        for message in deframe(Array(body)).prefix(16) {
            var bytes = message.bytes
            if message.compressed {
                guard let plain = try? Gzip.decompress(bytes, limit: maxMessageSize) else { continue }
                let again = try? Gzip.decompress(Gzip.compress(plain), limit: maxMessageSize)
                Fuzz.check(again == plain, "gzip did not round-trip \(plain.count) bytes")
                bytes = plain
            }
            decode(method.request, bytes)
        }
    }

    /// The messages of a body, checked against a chunked reading and a re-framing.
    static func deframe(_ body: [UInt8]) -> [MessageDeframer.Message] {
        var whole = MessageDeframer(maxMessageSize: maxMessageSize)
        let wholeResult = Result { () throws(RPCError) in try whole.append(body) }
        var chunked = MessageDeframer(maxMessageSize: maxMessageSize)
        var slicer = InputSlicer(body)
        var start = 0
        var chunkedResult: Result<[MessageDeframer.Message], RPCError> = .success([])
        for n in slicer.chunks(total: body.count, sizes: 1...9) {
            let part = Result { () throws(RPCError) in try chunked.append(Array(body[start..<start + n])) }
            start += n
            switch (chunkedResult, part) {
            case (.success(let a), .success(let b)): chunkedResult = .success(a + b)
            case (.success, .failure(let e)): chunkedResult = .failure(e)
            case (.failure, _): break
            }
            if case .failure = chunkedResult { break }
        }
        switch (wholeResult, chunkedResult) {
        case (.success(let a), .success(let b)):
            Fuzz.check(a == b, "chunked deframing gave \(b.count) messages, whole \(a.count)")
            let reframed = a.flatMap { MessageFramer.frame($0.bytes, compressed: $0.compressed) }
            Fuzz.check(
                reframed == Array(body.prefix(reframed.count)), "re-framed messages differ from their bytes")
            Fuzz.check(whole.bufferedByteCount == body.count - reframed.count, "buffered \(whole.bufferedByteCount)")
            return a
        case (.failure(let a), .failure(let b)):
            Fuzz.check(a.status == b.status, "chunked deframing failed with \(b), whole with \(a)")
            return []
        default:
            Fuzz.fail("chunked deframing answered \(chunkedResult), whole \(wholeResult)")
        }
    }

    static func decode<M: ProtoMessage & ProtoJSONMessage>(_ type: M.Type, _ bytes: [UInt8]) {
        guard let message = try? M(serializedBytes: bytes) else { return }
        let encoded: [UInt8]
        do {
            encoded = try message.serializedBytes()
            let again = try M(serializedBytes: encoded).serializedBytes()
            Fuzz.check(again == encoded, "\(M.protoName): decode(encode(m)) encodes differently")
        } catch {
            Fuzz.fail("\(M.protoName): a decoded message did not encode and decode: \(error)")
        }
        jsonRoundTrip(message)
    }

    static func json<M: ProtoMessage & ProtoJSONMessage>(_ type: M.Type, _ text: [UInt8]) {
        guard let message = try? M(jsonUTF8: text) else { return }
        jsonRoundTrip(message)
        guard let bytes = try? message.serializedBytes() else {
            Fuzz.fail("\(M.protoName): a message read from JSON did not encode")
        }
        decode(M.self, bytes)
    }

    /// JSON is written (a Timestamp or Duration out of range may refuse), read back
    /// and written again: the same text, for the canonical and the verbose options.
    static func jsonRoundTrip<M: ProtoJSONMessage>(_ message: M) {
        let verbose = ProtoJSONEncodingOptions(
            alwaysPrintFieldsWithNoPresence: true, preservingProtoFieldNames: true, enumsAsIntegers: true)
        for options in [ProtoJSONEncodingOptions(), verbose] {
            guard let text = try? message.jsonString(options: options) else { continue }
            do {
                let again = try M(jsonString: text).jsonString(options: options)
                Fuzz.check(again == text, "\(M.protoName): JSON \(text) read back as \(again)")
            } catch {
                Fuzz.fail("\(M.protoName): its own JSON \(text) did not read back: \(error)")
            }
        }
    }
}
