import Foundation

/// The purge's lock over every node sharing one QuestDB: a table, created with a
/// token of this holder (CREATE TABLE fails when the name exists, so one node wins).
/// A lock older than `staleAfter` (by QuestDB's clock) was left by a node that died
/// mid-purge and is broken. The holder checks it still holds the lock before each
/// partition it rewrites.
struct QuestDBPurgeLock {
    let executor: PGExecutor
    let token: String

    /// Takes the lock, or returns nil while another node holds it.
    static func take(_ executor: PGExecutor, staleAfter: Duration) async throws -> QuestDBPurgeLock? {
        let token = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        for attempt in 0..<2 {
            do {
                _ = try await executor.run { db in try db.query(QuestDBSQL.takePurgeLock(token: token)) }
                return QuestDBPurgeLock(executor: executor, token: token)
            } catch {
                // Held (or half made by a node that died): look at it; a read that fails
                // too means the create failed for another reason, unless the holder
                // released the lock in between: then the create is tried again.
                let holder: [[PGValue]]
                do {
                    holder = try await executor.run { db in try db.query(QuestDBSQL.purgeLockHolder.sql).rows }
                } catch let readError {
                    let exists = QuestDBSQL.tableExists(QuestDBSchema.purgeLock)
                    let left = try await executor.run { db in try db.query(exists.sql, exists.parameters).rows }
                    guard attempt == 0, left.first?.first?.int == 0 else { throw readError }
                    continue
                }
                let age = holder.first.flatMap { row in
                    row.count == 3 ? row[2].int.flatMap { now in row[1].int.map { now - $0 } } : nil
                }
                guard let age, age > staleAfter.wholeMicroseconds else { return nil }
                _ = try await executor.run { db in try db.query(QuestDBSQL.dropTable(QuestDBSchema.purgeLock)) }
            }
        }
        return nil
    }

    /// Throws unless this holder still holds the lock.
    func confirm() async throws {
        let holder = try await executor.run { db in try db.query(QuestDBSQL.purgeLockHolder.sql).rows }
        guard holder.first?.first?.text == token else {
            throw StoreError.failed("the QuestDB purge lock was taken over by another node")
        }
    }

    func release() async {
        guard (try? await confirm()) != nil else { return }
        _ = try? await executor.run { db in try db.query(QuestDBSQL.dropTable(QuestDBSchema.purgeLock)) }
    }
}

extension Duration {
    /// Whole microseconds (purge intervals and margins against QuestDB timestamps).
    var wholeMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
