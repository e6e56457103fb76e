import BacktestStore
import Logging
import Synchronization

/// Keeps the service honest about its store: every `interval` it asks the store
/// whether it can be reached and reports each change (the protocol layer sets its
/// health service NOT_SERVING while it cannot, so a load balancer sends work
/// elsewhere). Changes are logged once, not every poll.
public final class StoreHealthMonitor: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let stopped = Atomic<Bool>(false)

    public init() {}

    public func start(
        store: any BacktestStore, interval: Duration, logger: Logger,
        onChange: @escaping @Sendable (_ reachable: Bool) -> Void
    ) {
        task.withLock { current in
            guard current == nil else { return }
            current = Task.detached(priority: .userInitiated) { [self] in
                var reachable = true
                while !Task.isCancelled && !stopped.load(ordering: .relaxed) {
                    let found = await store.health()
                    if stopped.load(ordering: .relaxed) { return }
                    if found.reachable != reachable {
                        reachable = found.reachable
                        onChange(reachable)
                        if reachable {
                            logger.notice("store reachable again: serving")
                        } else {
                            logger.error(
                                "store unreachable: health NOT_SERVING", metadata: ["reason": "\(found.detail)"])
                        }
                    }
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    /// Stops polling (shutdown sets every status itself).
    public func stop() async {
        stopped.store(true, ordering: .relaxed)
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }
}
