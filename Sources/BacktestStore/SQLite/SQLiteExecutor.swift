import Dispatch

/// One SQLite connection confined to a serial DispatchQueue. SQLite calls block, so
/// they run there and resume the caller's continuation: Swift's cooperative threads
/// never wait on disk or on SQLite's busy handler.
final class SQLiteExecutor: @unchecked Sendable {
    // Touched only on `queue`.
    private var connection: SQLiteConnection?
    private let queue: DispatchQueue
    let path: String

    /// Opens the connection on the queue and runs `setup` there.
    init(path: String, label: String, setup: (SQLiteConnection) throws(StoreError) -> Void) throws(StoreError) {
        self.path = path
        queue = DispatchQueue(label: label)
        let result: Result<SQLiteConnection, StoreError> = queue.sync {
            do throws(StoreError) {
                let connection = try SQLiteConnection(path: path)
                try setup(connection)
                return .success(connection)
            } catch {
                return .failure(error)
            }
        }
        connection = try result.get()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                guard let connection = self.connection else {
                    continuation.resume(returning: .failure(.unavailable("SQLite store \(self.path) is closed")))
                    return
                }
                let result: Result<T, StoreError>
                do throws(StoreError) {
                    result = .success(try body(connection))
                } catch {
                    result = .failure(error)
                }
                connection.resetStatements()
                continuation.resume(returning: result)
            }
        }
        return try result.get()
    }

    /// Lets queued work finish, then closes the connection; later calls fail as unavailable.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.connection?.close()
                self.connection = nil
                continuation.resume()
            }
        }
    }
}
