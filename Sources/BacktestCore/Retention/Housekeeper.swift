import BacktestStore
import Logging
import Synchronization

/// Keeps the store in shape, at start and then every `interval`: applies the retention
/// policy (ended sessions past their age or beyond the count are deleted, through the
/// registry, which leaves live sessions alone), then has the store purge what deleted
/// sessions left (QuestDB removes their rows only later). What fails is logged and
/// tried again next time.
public final class Housekeeper: Sendable {
    /// What one round did.
    public struct Report: Sendable, Equatable {
        /// Sessions the retention policy deleted.
        public var deleted = 0
        public var purge = PurgeReport()
    }

    /// Ended sessions looked at (and deleted) per page.
    static let pageSize = 1000

    let registry: EngineRegistry
    let policy: RetentionPolicy
    let clock: any ServiceClock
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(registry: EngineRegistry, policy: RetentionPolicy, clock: any ServiceClock, logger: Logger) {
        self.registry = registry
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
        while true {
            let page = try await registry.listSessions(query)
            var expired: [String] = []
            for record in page.sessions {
                // (Ranks follow the listing: a session that ends meanwhile is not in it.)
                if policy.expires(record, rank: rank, now: now) { expired.append(record.id) }
                rank += 1
            }
            if !expired.isEmpty { deleted += try await registry.deleteEnded(expired).count }
            guard !page.nextPageToken.isEmpty else { return deleted }
            query.pageToken = page.nextPageToken
        }
    }
}
