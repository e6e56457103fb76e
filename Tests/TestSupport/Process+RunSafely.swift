import CDirentGuard
import Foundation

extension Process {
    /// `run()`, past a Foundation bug: on Linux, `Process.run()` copies the whole 256-byte
    /// `d_name` of each `/proc/self/fd` entry (`findMaximumOpenFromProcSelfFD`), reading
    /// past the end of glibc's directory buffer when enough descriptors are open, and
    /// crashes the test process when that buffer ends a mapping (swift-corelibs-foundation
    /// issue 5472). The test executable's own `readdir` (Tests/DirentGuard) hands out
    /// whole-size entries, so the copy stays inside one.
    public func runSafely() throws {
        precondition(dirent_guard_installed() == 1)
        try run()
    }
}
