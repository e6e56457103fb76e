import BacktestProto
import RPC

/// The process exit codes: scripts tell outcomes apart without parsing text.
/// A gRPC status other than OK exits with 10 + its code.
enum ExitCodes {
    static let ok: Int32 = 0
    /// A local failure: an unreadable file, a bad strategy file, a bad response.
    static let failure: Int32 = 1
    /// A watched session ended FAILED, or `health` found the service not serving.
    static let sessionFailed: Int32 = 2
    /// A watched session ended STOPPED.
    static let sessionStopped: Int32 = 3
    /// Bad command-line arguments (ArgumentParser's code, EX_USAGE).
    static let usage: Int32 = 64
    /// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
    static let interrupted: Int32 = 130

    static func forStatus(_ code: Status.Code) -> Int32 {
        code == .ok ? ok : 10 + Int32(code.rawValue)
    }

    /// The exit code of a watch that saw this terminal status.
    static func forSession(_ status: SessionStatus) -> Int32 {
        switch status {
        case .failed: sessionFailed
        case .stopped: sessionStopped
        default: ok
        }
    }

    /// The table for --help and docs/CLI.md.
    static let table: String = {
        var lines = [
            "  0   OK (a watched session COMPLETED)",
            "  1   local error (unreadable file, bad strategy file, bad response)",
            "  2   the watched session FAILED; health: not serving",
            "  3   the watched session was STOPPED",
        ]
        for code in Status.Code.allCases where code != .ok {
            let n = String(forStatus(code))
            lines.append(String(repeating: " ", count: 3 - n.count) + n + "   " + code.description)
        }
        lines += [" 64   bad command-line arguments", "130   interrupted (Ctrl-C)"]
        return lines.joined(separator: "\n")
    }()
}
