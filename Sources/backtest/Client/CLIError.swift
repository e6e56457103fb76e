/// A failure on this side of the wire (a file, a response we cannot read), with the
/// exit code it ends the process with.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = ExitCodes.failure) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}
