import BacktestService
import Logging
import ServiceLifecycle

/// The server as a ServiceLifecycle service: it runs until the group's graceful
/// shutdown (SIGTERM or SIGINT), then shuts down the way the service promises
/// (health NOT_SERVING, sessions stopped with the reason stored, calls drained).
struct DaemonService: Service {
    let server: BacktestServer
    let logger: Logger

    func run() async throws {
        // Waits for the signal (or a cancellation: that is a stop too).
        try? await gracefulShutdown()
        logger.info("graceful shutdown requested")
        await server.shutdown(reason: "server shutting down")
    }
}
