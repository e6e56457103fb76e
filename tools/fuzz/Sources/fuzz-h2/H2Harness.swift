import Dispatch
import FuzzSupport
import GRPCServices
import HTTP2Transport
import RPC

/// The server's connection input: each input is everything a client sends on one
/// connection, to a real GRPCServer on 127.0.0.1 serving echo methods and health.
/// Input beginning with HTTP/2's preface (`PRI`) is HTTP/2: the server answers with
/// its SETTINGS first and well-formed frames (its streams are the client's, its
/// connection frames on stream 0). Any other is HTTP/1.1: the server answers with
/// HTTP/1.1 responses or nothing. Either way, once the client has closed its side the
/// server closes the connection; then no connection, call or stream is left behind.
enum H2Harness {
    static let deadline = Duration.seconds(5)

    static let server: (server: GRPCServer, port: Int) = {
        var router = RPCRouter()
        EchoMethods.register(into: &router)
        HealthService(services: [EchoMethods.service]).register(into: &router)
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: router))
        do {
            return (server, try server.start())
        } catch {
            Fuzz.fail("the server did not start: \(error)")
        }
    }()

    static func test(_ input: UnsafeBufferPointer<UInt8>) {
        let (server, port) = Self.server
        switch LoopbackExchange.run(port: port, input: input, deadline: deadline) {
        case .hung(let received):
            Fuzz.fail("the connection was still open \(deadline) after the client closed (\(received.count) bytes)")
        case .closed(let received):
            if input.starts(with: Array("PRI".utf8)) {
                checkFrames(received)
            } else {
                Fuzz.check(
                    received.isEmpty || received.starts(with: Array("HTTP/1.1 ".utf8)),
                    "an HTTP/1.1 connection answered \(received.prefix(32)), not a status line")
            }
        }
        let end = ContinuousClock.now + deadline
        while server.connectionCount > 0 || server.executor.activeCalls > 0 {
            Fuzz.check(
                ContinuousClock.now < end,
                "\(deadline) after the connection closed: \(server.connectionCount) connections, "
                    + "\(server.executor.activeCalls) calls")
            usleepMicros(100)
        }
    }

    /// Frames as RFC 9113 lays them out; the last may be cut short (the connection
    /// closed while it was being written).
    static func checkFrames(_ bytes: [UInt8]) {
        guard bytes.count >= 9 else { return }
        Fuzz.check(bytes[3] == 4 && bytes[4] == 0, "the server's first frame is type \(bytes[3]), not SETTINGS")
        var at = 0
        while at + 9 <= bytes.count {
            let length = Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            let type = bytes[at + 3]
            let stream =
                UInt32(bytes[at + 5] & 0x7F) << 24 | UInt32(bytes[at + 6]) << 16 | UInt32(bytes[at + 7]) << 8
                | UInt32(bytes[at + 8])
            Fuzz.check(type <= 9, "the server sent a frame of unknown type \(type)")
            switch type {
            case 4, 6, 7:  // SETTINGS, PING, GOAWAY
                Fuzz.check(stream == 0, "frame type \(type) on stream \(stream)")
            case 5:
                Fuzz.fail("the server sent PUSH_PROMISE")
            case 8:  // WINDOW_UPDATE: either
                break
            default:  // DATA, HEADERS, PRIORITY, RST_STREAM, CONTINUATION: a client's stream
                Fuzz.check(stream % 2 == 1, "frame type \(type) on server stream \(stream)")
            }
            if type == 4 { Fuzz.check(length % 6 == 0, "SETTINGS of \(length) bytes") }
            at += 9 + length
        }
    }

    static func usleepMicros(_ n: Int) {
        let semaphore = DispatchSemaphore(value: 0)
        _ = semaphore.wait(timeout: .now() + .microseconds(n))
    }
}
