import BacktestCore
import BacktestProto
import BacktestStore
import Foundation
import GRPCServices
import HTTP2Transport
import Logging
import RPC

/// The whole service on one listener: BacktestService, health and reflection, with
/// optional bearer-token auth and TLS. `backtestd` and the end-to-end tests use it.
public final class BacktestServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `start` returns the one bound.
        public var port: Int
        public var tls: TLSContext?
        /// When set, every RPC but health needs `authorization: Bearer <token>`.
        public var token: String?
        public var limits: EngineRegistry.Limits
        /// How long in-flight calls may take to finish at shutdown.
        public var shutdownGrace: Duration
        public var maxReceiveMessageSize: Int
        /// How often health asks the store whether it can be reached.
        public var storeHealthInterval: Duration = .seconds(1)
        /// The transport's limits: streams, header lists, connection lifetimes and count.
        public var connectionLimits = GRPCServer.ConnectionLimits()
        /// Sweeps: combinations at most, sweeps at once, workers.
        public var sweepLimits = SweepRegistry.Limits()
        /// Which ended sessions are kept (default: all of them).
        public var retention = RetentionPolicy()
        /// How often retention and the store's purge of deleted sessions run (also once
        /// at start).
        public var housekeepingInterval: Duration = .seconds(600)
        /// Browser origins allowed to call (gRPC-Web, Connect); nil: none.
        public var cors: CORSPolicy?
        /// Files answered to GET on the same port (the dashboard); nil: none.
        public var site: StaticSite?
        /// The other nodes sharing the store (docs/ARCHITECTURE.md "Several nodes");
        /// nil: this node answers for its own sessions only.
        public var cluster: (any SessionCluster)?
        /// The same nodes for sweeps: their combinations spread over every node (nil:
        /// each sweep runs on the node that admitted it).
        public var sweepCluster: (any SweepCluster)?
        /// HOST[:PORT] other nodes reach this one at (placement); default: the listening
        /// host (the machine's name when it listens on every address) and bound port.
        public var advertise: String?

        public init(
            host: String = "127.0.0.1", port: Int = 50051, tls: TLSContext? = nil, token: String? = nil,
            limits: EngineRegistry.Limits = .init(), shutdownGrace: Duration = .seconds(10),
            maxReceiveMessageSize: Int = 4 << 20
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.token = token
            self.limits = limits
            self.shutdownGrace = shutdownGrace
            self.maxReceiveMessageSize = maxReceiveMessageSize
        }
    }

    public let registry: EngineRegistry
    public let sweeps: SweepRegistry
    public let health: HealthService
    public let store: any BacktestStore
    private let grpc: GRPCServer
    /// The same service with no sockets: for in-process clients and tests.
    public let inProcess: InProcessTransport
    private let storeHealth = StoreHealthMonitor()
    public let housekeeper: Housekeeper
    /// Places sessions on other nodes, and moves waiting ones there (with a cluster).
    let placement: SessionPlacement?
    private let configuration: Configuration
    private let logger: Logger

    public init(
        configuration: Configuration, store: any BacktestStore, clock: any ServiceClock = SystemClock(),
        logger: Logger = Logger(label: "backtestd")
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        registry = EngineRegistry(
            store: store, limits: configuration.limits, clock: clock, logger: logger, cluster: configuration.cluster)
        sweeps = SweepRegistry(
            store: store, limits: configuration.sweepLimits, clock: clock, logger: logger,
            cluster: configuration.sweepCluster, decode: SweepMapping.sweepRequest(encoded:))
        housekeeper = Housekeeper(
            registry: registry, sweeps: sweeps, policy: configuration.retention, clock: clock, logger: logger)
        health = HealthService(services: [BacktestHandlers.serviceName])
        var router = RPCRouter()
        // Placing sessions on other nodes calls them in cleartext, as the load balancer does.
        let placement = configuration.cluster.flatMap { cluster in
            configuration.tls == nil
                ? SessionPlacement(cluster: cluster, token: configuration.token, logger: logger) : nil
        }
        self.placement = placement
        BacktestHandlers(registry: registry, placement: placement, logger: logger).register(into: &router)
        SweepHandlers(sweeps: sweeps, sessions: registry).register(into: &router)
        health.register(into: &router)
        ReflectionService(serviceNames: [BacktestHandlers.serviceName, HealthService.serviceName]).register(
            into: &router)
        var interceptors: [any ServerInterceptor] = []
        if let token = configuration.token, !token.isEmpty {
            interceptors.append(
                BearerTokenInterceptor(token: token, exemptPrefixes: ["/\(GRPCHealthV1.HealthMethods.serviceName)/"]))
        }
        var grpcConfig = GRPCServer.Configuration(
            host: configuration.host, port: configuration.port,
            maxReceiveMessageSize: configuration.maxReceiveMessageSize,
            tls: configuration.tls)
        grpcConfig.limits = configuration.connectionLimits
        grpcConfig.cors = configuration.cors
        grpcConfig.site = configuration.site
        grpcConfig.onConnectionEvent = { [logger] event in
            switch event {
            case .ended: logger.debug("\(event)")
            case .refused, .acceptFailed: logger.warning("\(event)")
            }
        }
        let executor = ServerCallExecutor(router: router, interceptors: interceptors)
        grpc = GRPCServer(configuration: grpcConfig, executor: executor)
        inProcess = InProcessTransport(executor: executor)
    }

    /// Calls in progress on every transport (they share one executor).
    public var activeCalls: Int { grpc.executor.activeCalls }

    /// Marks sessions and sweeps a previous process left unfinished as failed, then listens, and
    /// starts housekeeping (retention, purge). Returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        try await registry.recoverInterrupted()
        try await sweeps.recoverInterrupted()
        let port = try grpc.start()
        if let cluster = configuration.cluster {
            if let placement {
                await registry.setMover { spec, handover in await placement.move(spec, handover) }
            }
            await registry.noteFreeSlots()
            await sweeps.joinCluster()
            await cluster.join(registry, address: advertisedAddress(port: port))
            await sweeps.startComputingShards()
        }
        housekeeper.start(interval: configuration.housekeepingInterval)
        storeHealth.start(store: store, interval: configuration.storeHealthInterval, logger: logger) {
            [health] reachable in
            for name in ["", BacktestHandlers.serviceName] {
                health.setStatus(reachable ? .serving : .notServing, for: name)
            }
        }
        logger.info(
            "listening", metadata: ["address": "\(configuration.host):\(port)", "tls": "\(configuration.tls != nil)"])
        return port
    }

    /// Where other nodes place sessions on this one.
    func advertisedAddress(port: Int) -> String {
        if let given = configuration.advertise, !given.isEmpty {
            return given.contains(":") && !given.hasSuffix("]") ? given : "\(given):\(port)"
        }
        let host = configuration.host
        let reachable = host == "0.0.0.0" || host == "::" ? ProcessInfo.processInfo.hostName : host
        return reachable.contains(":") ? "[\(reachable)]:\(port)" : "\(reachable):\(port)"
    }

    /// Graceful shutdown: health NOT_SERVING, new sessions and sweeps refused, running
    /// ones stopped with `reason` stored (watchers get their terminal event), then GOAWAY
    /// and in-flight calls drained up to the grace period, then the store closed.
    public func shutdown(reason: String = "server shutting down") async {
        logger.info("shutting down", metadata: ["reason": "\(reason)"])
        await storeHealth.stop()
        await housekeeper.stop()
        health.setAllNotServing()
        await registry.shutdown(reason: reason)
        await sweeps.shutdown(reason: reason)
        await configuration.cluster?.leave()
        await grpc.shutdown(grace: configuration.shutdownGrace)
        await store.close()
        logger.info("stopped")
    }
}
