import Foundation

/// A process's resident memory, from /proc (Linux). Tests bound a server's peak by
/// running it as a process of its own: in the test process, other suites running
/// meanwhile move the peak as much as the server does.
public struct ProcessMemory: Sendable {
    /// "self", or a process id.
    let process: String

    public static let current = ProcessMemory(process: "self")
    public init(pid: Int32) { process = String(pid) }
    init(process: String) { self.process = process }

    /// Resets the peak (VmHWM) to the current RSS and returns the current RSS in bytes.
    public func resetPeak() throws -> Int {
        try "5".write(toFile: "/proc/\(process)/clear_refs", atomically: false, encoding: .utf8)
        return try field("VmRSS")
    }

    /// The peak RSS in bytes since the last reset (or the start).
    public func peakBytes() throws -> Int { try field("VmHWM") }

    private func field(_ name: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmHWM:\t  123456 kB"
            if let kB = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) }) {
                return kB * 1024
            }
        }
        throw CocoaError(.fileReadCorruptFile)
    }
}
