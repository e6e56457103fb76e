/// What the harnesses share: libFuzzer's driver as `main`, and invariants that fail as
/// crashes libFuzzer keeps (a trap is a deadly signal to it), the reason printed first.
public enum Fuzz {
    /// One input: returns 0 (libFuzzer's "keep going").
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer's driver with the process's arguments (`-max_total_time=`, corpus
    /// directories...) on `test`, and exits with its status. SwiftPM gives every
    /// executable a `main` of its own, so libFuzzer's is not linked: this is the one.
    public static func main(_ test: TestOneInput) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, test))
    }

    /// Stops the run: `message` says which invariant broke and how.
    public static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        fatalError("fuzz invariant broken: \(message)", file: file, line: line)
    }

    /// Fails unless `condition` holds.
    public static func check(
        _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition { fail(message(), file: file, line: line) }
    }
}

/// libFuzzer's entry for programs with their own `main` (compiler-rt's FuzzerDriver).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: Fuzz.TestOneInput
) -> CInt

@_silgen_name("exit")
private func exit(_ status: CInt) -> Never
