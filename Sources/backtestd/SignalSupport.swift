import Dispatch
import Synchronization

/// Resumes a continuation once, whichever signal comes first.
final class Once: Sendable {
    private let continuation: Mutex<CheckedContinuation<Int32, Never>?>

    init(_ c: CheckedContinuation<Int32, Never>) {
        continuation = Mutex(c)
    }

    func resume(_ value: Int32) {
        continuation.withLock { c in
            c?.resume(returning: value)
            c = nil
        }
    }
}

/// Signal sources live as long as the process; this keeps them from being released.
enum Sources {
    nonisolated(unsafe) private static var kept: [any DispatchSourceSignal] = []
    private static let lock = Mutex(())

    static func keep(_ s: any DispatchSourceSignal) {
        lock.withLock { _ in kept.append(s) }
    }
}
