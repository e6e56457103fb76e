#if canImport(Glibc)
    import Glibc
#endif

/// What stdout is: a terminal (live progress, colours) or a pipe or file (plain
/// lines for scripts), and how wide it is.
struct Terminal: Sendable {
    var isTTY: Bool
    var colors: Bool
    var width: Int

    /// Colours only on a terminal, never with NO_COLOR set (no-color.org) or TERM=dumb.
    static func detect(environment: [String: String]) -> Terminal {
        let tty = isatty(STDOUT_FILENO) == 1
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty || environment["TERM"] == "dumb"
        return Terminal(isTTY: tty, colors: tty && !noColor, width: tty ? columns(environment: environment) : 100)
    }

    static func columns(environment: [String: String]) -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let c = environment["COLUMNS"].flatMap(Int.init), c > 0 { return c }
        return 80
    }

    /// The current width (the window may have been resized since start).
    mutating func refreshWidth(environment: [String: String]) {
        if isTTY { width = Self.columns(environment: environment) }
    }

    var style: Style { Style(enabled: colors) }

    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
}
