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
    /// A waiting session moved (with `placedKey`): its id, and its creation time in
    /// microseconds since the epoch.
    static let handoverKey = "x-backtest-handover"
    static let handoverCreatedKey = "x-backtest-handover-created-at"

    let cluster: any SessionCluster
    let logger: Logger
    /// The token every node of the cluster requires, for calls no client made (moves).
    let token: String?
    private let clients = Mutex<[String: GRPCClient]>([:])

    init(cluster: any SessionCluster, token: String? = nil, logger: Logger) {
        self.cluster = cluster
        self.token = token
        self.logger = logger
    }

    /// The handover a placed call carries, if it moves a waiting session.
    static func handover(in metadata: Metadata) -> EngineRegistry.Handover? {
        guard let from = metadata[placedKey], let id = metadata[handoverKey],
            let created = metadata[handoverCreatedKey].flatMap({ Int64($0) })
        else { return nil }
        return EngineRegistry.Handover(sessionId: id, createdAt: created, from: from)
    }

    /// Sends a waiting session of this node to the node with the most free slots, as
    /// it is (docs/DESIGN.md section 15.4); true when one admitted it.
    func move(_ spec: RunRequest, _ handover: EngineRegistry.Handover) async -> Bool {
        let request: StartBacktestRequest
        do {
            request = try StartBacktestRequest(serializedBytes: spec.encoded)
        } catch {
            return false
        }
        var metadata = Metadata()
        metadata.add(Self.handoverKey, handover.sessionId)
        metadata.add(Self.handoverCreatedKey, String(handover.createdAt))
        if let token, !token.isEmpty { metadata.add("authorization", "Bearer \(token)") }
        return await place(request, metadata: metadata, handover: true) != nil
    }

    /// The answer of the node that took the session, or nil when none did.
    func place(_ request: StartBacktestRequest, metadata: Metadata, handover: Bool = false) async
        -> StartBacktestResponse?
    {
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            return nil
        }
        var forwarded = Metadata()
        forwarded.add(Self.placedKey, cluster.nodeId)
        // The caller's credentials go with its request (a move's: this node's own), and a
        // move's handover.
        let carried = handover ? ["authorization", Self.handoverKey, Self.handoverCreatedKey] : ["authorization"]
        for (key, value) in metadata where carried.contains(key) {
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
                    handover ? "waiting session sent to another node" : "session placed on another node",
                    metadata: ["session": "\(answer.sessionID)", "node": "\(address)"])
                return answer
            } catch let error as RPCError
                where error.code == .resourceExhausted || error.code == .unavailable
                || (handover && error.code == .failedPrecondition)
            {
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
