import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` (Debian's) on 127.0.0.1, a free port, no persistence, for the
/// tests of what talks to the cluster's broker; stopped (and its directory removed)
/// when the test is done, or killed when the test process exits.
public final class RedisServer: @unchecked Sendable {
    public static let executable = "/usr/bin/redis-server"
    /// Why Redis tests cannot run here, or nil when they can.
    public static var unavailable: String? {
        FileManager.default.isExecutableFile(atPath: executable)
            ? nil : "no \(executable) (Debian's redis-server; tools/setup.sh installs it)"
    }

    public private(set) var process = Process()
    public let port: Int
    public let directory: URL

    public init() async throws {
        directory = try DaemonProcess.temporaryDirectory()
        // redis-server takes a port, not 0: take a free one from the kernel and hand it
        // over (another process could take it in between; then start again).
        var lastError: any Error = DaemonProcess.Failure(description: "redis-server did not start")
        for _ in 0..<5 {
            let port = try LocalPort.free()
            do {
                try await Self.start(process, port: port, directory: directory)
                self.port = port
                return
            } catch {
                lastError = error
                process = Process()
            }
        }
        throw lastError
    }

    /// Kills the server at once (SIGKILL): a broker lost without goodbye.
    public func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        _ = ProcessExit.wait(process, killAfter: 5)
        DaemonProcess.untrack(process.processIdentifier)
    }

    /// Starts it again on the same port (after `kill`), empty.
    public func restart() async throws {
        kill()
        process = Process()
        try await Self.start(process, port: port, directory: directory)
    }

    public func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func start(_ process: Process, port: Int, directory: URL) async throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runSafely()
        DaemonProcess.track(process.processIdentifier, nil)
        // Ready when it accepts a connection; gone when it could not bind.
        for _ in 0..<600 {
            guard process.isRunning else {
                DaemonProcess.untrack(process.processIdentifier)
                throw DaemonProcess.Failure(description: "redis-server exited at start (port \(port) taken?)")
            }
            if LocalPort.accepts(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DaemonProcess.Failure(description: "redis-server did not listen on \(port) within 30 s")
    }
}
