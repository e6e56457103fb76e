import BacktestStore
import Logging
import Synchronization

/// Keeps the store in shape, at start and then every `interval`: applies the retention
/// policy (ended sweeps, with their sessions, then ended sessions past their age or
/// beyond their count are deleted, through the registries, which leave live ones alone;
/// a sweep's sessions go only with it), then has the store purge what deleted sessions
/// left (QuestDB removes their rows only later). What fails is logged and tried again
/// next time.
public final class Housekeeper: Sendable {
    /// What one round did.
    public struct Report: Sendable, Equatable {
        /// Sessions the retention policy deleted (not counting a sweep's).
        public var deleted = 0
        /// Sweeps it deleted, and the sessions that went with them.
        public var sweepsDeleted = 0
        public var sweepSessionsDeleted = 0
        public var purge = PurgeReport()
    }

    /// Ended sessions looked at (and deleted) per page.
    static let pageSize = 1000

    let registry: EngineRegistry
    /// nil: sweeps are neither deleted nor known (their sessions are kept as any other).
    let sweeps: SweepRegistry?
    let policy: RetentionPolicy
    let clock: any ServiceClock
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(
        registry: EngineRegistry, sweeps: SweepRegistry? = nil, policy: RetentionPolicy, clock: any ServiceClock,
        logger: Logger
    ) {
        self.registry = registry
        self.sweeps = sweeps
        self.policy = policy
        self.clock = clock
        self.logger = logger
    }

    /// Runs a round now and then every `interval`, in the background.
    public func start(interval: Duration) {
        task.withLock { current in
            guard current == nil else { return }
            current = Task.detached(priority: .utility) { [self] in
                while !Task.isCancelled {
                    do {
                        _ = try await runOnce()
                    } catch {
                        logger.warning("housekeeping failed; trying again later", metadata: ["error": "\(error)"])
                    }
                    try? await clock.sleep(for: interval)
                }
            }
        }
    }

    /// Stops the rounds, waiting for one under way.
    public func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }

    /// One round: retention, then the store's purge.
    public func runOnce() async throws(ServiceError) -> Report {
        var report = Report()
        if !policy.keepsEverything {
            if let sweeps {
                (report.sweepsDeleted, report.sweepSessionsDeleted) = try await applySweepRetention(sweeps)
                if report.sweepsDeleted > 0 {
                    logger.info(
                        "retention deleted ended sweeps",
                        metadata: [
                            "count": "\(report.sweepsDeleted)", "sessions": "\(report.sweepSessionsDeleted)",
                            "maxAge": "\(policy.maxAge.map { "\($0)" } ?? "none")",
                            "maxSweepCount": "\(policy.maxSweepCount.map { "\($0)" } ?? "none")",
                        ])
                }
            }
            report.deleted = try await applyRetention()
            if report.deleted > 0 {
                logger.info(
                    "retention deleted ended sessions",
                    metadata: [
                        "count": "\(report.deleted)", "maxAge": "\(policy.maxAge.map { "\($0)" } ?? "none")",
                        "maxCount": "\(policy.maxCount.map { "\($0)" } ?? "none")",
                    ])
            }
        }
        report.purge = try await ServiceError.storeCall { try await registry.store.purgeDeleted() }
        return report
    }

    /// Pages through the ended sessions, newest first, deleting those the policy lets
    /// go a page at a time (keyset paging: deleting behind the cursor moves nothing).
    private func applyRetention() async throws(ServiceError) -> Int {
        let now = clock.wallMicros
        var query = SessionQuery()
        query.states = [.completed, .failed, .stopped]
        query.pageSize = Self.pageSize
        // By age alone only sessions created before the cutoff can have ended before it.
        if policy.maxCount == nil, let cutoff = policy.ageCutoff(now: now) { query.createdBefore = cutoff }
        var rank = 0
        var deleted = 0
        var sweepExists: [String: Bool] = [:]
        while true {
            let page = try await registry.listSessions(query)
            var expired: [String] = []
            for record in page.sessions {
                // A stored sweep's session is neither counted nor deleted: it goes with
                // its sweep (by the sweeps' age and count).
                if let sweep = record.labels["sweep"], let sweeps {
                    if sweepExists[sweep] == nil { sweepExists[sweep] = try await Self.exists(sweep, in: sweeps) }
                    if sweepExists[sweep] == true { continue }
                }
                // (Ranks follow the listing: a session that ends meanwhile is not in it.)
                if policy.expires(record, rank: rank, now: now) { expired.append(record.id) }
                rank += 1
            }
            if !expired.isEmpty { deleted += try await registry.deleteEnded(expired).count }
            guard !page.nextPageToken.isEmpty else { return deleted }
            query.pageToken = page.nextPageToken
        }
    }

    /// Pages through the ended sweeps, newest first, deleting those the policy lets go
    /// with their sessions, a page at a time. A store without sweeps has none.
    private func applySweepRetention(_ sweeps: SweepRegistry) async throws(ServiceError) -> (Int, Int) {
        let now = clock.wallMicros
        var query = SweepQuery()
        query.states = [.completed, .failed, .stopped]
        query.pageSize = Self.pageSize
        var rank = 0
        var deleted = (sweeps: 0, sessions: 0)
        while true {
            let page: SweepPage
            do {
                page = try await sweeps.store.listSweeps(query)
            } catch StoreError.unsupported {
                return (0, 0)
            } catch {
                throw ServiceError.store(error)
            }
            var expired: [String] = []
            for record in page.sweeps {
                if policy.expires(record, rank: rank, now: now) { expired.append(record.id) }
                rank += 1
            }
            if !expired.isEmpty {
                let gone = try await sweeps.deleteEnded(expired, sessions: registry)
                deleted.sweeps += gone.sweeps.count
                deleted.sessions += gone.sessions
            }
            guard !page.nextPageToken.isEmpty else { return deleted }
            query.pageToken = page.nextPageToken
        }
    }

    /// Whether the sweep a session is labelled with is stored (a store without sweeps
    /// has none).
    private static func exists(_ id: String, in sweeps: SweepRegistry) async throws(ServiceError) -> Bool {
        do {
            return try await sweeps.record(id) != nil
        } catch {
            guard error.kind == .unimplemented else { throw error }
            return false
        }
    }
}
