import Foundation
import Synchronization

/// The node's subscriber connection, on a thread of its own (a subscribed hiredis
/// connection blocks in its wait). Channels come and go as watches do; the thread sends
/// the changes between waits. A lost connection is made again and every channel
/// subscribed again; `resubscribed` then tells the owner, which fetches what it may
/// have missed.
final class BrokerSubscriber: @unchecked Sendable {
    private struct State {
        var channels: Set<String> = []
        /// Changes not yet sent: true subscribes, false unsubscribes.
        var pending: [(String, Bool)] = []
    }

    private let host: String
    private let port: Int
    private let state: Mutex<State>
    private let message: @Sendable (String, [UInt8]) -> Void
    private let resubscribed: @Sendable () -> Void
    private let thread = BrokerThread(name: "backtest.cluster.subscriber")

    /// `fixed` stay subscribed for the subscriber's life.
    init(
        host: String, port: Int, fixed: [String], message: @escaping @Sendable (String, [UInt8]) -> Void,
        resubscribed: @escaping @Sendable () -> Void
    ) {
        self.host = host
        self.port = port
        self.message = message
        self.resubscribed = resubscribed
        state = Mutex(State(channels: Set(fixed)))
    }

    func start() {
        thread.start { [self] in loop() }
    }

    /// Ends the thread (within one wait).
    func stop() { thread.stop() }

    func subscribe(_ channel: String) {
        state.withLock { s in
            if s.channels.insert(channel).inserted { s.pending.append((channel, true)) }
        }
    }

    func unsubscribe(_ channel: String) {
        state.withLock { s in
            if s.channels.remove(channel) != nil { s.pending.append((channel, false)) }
        }
    }

    private func loop() {
        var connection: RedisConnection?
        while thread.isRunning {
            do throws(RedisError) {
                guard let c = connection, !c.isBroken else {
                    connection = nil
                    let c = try RedisConnection(host: host, port: port, timeout: .seconds(2))
                    let channels = state.withLock { s in
                        s.pending.removeAll()
                        return Array(s.channels)
                    }
                    if !channels.isEmpty { try c.send(["SUBSCRIBE"] + channels) }
                    connection = c
                    resubscribed()
                    continue
                }
                for (channel, on) in state.withLock({ s in
                    defer { s.pending.removeAll() }
                    return s.pending
                }) {
                    try c.send([on ? "SUBSCRIBE" : "UNSUBSCRIBE", channel])
                }
                // Short: a new channel waits at most this long to be sent.
                guard let push = try c.nextPush(timeout: .milliseconds(50)) else { continue }
                if let items = push.array, items.count == 3, items[0].text == "message",
                    let channel = items[1].text, case .bulk(let payload) = items[2]
                {
                    message(channel, payload)
                }
            } catch {
                connection = nil
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }
}
