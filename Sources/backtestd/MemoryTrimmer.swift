internal import CMalloc
import Glibc
import Logging
import ServiceLifecycle

/// Gives memory freed after a burst back to the system. glibc keeps freed heap in its
/// arenas: after a hundred large result streams the idle daemon sat at 1 GB RSS, and
/// `malloc_trim` brought it to 66 MB. Trimming walks the arenas, so it runs only when
/// the server is idle and has grown since the last trim.
struct MemoryTrimmer: Service {
    /// No call in progress.
    let isIdle: @Sendable () -> Bool
    let logger: Logger
    var interval: Duration = .seconds(5)
    /// Growth since the last trim that is worth a trim.
    var threshold = 32 << 20

    func run() async throws {
        // Ends with the service group's shutdown (the sleep is cancelled).
        try? await cancelWhenGracefulShutdown { [self] in
            var baseline = Self.residentBytes()
            while true {
                try await Task.sleep(for: interval)
                let now = Self.residentBytes()
                guard now > baseline + threshold, isIdle() else {
                    baseline = min(baseline, now)
                    continue
                }
                malloc_trim(0)
                baseline = Self.residentBytes()
                logger.debug(
                    "memory returned",
                    metadata: ["rss_before": "\(now >> 20) MiB", "rss_after": "\(baseline >> 20) MiB"])
            }
        }
    }

    /// Resident set size in bytes (/proc/self/statm's second field, in pages).
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
