import NIOCore
import NIOPosix

/// How a provider's host fails when it is down rather than erroring: what Mailroom meets in a real outage.
public enum NetworkOutage: String, Sendable, Hashable, CaseIterable {
    /// Nothing listens: every connection attempt is refused at once (a stopped server, a closed port).
    case refuseConnections
    /// Connections are accepted and requests read, but no byte ever comes back (a hung server, a black-holing
    /// load balancer).
    case stopAnswering
}

/// The emulator's front door: a TCP forwarder on the public port in front of the HTTP server, which can refuse
/// connections (its listening socket is closed) or swallow them (accepted, never answered). Connections that are
/// open when an outage starts are cut, so a client's pooled keep-alive connection meets the outage too.
actor ConnectionGate {
    private let host: String
    private(set) var port: Int
    private let backendPort: Int
    private var server: (any Channel)?
    private var outage: NetworkOutage?
    private var live: [ObjectIdentifier: any Channel] = [:]

    init(host: String, port: Int, backendPort: Int) {
        self.host = host
        self.port = port
        self.backendPort = backendPort
    }

    /// Starts listening; with port 0 a free port is chosen and kept for every later reopening.
    func open() async throws {
        guard server == nil else { return }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        port = channel.channel.localAddress?.port ?? port
        server = channel.channel
        Task {
            try? await channel.executeThenClose { inbound in
                for try await connection in inbound {
                    Task { await self.serve(connection) }
                }
            }
        }
    }

    func set(_ outage: NetworkOutage?) async throws {
        self.outage = outage
        for channel in live.values { try? await channel.close() }
        live = [:]
        switch outage {
        case .refuseConnections:
            try? await server?.close()
            server = nil
        case .stopAnswering, nil:
            try await open()
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let id = ObjectIdentifier(connection.channel)
        live[id] = connection.channel
        defer { live[id] = nil }
        if outage == .stopAnswering {
            // Read and discard until the client gives up; never write.
            try? await connection.executeThenClose { inbound, _ in for try await _ in inbound {} }
            return
        }
        do {
            let backend = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: backendPort) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            try await connection.executeThenClose { clientIn, clientOut in
                try await backend.executeThenClose { backendIn, backendOut in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { for try await bytes in clientIn { try await backendOut.write(bytes) } }
                        group.addTask { for try await bytes in backendIn { try await clientOut.write(bytes) } }
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
            }
        } catch {
            try? await connection.channel.close()
        }
    }
}
