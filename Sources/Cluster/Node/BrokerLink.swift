import Dispatch
import Foundation

/// The node's command connection to the broker. hiredis blocks, so every command runs
/// on one serial queue and async callers wait for it there, off the cooperative
/// threads. A lost connection is opened again by the next call, at most once per
/// `retryPause` (a broker that is down fails calls at once instead of making each
/// wait for a connect).
final class BrokerLink: @unchecked Sendable {
    let host: String
    let port: Int
    private let timeout: Duration
    private let retryPause: Duration
    private let queue = DispatchQueue(label: "backtest.cluster.broker")
    // Only touched on `queue`.
    private var connection: RedisConnection?
    private var lastAttempt: ContinuousClock.Instant?

    init(host: String, port: Int, timeout: Duration = .seconds(2), retryPause: Duration = .milliseconds(250)) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retryPause = retryPause
    }

    var address: String { "\(host):\(port)" }

    /// Runs `body` with the connection, on the link's queue.
    func call<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T)
        async throws(RedisError) -> T
    {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.run(body)) }
        }
        return try result.get()
    }

    private func run<T>(_ body: (RedisConnection) throws(RedisError) -> T) -> Result<T, RedisError> {
        do throws(RedisError) {
            let c = try connected()
            return .success(try body(c))
        } catch {
            if case .io = error { connection = nil }
            return .failure(error)
        }
    }

    private func connected() throws(RedisError) -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        let now = ContinuousClock.now
        if let lastAttempt, now - lastAttempt < retryPause {
            throw .io(address: address, message: "not connected (retrying shortly)")
        }
        lastAttempt = now
        let c = try RedisConnection(host: host, port: port, timeout: timeout)
        connection = c
        return c
    }

    /// Drops the connection (the node leaves).
    func close() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection = nil
                c.resume()
            }
        }
    }
}
