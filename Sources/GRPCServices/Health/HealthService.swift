import BacktestProto
import RPC
import Synchronization

/// `grpc.health.v1.Health`: Check, List and Watch over a table of service statuses
/// that the server updates (NOT_SERVING while draining).
public final class HealthService: Sendable {
    public typealias ServingStatus = GRPCHealthV1.HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    /// `services` start SERVING; "" is the server as a whole.
    public init(services: [String]) {
        state.withLock { s in
            s.statuses[""] = .serving
            for name in services { s.statuses[name] = .serving }
        }
    }

    /// Sets a service's status and tells its watchers.
    public func setStatus(_ status: ServingStatus, for service: String) {
        let targets = state.withLock { s -> [AsyncStream<ServingStatus>.Continuation] in
            s.statuses[service] = status
            return s.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for t in targets { t.yield(status) }
    }

    /// Marks every service NOT_SERVING (graceful shutdown).
    public func setAllNotServing() {
        for name in state.withLock({ Array($0.statuses.keys) }) { setStatus(.notServing, for: name) }
    }

    /// Watch calls subscribed to `service` now (each has been sent the status it
    /// subscribed at, or is about to be).
    public func watcherCount(for service: String) -> Int {
        state.withLock { $0.watchers.values.filter { $0.service == service }.count }
    }

    public func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    public static let serviceName = GRPCHealthV1.HealthMethods.serviceName

    public func register(into router: inout RPCRouter) {
        // Check and List read the table under its lock and answer: non-blocking, so
        // their calls run on the event loop that read them (DESIGN 12.2).
        router.nonBlockingUnary(GRPCHealthV1.HealthMethods.check) {
            [self] (request: GRPCHealthV1.HealthCheckRequest, _) in
            guard let status = status(of: request.service) else {
                throw RPCError(.notFound, "unknown service \(request.service)")
            }
            return GRPCHealthV1.HealthCheckResponse(status: status)
        }
        router.nonBlockingUnary(GRPCHealthV1.HealthMethods.list) { [self] (_: GRPCHealthV1.HealthListRequest, _) in
            let all = state.withLock { $0.statuses }
            return GRPCHealthV1.HealthListResponse(
                statuses: all.mapValues { GRPCHealthV1.HealthCheckResponse(status: $0) })
        }
        router.serverStreaming(GRPCHealthV1.HealthMethods.watch) {
            [self]
            (request: GRPCHealthV1.HealthCheckRequest, writer: ResponseWriter<GRPCHealthV1.HealthCheckResponse>, _) in
            // Latest wins: a slow watcher sees the newest status, never a backlog.
            let (stream, continuation) = AsyncStream<ServingStatus>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let (id, initial) = state.withLock { s -> (Int, ServingStatus) in
                let id = s.nextWatcher
                s.nextWatcher += 1
                s.watchers[id] = (request.service, continuation)
                return (id, s.statuses[request.service] ?? .serviceUnknown)
            }
            defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
            var last = initial
            try await writer.write(GRPCHealthV1.HealthCheckResponse(status: initial))
            for await status in stream where status != last {
                last = status
                try await writer.write(GRPCHealthV1.HealthCheckResponse(status: status))
            }
        }
    }
}
