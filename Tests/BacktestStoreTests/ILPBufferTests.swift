import Foundation
import TestSupport
import Testing

@testable import BacktestStore

/// Our line-protocol bytes against the official QuestDB client's (PyPI `questdb`,
/// `Buffer(protocol_version=1)`) for the same rows: names and values full of spaces,
/// commas, equals signs, quotes, backslashes, newlines and non-ASCII, 400 random and
/// special doubles, extreme longs.
@Suite struct ILPBufferTests {
    @Test func bytesEqualTheOfficialClient() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ilp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/BacktestStoreTests/Clients/ilp_reference.py", [dir.path])
        try #require((json["rows"] as? Int ?? 0) > 400, "\(out.text)")
        let rows =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("rows.json")))
            as! [String: Any]
        var buffer = ILPBuffer()
        for row in rows["rows"] as! [[String: Any]] {
            let symbols = (row["symbols"] as! [[String]]).map { ($0[0], $0[1]) }
            let columns: [(String, ILPBuffer.Value)] = (row["columns"] as! [[String]]).map { c in
                let value: ILPBuffer.Value =
                    switch c[1] {
                    case "string": .string(c[2])
                    case "long": .long(Int64(c[2])!)
                    case "double": .double(Double(c[2])!)
                    case "bool": .bool(c[2] == "true")
                    default: .timestampMicros(Int64(c[2])!)
                    }
                return (c[0], value)
            }
            try buffer.row(
                row["table"] as! String, symbols: symbols, columns: columns,
                atNanos: (row["at"] as! NSNumber).int64Value)
        }
        let expected = try [UInt8](Data(contentsOf: dir.appendingPathComponent("expected.bin")))
        #expect(buffer.rowCount == json["rows"] as? Int)
        if buffer.bytes != expected {
            // Show the first differing line, not 50 KB of bytes.
            let ours = String(decoding: buffer.bytes, as: UTF8.self).split(separator: "\n")
            let theirs = String(decoding: expected, as: UTF8.self).split(separator: "\n")
            let i =
                (0..<min(ours.count, theirs.count)).first { ours[$0] != theirs[$0] } ?? min(ours.count, theirs.count)
            Issue.record(
                "line \(i) differs:\nours:   \(i < ours.count ? String(ours[i]) : "-")\ntheirs: \(i < theirs.count ? String(theirs[i]) : "-")"
            )
        }
    }

    @Test(arguments: [
        (0.00001, "0.00001"), (1e-7, "1e-7"), (1e16, "1e16"), (1e15, "1000000000000000.0"),
        (-0.0, "-0.0"), (0.0, "0.0"), (123.456, "123.456"), (1.2345678901234568e17, "1.2345678901234568e17"),
        (Double.leastNonzeroMagnitude, "5e-324"), (-1.5e-300, "-1.5e-300"), (100.0, "100.0"),
    ])
    func doubleLayout(value: Double, text: String) {
        #expect(ILPBuffer.formatDouble(value) == text)
        #expect(Double(text) == value)
    }

    @Test func invalidNamesAreRefusedAndLeaveTheBufferUntouched() throws {
        var buffer = ILPBuffer()
        try buffer.row("t", columns: [("x", .long(1))], atNanos: 1)
        let before = buffer.bytes
        for (table, column) in [
            ("a,b", "x"), ("a\nb", "x"), (".t", "x"), ("t", "a.b"), ("t", "a-b"), ("", "x"), ("t", "x\"y"),
            (String(repeating: "a", count: 128), "x"),
        ] {
            #expect(throws: ILPBuffer.InvalidName.self) {
                try buffer.row(table, symbols: [("s", "v")], columns: [(column, .double(1))], atNanos: 2)
            }
        }
        #expect(
            throws: ILPBuffer.InvalidName(kind: "table", name: "t", reason: "a row needs at least one symbol or column")
        ) {
            try buffer.row("t", columns: [], atNanos: 3)
        }
        #expect(buffer.bytes == before)
        #expect(buffer.rowCount == 1)
    }

    @Test func injectionAttemptsStayInsideTheirValue() throws {
        var buffer = ILPBuffer()
        try buffer.row(
            "sessions", symbols: [("symbol", "X 1\nevil,x=1 2 3")],
            columns: [("error", .string("\"\n drop table sessions; \\"))], atNanos: 5)
        let text = String(decoding: buffer.bytes, as: UTF8.self)
        // One line: every newline inside a value is escaped (backslash, then the byte).
        let bytes = Array(text.utf8)
        let lineEnds = bytes.indices.filter { bytes[$0] == 10 && ($0 == 0 || bytes[$0 - 1] != 92) }
        #expect(lineEnds == [bytes.count - 1])
        #expect(
            text == "sessions,symbol=X\\ 1\\\nevil\\,x\\=1\\ 2\\ 3 error=\"\\\"\\\n drop table sessions; \\\\\" 5\n")
    }
}
