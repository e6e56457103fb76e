#if canImport(Glibc)
    import Glibc
#endif

/// Unbuffered writes to stdout and stderr: a redrawn progress line must reach the
/// terminal at once, and a JSON line must be complete before the next event waits.
enum Console {
    static func out(_ text: String) { write(STDOUT_FILENO, text) }
    static func line(_ text: String = "") { write(STDOUT_FILENO, text + "\n") }
    static func err(_ text: String) { write(STDERR_FILENO, text + "\n") }

    /// Redraws the current terminal line: carriage return, text, erase to end of line.
    static func redraw(_ text: String) { out("\r" + text + "\u{1B}[K") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return  // a closed pipe: nothing more to say
            }
            offset += n
        }
    }
}
