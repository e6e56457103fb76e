import RPC

/// Room for a stream's next message (`ServerCallOutbound.awaitCapacity`): bulk
/// handlers ask before they read and encode, and get it within the stream's and the
/// connection's send budgets and a producer slot here and server-wide.
extension H2ServerConnection {
    /// Queues the stream for room for its next message (see `awaitCapacity`).
    func awaitCapacity(_ streamID: Int32, _ ready: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.finish == nil, !closed else {
            ready.resume(throwing: RPCError(.cancelled, "the call has ended"))
            return
        }
        guard !stream.reserved else { return ready.resume() }
        capacityWaiters.append((streamID, ready))
        grantCapacity()
    }

    /// Gives room, in the order asked, to every waiting stream that may build a
    /// message now: its own queue under half the connection's budget (so the next
    /// message is built while the last one is on the wire), the connection's queued
    /// bytes under the budget, and a producer slot free here and server-wide. A
    /// stream whose queue is full does not hold up the streams behind it.
    func grantCapacity() {
        guard !capacityWaiters.isEmpty else { return }
        var waiting: [(streamID: Int32, continuation: CheckedContinuation<Void, any Error>)] = []
        for waiter in capacityWaiters {
            guard let stream = streams[waiter.streamID], stream.finish == nil, !closed else {
                waiter.continuation.resume(throwing: RPCError(.cancelled, "the call has ended"))
                continue
            }
            let fits =
                stream.pending.byteCount < limits.connection.maxConnectionSendBuffer / 2
                && queuedBytes < limits.connection.maxConnectionSendBuffer && producers < limits.maxProducers
            guard fits,
                sendSlots.tryAcquire(
                    for: ObjectIdentifier(self),
                    onFree: { [weak self] in
                        guard let self else { return }
                        loop.execute { self.grantCapacity() }
                    })
            else {
                waiting.append(waiter)
                continue
            }
            stream.reserved = true
            producers += 1
            waiter.continuation.resume()
        }
        capacityWaiters = waiting
    }

    /// The stream no longer keeps room: it sent its message, or it ended.
    func release(_ stream: Stream) {
        guard stream.reserved else { return }
        stream.reserved = false
        producers -= 1
        sendSlots.release()
    }
}
