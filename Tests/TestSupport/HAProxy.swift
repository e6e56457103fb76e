import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's HAProxy on 127.0.0.1 (a free port) in front of backtestd nodes, configured by
/// `tools/cluster.sh haproxy-config` (the one configuration users run): HTTP/2 cleartext
/// both sides, round robin, gRPC health checks. Killed when stopped, or when the test
/// process exits.
public final class HAProxy: @unchecked Sendable {
    public static let executable = "/usr/sbin/haproxy"
    /// Why HAProxy tests cannot run here, or nil when they can.
    public static var unavailable: String? {
        FileManager.default.isExecutableFile(atPath: executable)
            ? nil : "no \(executable) (Debian's haproxy; tools/setup.sh installs it)"
    }

    public private(set) var process = Process()
    public let port: Int
    public let directory: URL
    public var configPath: String { directory.appendingPathComponent(Self.files.config).path }
    public var logPath: String { directory.appendingPathComponent(Self.files.log).path }
    var statsSocket: String { directory.appendingPathComponent(Self.files.stats).path }
    /// Where each file goes in `directory`.
    static let files = (config: "haproxy.cfg", log: "haproxy.log", stats: "stats.sock")
    /// Its log: one line a call (`grpc nodes/node-2 ... "POST .../StartBacktest"`) and
    /// each node's state changes.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// `nodes`: the nodes' ports, named node-1..N in that order. `directory` (the
    /// caller's) holds the configuration, log and stats socket.
    public init(nodes: [Int], directory: URL) async throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // HAProxy takes a port, not 0: a free one from the kernel (taken meanwhile: again).
        var lastError: any Error = DaemonProcess.Failure(description: "haproxy did not start")
        for _ in 0..<5 {
            let port = try LocalPort.free()
            do {
                try await Self.start(process, port: port, nodes: nodes, directory: directory)
                self.port = port
                return
            } catch {
                lastError = error
                process = Process()
            }
        }
        throw lastError
    }

    private static func start(_ process: Process, port: Int, nodes: [Int], directory: URL) async throws {
        let configPath = directory.appendingPathComponent(files.config).path
        let logPath = directory.appendingPathComponent(files.log).path
        let statsSocket = directory.appendingPathComponent(files.stats).path
        let script = Subprocess.packageRoot.appendingPathComponent("tools/cluster.sh").path
        let config = try await Subprocess.run(
            "/bin/bash",
            [script, "haproxy-config", "--stats", statsSocket, "127.0.0.1:\(port)"] + nodes.map { "127.0.0.1:\($0)" })
        guard config.status == 0 else {
            throw DaemonProcess.Failure(description: "cluster.sh haproxy-config failed: \(config.text)")
        }
        try config.text.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-db", "-f", configPath]
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.runSafely()
        DaemonProcess.track(process.processIdentifier, nil)
        // Ready when it accepts a connection (its nodes count as up until a check fails).
        for _ in 0..<600 {
            guard process.isRunning else {
                DaemonProcess.untrack(process.processIdentifier)
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw DaemonProcess.Failure(description: "haproxy exited at start (port \(port) taken?):\n\(log)")
            }
            if LocalPort.accepts(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DaemonProcess.Failure(description: "haproxy did not listen on \(port) within 30 s")
    }

    /// What its health checks say of each node: "node-1" -> "UP", "DOWN", "UP 1/2"...
    public func nodeStates() throws -> [String: String] {
        let text = try Self.ask(statsSocket, "show stat\n")
        // CSV with a header line "# pxname,svname,...,status,...".
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { return [:] }
        let header = lines.removeFirst().trimmingCharacters(in: CharacterSet(charactersIn: "# ")).split(
            separator: ",", omittingEmptySubsequences: false)
        guard let px = header.firstIndex(of: "pxname"), let sv = header.firstIndex(of: "svname"),
            let st = header.firstIndex(of: "status")
        else { return [:] }
        var states: [String: String] = [:]
        for line in lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > max(px, sv, st), fields[px] == "nodes", fields[sv] != "BACKEND" else { continue }
            states[String(fields[sv])] = String(fields[st])
        }
        return states
    }

    /// Sends a command to the stats socket and reads the answer to its end.
    static func ask(_ path: String, _ command: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DaemonProcess.Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw DaemonProcess.Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard connected else { throw DaemonProcess.Failure(description: "connect \(path): \(errno)") }
        let request = Array(command.utf8)
        guard write(fd, request, request.count) == request.count else {
            throw DaemonProcess.Failure(description: "write \(path): \(errno)")
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// Kills it at once (SIGKILL: a child of the test process may not take SIGTERM).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        _ = ProcessExit.wait(process, killAfter: 5)
        DaemonProcess.untrack(process.processIdentifier)
    }
}
