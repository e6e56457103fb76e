import ArgumentParser
import BacktestCore
import BacktestService
import BacktestStore
import Cluster
import Dashboard
import Dispatch
import Foundation
import HTTP2Transport
import Logging
import ServiceLifecycle

/// The backtest server: flags, or environment variables for each, then serve until
/// SIGTERM or SIGINT, and shut down gracefully.
@main
struct BacktestDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtestd",
        abstract: "Serves backtest.v1.BacktestService over gRPC (HTTP/2).",
        discussion: """
            Every option can also come from an environment variable (shown in its help); a flag wins.
            Stores: sqlite:PATH (the default, embedded, sqlite:backtest.db) or
            questdb (with --questdb-http http://127.0.0.1:9000 and --questdb-pg postgresql://admin:quest@127.0.0.1:8812/qdb).

            Retention: --retain-age and --retain-count delete ended sessions (every row of
            them, on either store) once they ended longer ago than the age, or beyond the
            newest COUNT; STARTED and RUNNING sessions are never touched. Ended sweeps go
            by the same age and by --retain-sweeps (default: the --retain-count number,
            counted among sweeps), with the sessions they stored (labelled sweep=ID);
            those sessions are kept while their sweep is, and not counted as sessions.
            It runs at start and every --housekeeping-interval, with QuestDB's purge of
            deleted rows.

            Examples:
              backtestd                                   # 127.0.0.1:50051, ./backtest.db
              backtestd --retain-age 30d --retain-count 10000
              backtestd --retain-count 10000 --retain-sweeps 50
              backtestd --port 0 --port-file /tmp/port    # a free port, written to a file
              backtestd --store sqlite:/var/lib/backtest/results.db --token s3cret
              backtestd --store questdb --questdb-http http://127.0.0.1:9000 --questdb-pg postgresql://admin:quest@127.0.0.1:8812/qdb
            """)

    @Option(help: "Address to listen on (env BACKTESTD_HOST).")
    var host: String = env("BACKTESTD_HOST") ?? "127.0.0.1"

    @Option(help: "Port; 0 picks a free one (env BACKTESTD_PORT).")
    var port: Int = env("BACKTESTD_PORT").flatMap(Int.init) ?? 50051

    @Option(help: "Write the bound port to this file once listening.")
    var portFile: String?

    @Option(help: "Where results and market data live: sqlite:PATH or questdb (env BACKTESTD_STORE).")
    var store: String = env("BACKTESTD_STORE") ?? "sqlite:backtest.db"

    @Option(help: "QuestDB's HTTP address, for ILP writes (env QUESTDB_HTTP).")
    var questdbHttp: String?

    @Option(help: "QuestDB's PostgreSQL wire address (env QUESTDB_PG).")
    var questdbPg: String?

    @Option(
        help:
            "This node's name, stored with the sessions it runs; several backtestd sharing one QuestDB need distinct names, and a restarted one the same (env BACKTESTD_NODE_ID; default: HOSTNAME:PORT)."
    )
    var nodeId: String?

    @Option(
        help: ArgumentHelp(
            "Join a cluster through this broker: several backtestd on one QuestDB then answer for each other's sessions (redis://HOST:PORT; needs --store questdb; env BACKTESTD_BROKER; default: a single node).",
            valueName: "url"))
    var broker: String?

    @Option(
        help: ArgumentHelp(
            "With --broker: HOST[:PORT] other nodes reach this one at, to place sessions here when they are full (env BACKTESTD_ADVERTISE; default: --host, or the machine's name when listening on 0.0.0.0, and the bound port).",
            valueName: "address"))
    var advertise: String?

    @Option(
        help:
            "Where writes QuestDB cannot take wait for it, on local disk (env BACKTESTD_QUESTDB_SPOOL; default: ~/.local/state/backtestd/spool/NODE-ID)."
    )
    var questdbSpool: String?

    @Option(help: "Seconds a run waits for an unreachable store before it fails (env BACKTESTD_STORE_RETRY).")
    var storeRetry: Double = env("BACKTESTD_STORE_RETRY").flatMap(Double.init) ?? 120

    @Option(
        help: ArgumentHelp(
            "Delete ended sessions and sweeps that ended longer ago than this: 90m, 12h, 30d, 2w, or seconds (env BACKTESTD_RETAIN_AGE; default: keep them).",
            valueName: "age"))
    var retainAge: String?

    @Option(
        help: ArgumentHelp(
            "Keep only the newest COUNT ended sessions, by creation (env BACKTESTD_RETAIN_COUNT; default: all).",
            valueName: "count"))
    var retainCount: String?

    @Option(
        help: ArgumentHelp(
            "Keep only the newest COUNT ended sweeps, by creation, with their sessions (env BACKTESTD_RETAIN_SWEEPS; default: the --retain-count number, else all).",
            valueName: "count"))
    var retainSweeps: String?

    @Option(
        help: ArgumentHelp(
            "How often retention and the QuestDB purge of deleted sessions' rows run, besides at start: 10m, 1h, or seconds (env BACKTESTD_HOUSEKEEPING_INTERVAL).",
            valueName: "interval"))
    var housekeepingInterval: String = env("BACKTESTD_HOUSEKEEPING_INTERVAL") ?? "10m"

    @Option(help: "TLS certificate chain (PEM); serves TLS with ALPN h2 (env BACKTESTD_TLS_CERT).")
    var tlsCert: String?

    @Option(help: "TLS private key (PEM) (env BACKTESTD_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Require `authorization: Bearer TOKEN` on every RPC but health (env BACKTESTD_TOKEN).")
    var token: String?

    @Option(
        help:
            "Sessions computing at once (paced sessions asleep hold no slot); the rest wait (env BACKTESTD_MAX_RUNNING; default: the number of cores)."
    )
    var maxRunning: Int = env("BACKTESTD_MAX_RUNNING").flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Sessions waiting at most; beyond, StartBacktest is RESOURCE_EXHAUSTED (env BACKTESTD_MAX_QUEUED).")
    var maxQueued: Int = env("BACKTESTD_MAX_QUEUED").flatMap(Int.init) ?? 64

    @Option(
        help:
            "Combinations one sweep may run at most; beyond, StartSweep is INVALID_ARGUMENT (env BACKTESTD_MAX_SWEEP_COMBINATIONS)."
    )
    var maxSweepCombinations: Int = env("BACKTESTD_MAX_SWEEP_COMBINATIONS").flatMap(Int.init) ?? 1_000_000

    @Option(
        help:
            "Combinations a sweep computes at once (env BACKTESTD_SWEEP_WORKERS; default: the number of cores). One sweep runs at a time; the rest wait."
    )
    var sweepWorkers: Int =
        env("BACKTESTD_SWEEP_WORKERS").flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help:
            "MiB of indicator columns a sweep keeps to share between its combinations; 0 turns sharing off (env BACKTESTD_SWEEP_COLUMN_MEMORY)."
    )
    var sweepColumnMemory: Int = env("BACKTESTD_SWEEP_COLUMN_MEMORY").flatMap(Int.init) ?? 256

    @Option(help: "Seconds in-flight calls get to finish at shutdown (env BACKTESTD_SHUTDOWN_GRACE).")
    var shutdownGrace: Double = env("BACKTESTD_SHUTDOWN_GRACE").flatMap(Double.init) ?? 10

    // Connection limits (docs/DESIGN.md section 12.1): defaults like grpc-go's.

    @Option(
        help:
            "Client connections open at most; one more is accepted and closed at once. Capped at the descriptor limit less a reserve of \(Self.descriptorReserve) (env BACKTESTD_MAX_CONNECTIONS)."
    )
    var maxConnections: Int = env("BACKTESTD_MAX_CONNECTIONS").flatMap(Int.init) ?? 10_000

    @Option(
        help:
            "Concurrent calls per connection (SETTINGS_MAX_CONCURRENT_STREAMS); a stream beyond is refused with REFUSED_STREAM (env BACKTESTD_MAX_CONCURRENT_STREAMS)."
    )
    var maxConcurrentStreams: Int = env("BACKTESTD_MAX_CONCURRENT_STREAMS").flatMap(Int.init) ?? 100

    @Option(
        help:
            "Bytes of request headers at most (SETTINGS_MAX_HEADER_LIST_SIZE); a larger request is RESOURCE_EXHAUSTED (env BACKTESTD_MAX_HEADER_LIST_SIZE)."
    )
    var maxHeaderListSize: Int = env("BACKTESTD_MAX_HEADER_LIST_SIZE").flatMap(Int.init) ?? 16384

    @Option(
        help:
            "Response bytes one connection may have queued for a client that is not reading before its result streams wait (env BACKTESTD_MAX_CONNECTION_SEND_BUFFER)."
    )
    var maxConnectionSendBuffer: Int = env("BACKTESTD_MAX_CONNECTION_SEND_BUFFER").flatMap(Int.init) ?? 4 << 20

    @Option(
        help:
            "Result-stream messages (trades, equity) built at once over all connections; default: twice the cores (env BACKTESTD_MAX_CONCURRENT_PRODUCERS)."
    )
    var maxConcurrentProducers: Int?

    @Option(
        name: .customLong("cors-origin"),
        help: ArgumentHelp(
            "A browser origin whose pages may call the server with gRPC-Web or Connect, e.g. https://dash.example:8443; repeat for more, * for any (env BACKTESTD_CORS_ORIGINS, comma-separated).",
            valueName: "origin"))
    var corsOrigins: [String] = []

    @Flag(
        inversion: .prefixedNo,
        help:
            "Serve the dashboard (a browser page calling the API) to GET / on the same port (env BACKTESTD_DASHBOARD=0 turns it off)."
    )
    var dashboard: Bool = !["0", "false", "no"].contains(env("BACKTESTD_DASHBOARD")?.lowercased() ?? "")

    @Option(
        help:
            "Seconds a new connection has to finish TLS and the HTTP/2 preface before it is closed (env BACKTESTD_HANDSHAKE_TIMEOUT)."
    )
    var handshakeTimeout: Double = env("BACKTESTD_HANDSHAKE_TIMEOUT").flatMap(Double.init) ?? 20

    @Option(
        help:
            "Seconds a connection may go without a call before a graceful GOAWAY; 0: never (env BACKTESTD_MAX_CONNECTION_IDLE)."
    )
    var maxConnectionIdle: Double = env("BACKTESTD_MAX_CONNECTION_IDLE").flatMap(Double.init) ?? 300

    @Option(
        help:
            "Seconds (±10%) before a connection gets a graceful GOAWAY however busy; 0: never (env BACKTESTD_MAX_CONNECTION_AGE)."
    )
    var maxConnectionAge: Double = env("BACKTESTD_MAX_CONNECTION_AGE").flatMap(Double.init) ?? 0

    @Option(
        help:
            "Seconds calls still running get after the max-age GOAWAY before the connection is closed (env BACKTESTD_MAX_CONNECTION_AGE_GRACE; default: as long as they take)."
    )
    var maxConnectionAgeGrace: Double?

    @Option(
        help: "Seconds a connection may be silent before the server pings it (env BACKTESTD_KEEPALIVE_TIME).")
    var keepaliveTime: Double = env("BACKTESTD_KEEPALIVE_TIME").flatMap(Double.init) ?? 7200

    @Option(
        help: "Seconds the server waits for any answer to its ping before closing (env BACKTESTD_KEEPALIVE_TIMEOUT).")
    var keepaliveTimeout: Double = env("BACKTESTD_KEEPALIVE_TIMEOUT").flatMap(Double.init) ?? 20

    @Option(
        help:
            "Seconds clients must leave between pings (two hours while they have no call open); a third ping sooner gets GOAWAY ENHANCE_YOUR_CALM (env BACKTESTD_KEEPALIVE_MIN_TIME)."
    )
    var keepaliveMinTime: Double = env("BACKTESTD_KEEPALIVE_MIN_TIME").flatMap(Double.init) ?? 300

    @Flag(
        inversion: .prefixedNo,
        help:
            "Let clients ping while they have no call open (env BACKTESTD_KEEPALIVE_PERMIT_WITHOUT_CALLS=1)."
    )
    var keepalivePermitWithoutCalls: Bool = ["1", "true", "yes"].contains(
        env("BACKTESTD_KEEPALIVE_PERMIT_WITHOUT_CALLS")?.lowercased() ?? "")

    @Option(help: "trace, debug, info, notice, warning, error or critical (env BACKTESTD_LOG_LEVEL).")
    var logLevel: String = env("BACKTESTD_LOG_LEVEL") ?? "info"

    /// Options that may come from the environment: the flag wins.
    var resolved: (questdbHttp: String?, questdbPg: String?, tlsCert: String?, tlsKey: String?, token: String?) {
        (
            questdbHttp ?? env("QUESTDB_HTTP"), questdbPg ?? env("QUESTDB_PG"), tlsCert ?? env("BACKTESTD_TLS_CERT"),
            tlsKey ?? env("BACKTESTD_TLS_KEY"), token ?? env("BACKTESTD_TOKEN")
        )
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxRunning >= 1 else { throw ValidationError("--max-running must be at least 1") }
        guard maxQueued >= 0 else { throw ValidationError("--max-queued must not be negative") }
        guard maxSweepCombinations >= 1 else { throw ValidationError("--max-sweep-combinations must be at least 1") }
        guard sweepWorkers >= 1 else { throw ValidationError("--sweep-workers must be at least 1") }
        guard sweepColumnMemory >= 0 && sweepColumnMemory <= 1 << 20 else {
            throw ValidationError("--sweep-column-memory must be 0 (no sharing) to 1048576 MiB")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level \(logLevel)")
        }
        guard (resolved.tlsCert == nil) == (resolved.tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard shutdownGrace >= 0, shutdownGrace.isFinite else {
            throw ValidationError("--shutdown-grace must be a non-negative number")
        }
        guard storeRetry >= 0, storeRetry.isFinite else {
            throw ValidationError("--store-retry must be a non-negative number")
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard (1...Int(UInt32.max)).contains(maxConcurrentStreams) else {
            throw ValidationError("--max-concurrent-streams must be at least 1")
        }
        guard (1024...Int(UInt32.max)).contains(maxHeaderListSize) else {
            throw ValidationError("--max-header-list-size must be at least 1024 (bytes)")
        }
        guard maxConnectionSendBuffer >= 64 << 10 else {
            throw ValidationError("--max-connection-send-buffer must be at least 65536 (bytes)")
        }
        guard (resolvedProducers ?? 1) >= 1 else {
            throw ValidationError("--max-concurrent-producers must be at least 1")
        }
        for (name, seconds) in [
            ("--handshake-timeout", handshakeTimeout), ("--keepalive-time", keepaliveTime),
            ("--keepalive-timeout", keepaliveTimeout),
        ] where !(seconds > 0 && seconds.isFinite) {
            throw ValidationError("\(name) must be a positive number of seconds")
        }
        for (name, seconds) in [
            ("--max-connection-idle", maxConnectionIdle), ("--max-connection-age", maxConnectionAge),
            ("--max-connection-age-grace", resolvedAgeGrace ?? 0), ("--keepalive-min-time", keepaliveMinTime),
        ] where !(seconds >= 0 && seconds.isFinite) {
            throw ValidationError("\(name) must be a non-negative number of seconds")
        }
        guard !resolvedNodeId.isEmpty, resolvedNodeId.utf8.count <= 256 else {
            throw ValidationError("--node-id must be 1 to 256 bytes")
        }
        if let url = resolvedBroker {
            guard Self.brokerAddress(url) != nil else {
                throw ValidationError("--broker must be redis://HOST:PORT, got '\(url)'")
            }
            guard store == "questdb" else {
                throw ValidationError("--broker needs --store questdb: the nodes of a cluster share one QuestDB")
            }
        }
        if let address = resolvedAdvertise, Self.hostAndPort(address) == nil {
            throw ValidationError("--advertise must be HOST or HOST:PORT, got '\(address)'")
        }
        _ = try retention()
        _ = try cors()
        guard let interval = DurationText.parse(housekeepingInterval), interval >= .seconds(1) else {
            throw ValidationError(
                "--housekeeping-interval: '\(housekeepingInterval)' is not a duration of a second or more (10m, 1h, 600)"
            )
        }
    }

    /// The retention policy the flags ask for.
    func retention() throws -> RetentionPolicy {
        var policy = RetentionPolicy()
        if let retainAge = retainAge ?? env("BACKTESTD_RETAIN_AGE") {
            guard let age = DurationText.parse(retainAge), age > .zero else {
                throw ValidationError(
                    "--retain-age: '\(retainAge)' is not a positive duration (90m, 12h, 30d, 2w, or seconds)")
            }
            policy.maxAge = age
        }
        if let count = retainCount ?? env("BACKTESTD_RETAIN_COUNT") {
            guard let retainCount = Int(count), retainCount >= 0 else {
                throw ValidationError("--retain-count: '\(count)' is not a number of sessions (0 or more)")
            }
            policy.maxCount = retainCount
        }
        policy.maxSweepCount = policy.maxCount
        if let count = retainSweeps ?? env("BACKTESTD_RETAIN_SWEEPS") {
            guard let retainSweeps = Int(count), retainSweeps >= 0 else {
                throw ValidationError("--retain-sweeps: '\(count)' is not a number of sweeps (0 or more)")
            }
            policy.maxSweepCount = retainSweeps
        }
        return policy
    }

    /// Origins from --cors-origin, else BACKTESTD_CORS_ORIGINS; nil when none.
    func cors() throws -> CORSPolicy? {
        let given =
            corsOrigins.isEmpty
            ? (env("BACKTESTD_CORS_ORIGINS") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty } : corsOrigins
        for origin in given where origin != "*" {
            // What a browser sends: scheme://host[:port], nothing after it.
            guard origin.hasPrefix("http://") || origin.hasPrefix("https://"),
                !origin.dropFirst(8).contains("/"), !origin.hasSuffix(":")
            else {
                throw ValidationError(
                    "--cors-origin: '\(origin)' is not an origin (scheme://host[:port], as https://dash.example:8443) or *"
                )
            }
        }
        return given.isEmpty ? nil : CORSPolicy(allowedOrigins: Set(given))
    }

    var resolvedProducers: Int? {
        maxConcurrentProducers ?? env("BACKTESTD_MAX_CONCURRENT_PRODUCERS").flatMap(Int.init)
    }

    var resolvedAgeGrace: Double? {
        maxConnectionAgeGrace ?? env("BACKTESTD_MAX_CONNECTION_AGE_GRACE").flatMap(Double.init)
    }

    /// Descriptors kept for everything but client connections (store, logs, TLS files).
    static let descriptorReserve = 256

    /// The transport's limits from the flags; the connection cap within `descriptors`.
    func connectionLimits(descriptors: Int) -> GRPCServer.ConnectionLimits {
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }
        var limits = GRPCServer.ConnectionLimits()
        limits.maxConnections = max(1, min(maxConnections, descriptors - Self.descriptorReserve))
        limits.maxConcurrentStreams = UInt32(maxConcurrentStreams)
        limits.maxHeaderListSize = maxHeaderListSize
        limits.maxConnectionSendBuffer = maxConnectionSendBuffer
        limits.maxConcurrentProducers = resolvedProducers
        limits.handshakeTimeout = duration(handshakeTimeout)
        limits.maxConnectionIdle = maxConnectionIdle > 0 ? duration(maxConnectionIdle) : nil
        limits.maxConnectionAge = maxConnectionAge > 0 ? duration(maxConnectionAge) : nil
        limits.maxConnectionAgeGrace = resolvedAgeGrace.map(duration)
        limits.keepaliveInterval = duration(keepaliveTime)
        limits.keepaliveTimeout = duration(keepaliveTimeout)
        limits.keepaliveMinTime = duration(keepaliveMinTime)
        limits.keepalivePermitWithoutCalls = keepalivePermitWithoutCalls
        return limits
    }

    var resolvedNodeId: String {
        nodeId ?? env("BACKTESTD_NODE_ID") ?? "\(ProcessInfo.processInfo.hostName):\(port)"
    }

    /// The spool's default place: per node, under the user's state directory.
    var resolvedSpool: String {
        if let dir = questdbSpool ?? env("BACKTESTD_QUESTDB_SPOOL") { return dir }
        let state = env("XDG_STATE_HOME") ?? (NSHomeDirectory() + "/.local/state")
        let safe = String(resolvedNodeId.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        return state + "/backtestd/spool/" + safe
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "backtestd")
        signal(SIGPIPE, SIG_IGN)
        // One descriptor per connection: the soft limit (often 1,024) goes up to the hard
        // one, and the connection cap stays under it by a reserve.
        let before = DescriptorLimit.current.soft
        let descriptors = DescriptorLimit.raiseSoftLimit()
        let limits = connectionLimits(descriptors: descriptors)
        logger.info(
            "descriptors",
            metadata: [
                "limit": "\(descriptors)", "raisedFrom": "\(before)", "maxConnections": "\(limits.maxConnections)",
            ])
        if limits.maxConnections < maxConnections {
            logger.warning(
                "--max-connections lowered to fit the descriptor limit",
                metadata: [
                    "asked": "\(maxConnections)", "limit": "\(descriptors)", "reserve": "\(Self.descriptorReserve)",
                ])
        }

        let backend: any BacktestStore
        do {
            backend = try await openStore()
        } catch {
            logger.critical("cannot open the store", metadata: ["store": "\(store)", "error": "\(error)"])
            throw ExitCode(2)
        }
        let options = resolved
        var tls: TLSContext?
        if let cert = options.tlsCert, let key = options.tlsKey {
            tls = try TLSContext.server(certificateChainFile: cert, privateKeyFile: key)
        }
        var configuration = BacktestServer.Configuration(
            host: host, port: port, tls: tls, token: options.token,
            limits: .init(
                maxRunning: maxRunning, maxQueued: maxQueued,
                storeRetryBudget: .milliseconds(Int64(storeRetry * 1000))),
            shutdownGrace: .milliseconds(Int64(shutdownGrace * 1000)))
        configuration.connectionLimits = limits
        configuration.sweepLimits = .init(
            maxCombinations: maxSweepCombinations, workers: sweepWorkers,
            storeRetryBudget: .milliseconds(Int64(storeRetry * 1000)), sharedColumnBytes: sweepColumnMemory << 20)
        configuration.retention = try retention()
        configuration.cors = try cors()
        if dashboard {
            configuration.site = DashboardSite.site()
            if !DashboardSite.hasChartLibrary {
                logger.warning("the dashboard has no charts: built without Debian's libjs-dygraphs")
            }
        }
        configuration.housekeepingInterval = DurationText.parse(housekeepingInterval) ?? .seconds(600)
        if !configuration.retention.keepsEverything {
            logger.info(
                "retention",
                metadata: [
                    "maxAge": "\(configuration.retention.maxAge.map { "\($0)" } ?? "none")",
                    "maxCount": "\(configuration.retention.maxCount.map { "\($0)" } ?? "none")",
                    "interval": "\(housekeepingInterval)",
                ])
        }
        if let url = resolvedBroker, let (brokerHost, brokerPort) = Self.brokerAddress(url) {
            // Bracketed when IPv6, so the port the server adds stays apart.
            configuration.advertise = resolvedAdvertise.flatMap(Self.hostAndPort).map { host, port in
                let h = host.contains(":") ? "[\(host)]" : host
                return port.map { "\(h):\($0)" } ?? h
            }
            let cluster = RedisCluster(
                nodeId: resolvedNodeId, host: brokerHost, port: brokerPort, store: backend,
                logger: Logger(label: "backtest.cluster"))
            configuration.cluster = cluster
            configuration.sweepCluster = cluster
        }
        let server = BacktestServer(configuration: configuration, store: backend, logger: logger)
        let bound: Int
        do {
            bound = try await server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            await backend.close()
            throw ExitCode(1)
        }
        if let portFile {
            try String(bound).write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        print(
            "backtestd listening on \(host):\(bound) (store \(store)\(store == "questdb" ? ", node \(resolvedNodeId), spool \(resolvedSpool)" : "")\(resolvedBroker.map { ", broker \($0)" } ?? ""))"
        )
        if dashboard { print("dashboard at \(tls == nil ? "http" : "https")://\(host):\(bound)/") }
        fflush(nil)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: DaemonService(server: server, logger: logger)),
                    .init(service: MemoryTrimmer(isIdle: { server.activeCalls == 0 }, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    var resolvedBroker: String? { broker ?? env("BACKTESTD_BROKER") }

    var resolvedAdvertise: String? { advertise ?? env("BACKTESTD_ADVERTISE") }

    /// HOST and PORT of redis://HOST:PORT.
    static func brokerAddress(_ url: String) -> (String, Int)? {
        guard url.hasPrefix("redis://"), let (host, port) = hostAndPort(String(url.dropFirst("redis://".count))),
            let port
        else { return nil }
        return (host, port)
    }

    /// HOST[:PORT] (a bracketed IPv6 HOST when it has a port; a port of 1 to 65535).
    static func hostAndPort(_ text: String) -> (String, Int?)? {
        var host = text
        var port: Int?
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]"),
            text.hasPrefix("[") || !text[..<colon].contains(":")
        {
            guard let p = Int(text[text.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            (host, port) = (String(text[..<colon]), p)
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " || $0 == "[" || $0 == "]" }) else {
            return nil
        }
        return (host, port)
    }

    private func openStore() async throws -> any BacktestStore {
        if store.hasPrefix("sqlite:") {
            let path = String(store.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--store sqlite:PATH needs a path") }
            return try SQLiteStore(path: path)
        }
        if store == "questdb" {
            guard let http = resolved.questdbHttp, let pg = resolved.questdbPg else {
                throw ValidationError(
                    "--store questdb needs --questdb-http and --questdb-pg (or QUESTDB_HTTP and QUESTDB_PG)")
            }
            var options = QuestDBStore.Options()
            options.owner = resolvedNodeId
            options.spoolDirectory = resolvedSpool
            options.logger = Logger(label: "backtest.questdb")
            return try await QuestDBStore(httpURL: http, pgURL: pg, options: options)
        }
        throw ValidationError("--store must be sqlite:PATH or questdb, got \(store)")
    }
}

private func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}
