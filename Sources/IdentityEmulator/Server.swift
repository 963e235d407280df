import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A running emulator started by ``IdentityEmulator/start(host:port:emulator:logger:)``.
public struct RunningEmulator: Sendable {
    /// `http://host:port` with the port actually bound (useful with port 0).
    public let baseURL: String
    public let port: Int
    public let emulator: IdentityEmulator
    private let serviceGroup: ServiceGroup
    private let task: Task<(any Error)?, Never>

    init(baseURL: String, port: Int, emulator: IdentityEmulator, serviceGroup: ServiceGroup, task: Task<(any Error)?, Never>) {
        self.baseURL = baseURL
        self.port = port
        self.emulator = emulator
        self.serviceGroup = serviceGroup
        self.task = task
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    public func stop() async {
        await serviceGroup.triggerGracefulShutdown()
        _ = await task.value
    }
}

/// Failure to start the HTTP server.
public struct EmulatorStartError: Error, CustomStringConvertible {
    public let description: String
}

extension IdentityEmulator {
    /// All routes: Microsoft, Google, `/introspect`, `/emulator` page and control API.
    public nonisolated func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        MicrosoftRoutes(emulator: self).register(on: router)
        GoogleRoutes(emulator: self).register(on: router)
        IntrospectionRoute(emulator: self).register(on: router)
        ControlRoutes(emulator: self).register(on: router)
        return router
    }

    /// A Hummingbird application serving ``makeRouter()`` on `host:port`.
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public nonisolated func buildApplication(
        host: String = "127.0.0.1", port: Int = 9400,
        onServerRunning: @escaping @Sendable (Int?) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var appLogger = logger
        appLogger.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) },
            logger: appLogger)
    }

    /// Starts the emulator's HTTP server in a background task and returns once it is listening.
    /// Port 0 picks a free port; the bound one is in the result. Sets the emulator's base URL (for
    /// issuers) to the bound address unless one was configured.
    ///
    /// - Parameter gated: serve through a ``ConnectionGate`` on `port`, so that
    ///   ``IdentityEmulator/networkOutage(_:)`` can refuse or swallow connections as a real outage does; the
    ///   HTTP server itself then listens on a free loopback port behind it.
    public static func start(
        host: String = "127.0.0.1", port: Int = 0, emulator: IdentityEmulator, gated: Bool = false
    ) async throws -> RunningEmulator {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = emulator.buildApplication(host: gated ? "127.0.0.1" : host, port: gated ? 0 : port) { bound in
            continuation.yield(bound ?? port)
            continuation.finish()
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: emulator.logger))
        let task = Task<(any Error)?, Never> {
            defer { continuation.finish() }
            do {
                try await serviceGroup.run()
                return nil
            } catch {
                return error
            }
        }
        var iterator = ports.makeAsyncIterator()
        guard var boundPort = await iterator.next() else {
            let error = await task.value
            throw EmulatorStartError(description: "identity emulator failed to start: \(error.map { "\($0)" } ?? "server stopped")")
        }
        if gated {
            let gate = ConnectionGate(host: host, port: port, backendPort: boundPort)
            try await gate.open()
            boundPort = await gate.port
            await emulator.attach(gate)
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let baseURL = "http://\(hostPart):\(boundPort)"
        if await emulator.baseURL() == nil { await emulator.setBaseURL(baseURL) }
        return RunningEmulator(baseURL: baseURL, port: boundPort, emulator: emulator, serviceGroup: serviceGroup, task: task)
    }
}
