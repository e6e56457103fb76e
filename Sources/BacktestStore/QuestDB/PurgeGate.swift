import Synchronization

/// Keeps this process's reads of a table out of the moment a purge rewrites one of its
/// partitions (dropped, then filled again: a read in between would miss rows). Reads
/// share the gate; a rewrite holds it alone, and once it waits, new reads wait behind
/// it so a steady stream of reads cannot hold it off.
final class PurgeGate: Sendable {
    private struct Table {
        var readers = 0
        var rewriting = false
        var rewriteWaiting = false
        var readWaiters: [CheckedContinuation<Void, Never>] = []
        var rewriteWaiter: CheckedContinuation<Void, Never>?
    }
    private let tables = Mutex<[String: Table]>([:])

    /// Runs a read of `table` while no rewrite of it is under way.
    func reading<T>(_ table: String, _ body: () async throws -> T) async throws -> T {
        await enterRead(table)
        defer { leaveRead(table) }
        return try await body()
    }

    /// Runs a rewrite of `table` once its reads have finished, holding new ones off.
    func rewriting<T>(_ table: String, _ body: () async throws -> T) async throws -> T {
        await enterRewrite(table)
        defer { leaveRewrite(table) }
        return try await body()
    }

    private func enterRead(_ table: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = tables.withLock { t -> Bool in
                if t[table, default: Table()].rewriting || t[table, default: Table()].rewriteWaiting {
                    t[table]!.readWaiters.append(continuation)
                    return false
                }
                t[table, default: Table()].readers += 1
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func leaveRead(_ table: String) {
        let next = tables.withLock { t -> CheckedContinuation<Void, Never>? in
            t[table]!.readers -= 1
            guard t[table]!.readers == 0, let waiter = t[table]!.rewriteWaiter else { return nil }
            t[table]!.rewriteWaiter = nil
            t[table]!.rewriteWaiting = false
            t[table]!.rewriting = true
            return waiter
        }
        next?.resume()
    }

    /// Rewrites are serialized by the purge itself: one waits here at a time.
    private func enterRewrite(_ table: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = tables.withLock { t -> Bool in
                if t[table, default: Table()].readers > 0 {
                    t[table]!.rewriteWaiting = true
                    t[table]!.rewriteWaiter = continuation
                    return false
                }
                t[table, default: Table()].rewriting = true
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func leaveRewrite(_ table: String) {
        let waiters = tables.withLock { t -> [CheckedContinuation<Void, Never>] in
            t[table]!.rewriting = false
            let waiters = t[table]!.readWaiters
            t[table]!.readWaiters = []
            t[table]!.readers += waiters.count
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
