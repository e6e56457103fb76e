import Dispatch

/// One PG-wire connection confined to a serial DispatchQueue. libpq blocks, so every
/// call runs there and resumes the caller's continuation: Swift's cooperative threads
/// never wait on the network. A lost connection is reopened on the next call (and a
/// call that found it lost is retried once: everything sent here is a read or
/// idempotent DDL).
final class PGExecutor: @unchecked Sendable {
    // Touched only on `queue`.
    private var connection: PGConnection?
    private var closed = false
    private let queue: DispatchQueue
    private let url: String
    private let connectTimeout: Int

    init(url: String, label: String, connectTimeoutSeconds: Int = 10) {
        self.url = url
        connectTimeout = connectTimeoutSeconds
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.runHere(body, attemptsLeft: 2))
            }
        }
        return try result.get()
    }

    private func runHere<T>(_ body: (PGConnection) throws -> T, attemptsLeft: Int) -> Result<T, StoreError> {
        guard !closed else { return .failure(.unavailable("QuestDB store is closed")) }
        do {
            if connection == nil || connection?.isConnected == false {
                connection?.close()
                connection = try PGConnection(url: url, connectTimeoutSeconds: connectTimeout)
            }
            return .success(try body(connection!))
        } catch let error as StoreError {
            if case .unavailable = error {
                connection?.close()
                connection = nil
                if attemptsLeft > 1 { return runHere(body, attemptsLeft: attemptsLeft - 1) }
            }
            return .failure(error)
        } catch let error as PGServerError {
            // QuestDB reports SQL errors with SQLSTATE 00000: the message is what counts.
            return .failure(.failed("QuestDB: \(error.message)" + (error.detail.isEmpty ? "" : " (\(error.detail))")))
        } catch {
            return .failure(.failed("QuestDB: \(error)"))
        }
    }

    /// Lets queued work finish, then closes the connection; later calls fail as unavailable.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.closed = true
                self.connection?.close()
                self.connection = nil
                continuation.resume()
            }
        }
    }
}
