import BacktestCore
import BacktestProto
import BacktestService
import BacktestStore
import Foundation
import RPC
import TestSupport

/// The whole service in this process on a real SQLite store, reached through the
/// generated client over the in-process transport: the same router, interceptors and
/// status mapping as over HTTP/2, with no daemon and no sockets.
struct InProcessServer: Sendable {
    let server: BacktestServer
    let client: BacktestServiceClient
    let directory: URL

    init(clock: any ServiceClock = SystemClock()) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("inproc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("s.db").path)
        server = BacktestServer(configuration: .init(port: 0), store: store, clock: clock)
        client = BacktestServiceClient(RPCClient(transport: server.inProcess))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// Imports a CSV file through ImportMarketData in 10,000-byte chunks.
    func importCSV(_ path: String, _ header: ImportHeader) async throws -> ImportMarketDataResponse {
        let csv = try Data(contentsOf: URL(fileURLWithPath: path))
        return try await client.importMarketData { send in
            try await send(ImportMarketDataRequest(payload: .header(header)))
            var offset = 0
            while offset < csv.count {
                let end = min(offset + 10_000, csv.count)
                try await send(ImportMarketDataRequest(payload: .csvChunk([UInt8](csv[offset..<end]))))
                offset = end
            }
        }
    }

    /// The status of a call that is expected to fail (nil when it succeeds).
    static func status(_ body: () async throws -> some Any) async -> RPCError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    /// Waits until the session is in one of `statuses` (it asks; it does not time).
    func waitFor(_ id: String, _ statuses: Set<SessionStatus>) async throws -> Session {
        while true {
            let s = try await client.getSession(GetSessionRequest(sessionID: id)).session ?? Session()
            if statuses.contains(s.status) { return s }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// One in-process server with the GOOG sample, shared by the tests that need nothing
/// special of it.
actor SharedInProcessServer {
    static let shared = SharedInProcessServer()
    private var started: InProcessServer?

    func get() async throws -> InProcessServer {
        if let started { return started }
        let s = try await InProcessServer()
        _ = try await s.importCSV(
            Fixtures.googCSV,
            ImportHeader(symbol: "GOOG", kind: .candles, timeframe: "1d", format: .csv, sourceName: "GOOG.csv"))
        started = s
        return s
    }
}
