import CMalloc
import Foundation

extension Process {
    /// `run()`, past a Foundation bug: on Linux, `Process.run()` copies the whole 256-byte
    /// `d_name` of each `/proc/self/fd` entry (`findMaximumOpenFromProcSelfFD`), reading
    /// past the end of glibc's directory buffer, and crashes the test process when that
    /// buffer ends a mapping (swift-corelibs-foundation PR 5472, seen here in about one
    /// whole-suite run in ten). With allocations from 32 KiB up mapped on their own,
    /// the buffer (32 KiB and a header) lies in pages of its own with room after it.
    public func runSafely() throws {
        _ = Self.mapLargeAllocations
        try run()
    }

    private static let mapLargeAllocations: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 10)
    }()
}
