/// The broker's keys and channels, under one prefix (several clusters may share a
/// Redis by prefix).
struct BrokerKeys: Sendable {
    let prefix: String

    /// The live nodes' names (a set); a member whose `node` lease has lapsed is dead.
    var nodes: String { "\(prefix)nodes" }
    /// Each node's gRPC address, for placement (a hash).
    var addresses: String { "\(prefix)addresses" }
    /// Each node's free run slots (a hash).
    var freeSlots: String { "\(prefix)free" }
    /// A node's liveness lease, renewed by its heartbeat.
    func node(_ id: String) -> String { "\(prefix)node:\(id)" }
    /// The sessions a node answers for (a set).
    func owned(_ node: String) -> String { "\(prefix)owned:\(node)" }
    /// A node's active sessions: session id to its latest state (a hash of JSON).
    func active(_ node: String) -> String { "\(prefix)active:\(node)" }
    /// The node answering for a session.
    func owner(_ session: String) -> String { "\(prefix)owner:\(session)" }
    /// Held while a node marks a dead node's sessions failed.
    func reaping(_ node: String) -> String { "\(prefix)reaping:\(node)" }
    /// The sessions a node's reaper failed, with their stored end (a hash of JSON): the
    /// node, should it come back, ends them so rather than store its own end over it.
    func reaped(_ node: String) -> String { "\(prefix)reaped:\(node)" }
    /// A waiting session its node offers to another (the offering node's name), claimed
    /// once by the node that admits it.
    func handover(_ session: String) -> String { "\(prefix)handover:\(session)" }
    /// A session's events (pub/sub).
    func progress(_ session: String) -> String { "\(prefix)progress:\(session)" }
    /// Stop requests for a node's sessions (pub/sub).
    func stops(_ node: String) -> String { "\(prefix)stop:\(node)" }

    /// Sweeps whose shards are offered (a set): workers take shards of these.
    var sweeps: String { "\(prefix)sweeps" }
    /// A sweep: its request (base64), coordinator and latest progress (a hash).
    func sweep(_ id: String) -> String { "\(prefix)sweep:\(id)" }
    /// A sweep's shards (a stream, consumed by the group `shardGroup`).
    func shards(_ sweep: String) -> String { "\(prefix)shards:\(sweep)" }
    /// A sweep's shard reports (a stream, read by its coordinator).
    func reports(_ sweep: String) -> String { "\(prefix)reports:\(sweep)" }
    /// The sweeps a node coordinates (a set): a live node adopts them if it dies.
    func coordinating(_ node: String) -> String { "\(prefix)coordinating:\(node)" }
    /// The consumer group of every sweep's shards.
    let shardGroup = "workers"

    /// The session id of a `progress` channel.
    func session(ofProgress channel: String) -> String? {
        let head = "\(prefix)progress:"
        guard channel.hasPrefix(head) else { return nil }
        return String(channel.dropFirst(head.count))
    }
}
