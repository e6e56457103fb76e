internal import CZlib
import Foundation
import Synchronization

/// A durable queue, on local disk, of ILP requests that QuestDB could not take (it was
/// down, restarting, or its answer was lost). An append returns once the request is
/// on disk (fdatasync), so a run's results and a session's terminal state survive a
/// QuestDB outage and a restart of this process; QuestDBStore replays the queue in
/// order when QuestDB is back. Replays are idempotent: every table is DEDUP UPSERT
/// and a request's rows carry their keys, so a request sent twice (an answer lost
/// after the commit) lands once.
///
/// Files in `directory`: `spool.log`, records appended one after another
/// (`"ILPS"`, table length u16, payload length u32, crc32 u32, table, payload; little
/// endian), and `spool.head`, the offset of the first record not yet delivered. A
/// record cut short by a crash fails its length or checksum at open and is dropped:
/// its append never returned, so nobody was told it was stored.
final class ILPSpool: Sendable {
    struct Entry: Sendable {
        var table: String
        var bytes: [UInt8]
        /// Where the next record starts: the head once this one is delivered.
        var next: Int64
    }

    private struct State {
        var log: Int32
        var headFile: Int32
        var head: Int64
        var end: Int64
        var pending: [String: Int] = [:]
        var count = 0
    }

    let directory: String
    /// Appends beyond this many bytes of undelivered records fail (the disk is not
    /// filled by an outage that does not end).
    let maxBytes: Int64
    private let state: Mutex<State>
    private static let magic: [UInt8] = Array("ILPS".utf8)
    private static let headerSize = 14

    init(directory: String, maxBytes: Int64 = 8 << 30) throws(StoreError) {
        self.directory = directory
        self.maxBytes = maxBytes
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.failed(
                "cannot create the QuestDB spool directory \(directory): \(error.localizedDescription)")
        }
        let log = open(directory + "/spool.log", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        let headFile = open(directory + "/spool.head", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard log >= 0, headFile >= 0 else {
            let reason = String(cString: strerror(errno))
            if log >= 0 { close(log) }
            if headFile >= 0 { close(headFile) }
            throw StoreError.failed("cannot open the QuestDB spool in \(directory): \(reason)")
        }
        var head: Int64 = 0
        var stored = [UInt8](repeating: 0, count: 8)
        if pread(headFile, &stored, 8, 0) == 8 {
            head = Int64(littleEndian: stored.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })
        }
        var scanned = State(log: log, headFile: headFile, head: max(0, head), end: 0)
        // Count what is pending from the head on; cut a torn tail.
        var offset = scanned.head
        while let (table, next) = Self.readHeader(log, at: offset, verify: true) {
            scanned.pending[table, default: 0] += 1
            scanned.count += 1
            offset = next
        }
        scanned.end = offset
        if ftruncate(log, off_t(offset)) != 0 {
            throw StoreError.failed(
                "cannot truncate the QuestDB spool in \(directory): \(String(cString: strerror(errno)))")
        }
        state = Mutex(scanned)
    }

    deinit {
        state.withLock { s in
            close(s.log)
            close(s.headFile)
        }
    }

    var isEmpty: Bool { state.withLock { $0.count == 0 } }
    var count: Int { state.withLock { $0.count } }
    var bytesPending: Int64 { state.withLock { $0.end - $0.head } }
    func pending(_ table: String) -> Int { state.withLock { $0.pending[table] ?? 0 } }

    /// Adds a request at the end; returns once it is on disk.
    func append(table: String, bytes: [UInt8]) throws(StoreError) {
        let name = Array(table.utf8)
        var record = Self.magic
        Self.put(UInt16(name.count), &record)
        Self.put(UInt32(bytes.count), &record)
        Self.put(UInt32(Self.checksum(name, bytes)), &record)
        record += name
        record += bytes
        try state.withLock { (s: inout State) throws(StoreError) in
            guard s.end - s.head + Int64(record.count) <= maxBytes else {
                throw StoreError.unavailable(
                    "the QuestDB spool in \(directory) holds \(s.end - s.head) bytes of undelivered writes (limit \(maxBytes)): QuestDB has been unreachable too long"
                )
            }
            var written = 0
            while written < record.count {
                let n = record.withUnsafeBytes {
                    pwrite(s.log, $0.baseAddress! + written, record.count - written, off_t(s.end) + off_t(written))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    _ = ftruncate(s.log, off_t(s.end))
                    throw StoreError.failed("cannot write the QuestDB spool in \(directory): \(reason)")
                }
                written += n
            }
            guard fdatasync(s.log) == 0 else {
                let reason = String(cString: strerror(errno))
                _ = ftruncate(s.log, off_t(s.end))
                throw StoreError.failed("cannot sync the QuestDB spool in \(directory): \(reason)")
            }
            s.end += Int64(record.count)
            s.pending[table, default: 0] += 1
            s.count += 1
        }
    }

    /// The oldest undelivered request, nil when there is none.
    func first() throws(StoreError) -> Entry? {
        try state.withLock { (s: inout State) throws(StoreError) -> Entry? in
            guard s.count > 0, let (table, next) = Self.readHeader(s.log, at: s.head, verify: false) else { return nil }
            let start = s.head + Int64(Self.headerSize + table.utf8.count)
            var bytes = [UInt8](repeating: 0, count: Int(next - start))
            let n = bytes.withUnsafeMutableBytes { pread(s.log, $0.baseAddress!, $0.count, off_t(start)) }
            guard n == bytes.count else { throw StoreError.failed("cannot read the QuestDB spool in \(directory)") }
            return Entry(table: table, bytes: bytes, next: next)
        }
    }

    /// Marks the oldest request delivered (or given up on); an empty spool is truncated.
    func remove(_ entry: Entry) throws(StoreError) {
        try state.withLock { (s: inout State) throws(StoreError) in
            guard entry.next > s.head else { return }
            s.head = entry.next
            s.count -= 1
            s.pending[entry.table, default: 1] -= 1
            if s.pending[entry.table] == 0 { s.pending[entry.table] = nil }
            if s.count == 0 {
                // Log first, then head: a crash in between leaves head beyond the end,
                // which reads as empty.
                _ = ftruncate(s.log, 0)
                s.head = 0
                s.end = 0
            }
            var bytes = [UInt8](repeating: 0, count: 8)
            withUnsafeBytes(of: s.head.littleEndian) { bytes = Array($0) }
            guard pwrite(s.headFile, bytes, 8, 0) == 8, fdatasync(s.headFile) == 0 else {
                throw StoreError.failed(
                    "cannot write the QuestDB spool head in \(directory): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: Records

    private static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private static func checksum(_ name: [UInt8], _ payload: [UInt8]) -> UInt {
        var crc = crc32(0, nil, 0)
        crc = name.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        crc = payload.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        return crc
    }

    /// The table and the next record's offset of the record at `offset`, nil when none
    /// is there whole (and, with `verify`, with a valid checksum).
    private static func readHeader(_ fd: Int32, at offset: Int64, verify: Bool) -> (String, Int64)? {
        var header = [UInt8](repeating: 0, count: headerSize)
        guard pread(fd, &header, headerSize, off_t(offset)) == headerSize, Array(header[0..<4]) == magic else {
            return nil
        }
        let nameLength = Int(
            header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self) }.littleEndian)
        let payloadLength = Int(
            header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 6, as: UInt32.self) }.littleEndian)
        let crc = UInt(header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 10, as: UInt32.self) }.littleEndian)
        var name = [UInt8](repeating: 0, count: nameLength)
        guard nameLength == 0 || pread(fd, &name, nameLength, off_t(offset) + off_t(headerSize)) == nameLength else {
            return nil
        }
        let next = offset + Int64(headerSize + nameLength + payloadLength)
        if verify {
            var payload = [UInt8](repeating: 0, count: payloadLength)
            guard
                payloadLength == 0
                    || payload.withUnsafeMutableBytes({
                        pread(fd, $0.baseAddress!, payloadLength, off_t(offset) + off_t(headerSize + nameLength))
                    }) == payloadLength,
                checksum(name, payload) == crc
            else { return nil }
        } else {
            var size = stat()
            guard fstat(fd, &size) == 0, Int64(size.st_size) >= next else { return nil }
        }
        return (String(decoding: name, as: UTF8.self), next)
    }
}
