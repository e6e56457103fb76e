import RPC

/// Calls of non-blocking unary methods (`RPCRouter.nonBlockingUnary`), run on the
/// connection's loop when their request is whole: decode, handle, encode and finish
/// in one go, with no task, request stream or hand-off between threads (DESIGN 12.2).
/// The interceptors check the call when it starts, as `ServerCallExecutor.start`
/// does; the deadline is a loop timer while the request is awaited, and is checked
/// again around the handler; a reset before the request is whole just drops the call.
extension H2ServerConnection {
    /// An inline call waiting for its request message.
    struct InlineCall {
        let handler: RPCRouter.InlineHandler
        let context: ServerContext
        /// The request message, once whole (a second one fails the call).
        var request: [UInt8]?
        /// Ends the call DEADLINE_EXCEEDED if the request is not whole by its deadline.
        var timer: EventLoop.TimerID?
    }

    /// Starts an inline call: the interceptors' verdict now, the handler at the end
    /// of the request (`runInline`).
    func startInline(_ stream: Stream, handler: @escaping RPCRouter.InlineHandler, context: ServerContext) {
        if case .status(let status, let trailers)? = executor.admitInline(context) {
            return finishCall(stream.id, status, trailers)
        }
        var call = InlineCall(handler: handler, context: context)
        if let deadline = context.deadline {
            let id = stream.id
            call.timer = after(max(.zero, deadline - .now)) { [unowned self] in inlineDeadlinePassed(id) }
        }
        stream.inline = call
    }

    /// A whole request message for the stream's call: an inline call keeps it for its
    /// handler, any other goes to its request stream. False when that failed the call.
    func deliver(_ message: [UInt8], to stream: Stream) -> Bool {
        guard stream.inline == nil else {
            guard stream.inline?.request == nil else {
                failCall(stream, RPCRouter.extraRequest.status)
                return false
            }
            stream.inline?.request = message
            return true
        }
        stream.unreadBytes += message.count
        stream.requests?.yield(message)
        return true
    }

    /// The client's side ended: the inline call runs and ends, here on the loop.
    func runInline(_ stream: Stream) {
        guard let call = takeInline(stream) else { return }
        guard let request = call.request else {
            return finishCall(stream.id, RPCRouter.noRequest.status, Metadata())
        }
        switch executor.runInline(call.handler, request: request, context: call.context) {
        case .response(let message, let trailers):
            do throws(RPCError) {
                let body = try stream.transcoder.map { transcoder throws(RPCError) in try transcoder.response(message) }
                finish(stream.id, sending: MessageFramer.frame(body ?? message), trailers: trailers)
            } catch {
                finishCall(stream.id, error.status, error.metadata)
            }
        case .status(let status, let trailers):
            finishCall(stream.id, status, trailers)
        }
    }

    /// The stream's inline call, no longer waiting (its timer cancelled); nil if none.
    @discardableResult
    func takeInline(_ stream: Stream) -> InlineCall? {
        guard let call = stream.inline else { return nil }
        stream.inline = nil
        if let timer = call.timer { cancelTimer(timer) }
        return call
    }

    private func inlineDeadlinePassed(_ streamID: Int32) {
        guard let stream = streams[streamID], stream.inline != nil else { return }
        stream.inline = nil  // the timer has fired: nothing to cancel
        finishCall(streamID, ServerCallExecutor.deadlineExceeded.status, Metadata())
    }
}
