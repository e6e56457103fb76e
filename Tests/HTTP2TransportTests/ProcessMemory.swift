import Foundation

/// This process's resident memory, from /proc/self (Linux): the servers under test
/// run in it, so a bound on its peak is a bound on theirs.
enum ProcessMemory {
    /// Resets the peak (VmHWM) to the current RSS and returns the current RSS in bytes.
    static func resetPeak() throws -> Int {
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        return try field("VmRSS")
    }

    /// The peak RSS in bytes since the last reset.
    static func peakBytes() throws -> Int { try field("VmHWM") }

    private static func field(_ name: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmHWM:\t  123456 kB"
            if let kB = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) }) {
                return kB * 1024
            }
        }
        throw CocoaError(.fileReadCorruptFile)
    }
}
