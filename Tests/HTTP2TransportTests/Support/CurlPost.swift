import Foundation
import TestSupport
import Testing

/// One request through curl, over HTTP/2 (prior knowledge) or HTTP/1.1, for the
/// protocols a browser or a plain HTTP client speaks: the response's header block and
/// body, byte for byte.
enum CurlPost {
    static func post(
        port: Int, _ path: String, headers: [String], body: [UInt8], method: String = "POST", http1: Bool = false
    ) async throws -> (headers: String, body: [UInt8]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("curl-post-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let request = dir.appendingPathComponent("request"), head = dir.appendingPathComponent("headers")
        let response = dir.appendingPathComponent("response")
        try Data(body).write(to: request)
        let out = try await Subprocess.run(
            "/usr/bin/curl",
            ["-sS", http1 ? "--http1.1" : "--http2-prior-knowledge"]
                + (method == "HEAD" ? ["--head"] : ["-X", method]) + headers.flatMap { ["-H", $0] }
                + (method == "GET" || method == "HEAD" ? [] : ["--data-binary", "@\(request.path)"]) + [
                    "-D", head.path, "-o", response.path, "http://127.0.0.1:\(port)\(path)",
                ])
        #expect(out.status == 0, "curl: \(out.text)")
        return (
            (try? String(contentsOf: head, encoding: .utf8)) ?? "", [UInt8]((try? Data(contentsOf: response)) ?? Data())
        )
    }

    /// The response's status: the last status line's (after any `100 Continue`), over
    /// either HTTP version.
    static func status(_ headers: String) -> Int? {
        let line = headers.split(separator: "\r\n").last(where: { $0.hasPrefix("HTTP/") })
        return line.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
    }

    /// A body's length-prefixed envelopes: (flags, payload).
    static func envelopes(_ body: [UInt8]) -> [(UInt8, [UInt8])] {
        var out: [(UInt8, [UInt8])] = []
        var i = 0
        while i + 5 <= body.count {
            let n = Int(body[i + 1]) << 24 | Int(body[i + 2]) << 16 | Int(body[i + 3]) << 8 | Int(body[i + 4])
            guard i + 5 + n <= body.count else { break }
            out.append((body[i], Array(body[(i + 5)..<(i + 5 + n)])))
            i += 5 + n
        }
        return out
    }
}
