import Synchronization

/// The request messages of one call, pushed by the transport and read once by the
/// handler. The transport learns when each message is taken (`onConsumed`), which
/// is how inbound flow control reopens the window only as fast as the handler reads.
public final class RequestStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private struct State {
        var messages: [[UInt8]] = []
        var head = 0
        var end: Result<Void, RPCError>?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
    }

    private let state = Mutex(State())
    private let onConsumed: @Sendable (Int) -> Void

    public init(onConsumed: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.onConsumed = onConsumed
    }

    /// Transport side: a complete message arrived.
    public func yield(_ message: [UInt8]) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard s.end == nil else { return nil }
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.messages.append(message)
            return nil
        }
        if let waiter {
            waiter.resume(returning: message)
            onConsumed(message.count)
        }
    }

    /// Transport side: the client half-closed (nil) or the call failed.
    public func finish(_ error: RPCError? = nil) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.waiter = nil }
            return s.waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// The next message, nil at the end; throws the transport's error, or
    /// CancellationError when the handler's task is cancelled while waiting.
    public func next() async throws -> [UInt8]? {
        enum Immediate {
            case message([UInt8])
            case end
            case failure(RPCError)
            case wait
        }
        try Task.checkCancellation()
        let immediate: Immediate = state.withLock { s in
            if s.head < s.messages.count {
                let m = s.messages[s.head]
                s.head += 1
                if s.head == s.messages.count {
                    s.messages.removeAll(keepingCapacity: true)
                    s.head = 0
                }
                return .message(m)
            }
            switch s.end {
            case .success?: return .end
            case .failure(let e)?: return .failure(e)
            case nil: return .wait
            }
        }
        switch immediate {
        case .message(let m):
            onConsumed(m.count)
            return m
        case .end: return nil
        case .failure(let e): throw e
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, any Error>) in
                    let resumeNow: Result<[UInt8]?, any Error>? = state.withLock { s in
                        if s.head < s.messages.count {
                            let m = s.messages[s.head]
                            s.head += 1
                            return .success(m)
                        }
                        switch s.end {
                        case .success?: return .success(nil)
                        case .failure(let e)?: return .failure(e)
                        case nil:
                            // Cancelled since the check above: the handler below may
                            // already have run and found no waiter to wake.
                            if Task.isCancelled { return .failure(CancellationError()) }
                            s.waiter = c
                            return nil
                        }
                    }
                    if let resumeNow { c.resume(with: resumeNow) }
                }
            } onCancel: {
                let w: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                w?.resume(throwing: CancellationError())
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: RequestStream
        public mutating func next() async throws -> [UInt8]? { try await stream.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}

extension RequestStream: CustomStringConvertible {
    /// Its state, for reports of calls that did not end: messages queued, whether the
    /// transport ended it, whether a reader waits.
    public var description: String {
        state.withLock { s in
            let end =
                switch s.end {
                case nil: "open"
                case .success?: "ended"
                case .failure(let e)?: "failed (\(e.status.code))"
                }
            return "\(s.messages.count - s.head) queued, \(end)\(s.waiter == nil ? "" : ", a reader waiting")"
        }
    }
}
