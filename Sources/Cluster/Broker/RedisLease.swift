/// A lease on a key in Redis: one owner holds it until it expires or is released; only
/// the owner renews or releases it (checked in the server, atomically, by a script).
/// A node holds a lease on each session it runs and on its own liveness: when it dies
/// the leases lapse and the others see it.
public struct RedisLease: Sendable, Equatable {
    public let key: String
    public let owner: String
    public let ttl: Duration

    public init(key: String, owner: String, ttl: Duration) {
        self.key = key
        self.owner = owner
        self.ttl = ttl
    }

    /// The time to live as Redis's PX argument.
    var milliseconds: String {
        String(max(1, ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000))
    }

    /// Takes the lease if nobody holds it; false when another owner does.
    public func acquire(on redis: RedisConnection) throws(RedisError) -> Bool {
        try redis.command(["SET", key, owner, "NX", "PX", milliseconds]) == .status("OK")
    }

    /// Extends the lease by `ttl` from now; false when it is no longer this owner's
    /// (it lapsed, or another owner took it since).
    public func renew(on redis: RedisConnection) throws(RedisError) -> Bool {
        try redis.command(["EVAL", Self.renewScript, "1", key, owner, milliseconds]).integer == 1
    }

    /// Gives the lease up; false when it was not this owner's.
    @discardableResult
    public func release(on redis: RedisConnection) throws(RedisError) -> Bool {
        try redis.command(["EVAL", Self.releaseScript, "1", key, owner]).integer == 1
    }

    /// Who holds the lease on `key` now, if anyone.
    public static func holder(of key: String, on redis: RedisConnection) throws(RedisError) -> String? {
        try redis.command(["GET", key]).text
    }

    // Compare and act in one step: a lease that lapsed and was taken by another owner
    // between a GET and a PEXPIRE must not be extended for the wrong owner.
    static let renewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end
        """
    static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
        """
}
