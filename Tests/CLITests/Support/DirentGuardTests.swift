import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test executable's readdir (Tests/DirentGuard): entries come whole-size, in the
/// calling thread's own struct, so Foundation's copy of a whole `d_name` while it
/// spawns a process (Process+RunSafely) reads inside one, whatever glibc's buffer.
@Suite struct DirentGuardTests {
    @Test func readdirHandsOutWholeEntries() throws {
        let fds = try #require(opendir("/proc/self/fd"))
        defer { closedir(fds) }
        let root = try #require(opendir("/"))
        defer { closedir(root) }
        let first = try #require(readdir(fds))
        let name = withUnsafeBytes(of: first.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(name == "." || name == ".." || Int(name) != nil)
        let second = try #require(readdir(root))
        #expect(first == second, "both streams' entries come in the thread's one whole-size entry")
        #expect(Int(first.pointee.d_reclen) <= MemoryLayout<dirent>.size)
    }
}
