import Synchronization

/// Read-after-write on QuestDB's WAL tables. An acknowledged write (ILP 204) is
/// committed to the table's sequencer but applied to the readable table a few ms
/// later. The store counts its own writes per table; a read of a table with writes
/// not yet known to be applied first waits until `wal_tables()` shows writerTxn
/// reaching the sequencerTxn seen at the start of the wait (which covers every write
/// acknowledged before it). So callers read their own writes without every write
/// paying the wait; writes by other processes are not waited for.
final class WALVisibility: Sendable {
    private struct Counts {
        var written: UInt64 = 0
        var visible: UInt64 = 0
    }
    private let counts = Mutex<[String: Counts]>([:])

    func wrote(_ table: String) {
        counts.withLock { $0[table, default: Counts()].written += 1 }
    }

    /// The write count to confirm, nil when every write of `table` is known visible.
    func pending(_ table: String) -> UInt64? {
        counts.withLock { c in
            let t = c[table, default: Counts()]
            return t.visible < t.written ? t.written : nil
        }
    }

    func confirmed(_ table: String, upTo written: UInt64) {
        counts.withLock { c in
            if c[table, default: Counts()].visible < written { c[table]!.visible = written }
        }
    }

    /// One `wal_tables()` row judged against the sequencer txn to reach.
    enum Progress: Equatable {
        case applied
        case pending(writerTxn: Int64, sequencerTxn: Int64)
        case suspended(writerTxn: Int64, sequencerTxn: Int64)
    }

    /// `row` is `suspended, writerTxn, sequencerTxn`; `target` nil = this row's sequencerTxn.
    static func progress(_ row: [PGValue], target: Int64?) throws(StoreError) -> (Progress, target: Int64) {
        guard row.count == 3, case .bool(let suspended) = row[0], let writer = row[1].int, let sequencer = row[2].int
        else {
            throw StoreError.failed("wal_tables() returned an unexpected row: \(row)")
        }
        let goal = target ?? sequencer
        if writer >= goal { return (.applied, goal) }
        if suspended { return (.suspended(writerTxn: writer, sequencerTxn: sequencer), goal) }
        return (.pending(writerTxn: writer, sequencerTxn: sequencer), goal)
    }
}
