import BacktestCore
import BacktestProto
import HTTP2Transport
import Logging
import RPC
import Synchronization

/// Places a new session on another node when this one has no free run slot (docs/DESIGN.md
/// section 15.4): the StartBacktest goes, as it came, to the node with the most free
/// slots, marked so that node admits it only into a free slot and never places it
/// further. Nodes that turn it down (full meanwhile, unreachable) are passed over; when
/// none takes it, it waits here as on a single node.
final class SessionPlacement: Sendable {
    /// The metadata key of a placed call; its value names the placing node.
    static let placedKey = "x-backtest-placed-by"

    let cluster: any SessionCluster
    let logger: Logger
    private let clients = Mutex<[String: GRPCClient]>([:])

    init(cluster: any SessionCluster, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    /// The answer of the node that took the session, or nil when none did.
    func place(_ request: StartBacktestRequest, metadata: Metadata) async -> StartBacktestResponse? {
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            return nil
        }
        var forwarded = Metadata()
        forwarded.add(Self.placedKey, cluster.nodeId)
        // The caller's credentials go with its request.
        for (key, value) in metadata where key == "authorization" {
            if case .string(let text) = value { forwarded.add(key, text) }
        }
        for address in await cluster.placementCandidates() {
            guard let client = client(for: address) else { continue }
            do {
                let (response, _) = try await client.unary(
                    BacktestServiceMethods.startBacktest.path, request: bytes, metadata: forwarded,
                    timeout: .seconds(10))
                let answer = try StartBacktestResponse(serializedBytes: response)
                logger.info(
                    "session placed on another node",
                    metadata: ["session": "\(answer.sessionID)", "node": "\(address)"])
                return answer
            } catch let error as RPCError where error.code == .resourceExhausted || error.code == .unavailable {
                continue
            } catch {
                logger.warning("placing a session failed", metadata: ["node": "\(address)", "error": "\(error)"])
                continue
            }
        }
        return nil
    }

    private func client(for address: String) -> GRPCClient? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            return nil
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return clients.withLock { cache in
            if let c = cache[address] { return c }
            let c = GRPCClient(configuration: .init(host: host, port: port))
            cache[address] = c
            return c
        }
    }
}
