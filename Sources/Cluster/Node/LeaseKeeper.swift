import Foundation
import Synchronization

/// Renews the node's liveness lease on a thread and a broker connection of its own. The
/// rest of the heartbeat runs on Swift's task pool and the node's one broker link: a
/// saturated machine (every cooperative thread computing) or a long command on the link
/// (a large sweep's shards offered) would otherwise delay the renewal past the lease,
/// and the node would be taken for lost, its sessions failed, while it lives.
final class LeaseKeeper: @unchecked Sendable {
    /// What the latest renewal found.
    enum Finding: Equatable, Sendable {
        /// Renewed, or not tried yet.
        case held
        /// The lease was not this process's any more (it lapsed: the broker restarted,
        /// or the node was frozen or cut off too long).
        case lapsed
        /// The broker could not be reached.
        case unreachable(RedisError)
    }

    private struct State {
        var finding = Finding.held
        /// When the lease was last known to be this process's (renewed, or taken).
        var confirmedAt = ContinuousClock.now
    }

    private let host: String
    private let port: Int
    private let lease: RedisLease
    private let every: Duration
    private let state = Mutex(State())
    private let thread = BrokerThread(name: "backtest.cluster.lease")

    init(host: String, port: Int, lease: RedisLease, every: Duration) {
        self.host = host
        self.port = port
        self.lease = lease
        self.every = every
    }

    /// What the latest renewal found, and when the lease was last known held (a keeper
    /// just thawed from a freeze has not looked yet: the lease may be gone).
    var finding: (Finding, confirmedAt: ContinuousClock.Instant) {
        state.withLock { ($0.finding, $0.confirmedAt) }
    }

    /// The node has just taken its lease again (registered): a lapse found before is
    /// over.
    func registered() {
        state.withLock { s in
            s.finding = .held
            s.confirmedAt = .now
        }
    }

    func start() {
        thread.start { [self] in loop() }
    }

    /// Ends the thread (within a renewal and a tenth of a second).
    func stop() { thread.stop() }

    private func loop() {
        var connection: RedisConnection?
        var next = ContinuousClock.now + every
        while thread.isRunning {
            // Short naps: a stop is seen promptly.
            if ContinuousClock.now < next {
                Thread.sleep(forTimeInterval: min(0.1, Self.seconds(next - ContinuousClock.now)))
                continue
            }
            next = ContinuousClock.now + every
            let finding: Finding
            do throws(RedisError) {
                let c: RedisConnection
                if let open = connection, !open.isBroken {
                    c = open
                } else {
                    // Its timeout well inside the lease: a renewal that hangs must not
                    // outlast it unnoticed.
                    c = try RedisConnection(host: host, port: port, timeout: min(every * 2, .seconds(2)))
                    connection = c
                }
                finding = try lease.renew(on: c) ? .held : .lapsed
            } catch {
                connection = nil
                finding = .unreachable(error)
            }
            state.withLock { s in
                s.finding = finding
                if finding == .held { s.confirmedAt = .now }
            }
        }
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
