import BacktestStore
import GRPCServices
import Logging
import Synchronization

/// Keeps the health service honest about the store: every `interval` it asks the
/// store whether it can be reached, and sets the server ("") and BacktestService
/// NOT_SERVING while it cannot (a load balancer then sends work elsewhere), SERVING
/// again once it can. Changes are logged once, not every poll.
final class StoreHealthMonitor: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let stopped = Atomic<Bool>(false)

    func start(store: any BacktestStore, health: HealthService, services: [String], interval: Duration, logger: Logger) {
        task.withLock { current in
            guard current == nil else { return }
            current = Task.detached(priority: .userInitiated) { [self] in
                var reachable = true
                while !Task.isCancelled && !stopped.load(ordering: .relaxed) {
                    let found = await store.health()
                    if stopped.load(ordering: .relaxed) { return }
                    if found.reachable != reachable {
                        reachable = found.reachable
                        for name in services { health.setStatus(reachable ? .serving : .notServing, for: name) }
                        if reachable {
                            logger.notice("store reachable again: serving")
                        } else {
                            logger.error("store unreachable: health NOT_SERVING", metadata: ["reason": "\(found.detail)"])
                        }
                    }
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    /// Stops polling (shutdown sets every status itself).
    func stop() async {
        stopped.store(true, ordering: .relaxed)
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }
}
