import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A connected channel plus its ``IMAPChannelHandler``, usable from any task.
///
/// Every operation hops to the channel's event loop; the handler itself is never touched elsewhere.
struct IMAPConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<IMAPChannelHandler>

    private init(channel: any Channel, handler: NIOLoopBound<IMAPChannelHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Opens TCP (and TLS for `.tls`). The greeting timer starts once TCP is up.
    static func open(to server: IMAPServer) async throws -> IMAPConnection {
        let sslContext = server.security == .none ? nil : try Self.makeSSLContext(server)
        let tlsHostname = Self.isIPAddress(server.host) ? nil : server.host
        let implicitTLS = server.security == .tls
        let maxLiteralSize = server.maxLiteralSize
        let greeting = TimeAmount(duration: server.timeouts.greeting)
        // Captured from the initializer: looking it up later fails if the channel already closed
        // (e.g. TLS handshake failure), and then we would lose the real error.
        let handlerBox = HandlerBox()

        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(duration: server.timeouts.connect))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 << 10, maximum: 1 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let sslContext {
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: tlsHostname)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    let handler = IMAPChannelHandler(maxLiteralSize: maxLiteralSize, greetingTimeout: greeting)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    handlerBox.slot.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }

        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch {
            let mapped = IMAPChannelHandler.map(error)
            if mapped.kind == .timeout || mapped.kind == .tlsFailed { throw mapped }
            throw IMAPError(.connectionFailed, command: "CONNECT", detail: "\(server.host):\(server.port): \(error)")
        }
        guard let handler = handlerBox.slot.withLock({ $0 }) else {
            try? await channel.close().get()
            throw IMAPError(.connectionFailed, command: "CONNECT", detail: "channel set-up failed")
        }
        return IMAPConnection(channel: channel, handler: handler)
    }

    /// All responses received so far, waiting for at least one.
    func nextResponses() async throws -> [Response] {
        let handler = self.handler
        let eventLoop = self.channel.eventLoop
        do {
            return try await eventLoop.flatSubmit { handler.value.nextResponses(eventLoop: eventLoop) }.get()
        } catch {
            throw IMAPChannelHandler.map(error)
        }
    }

    /// Writes bytes and arms the reply timer.
    func send(_ bytes: ByteBuffer, wait: IMAPOutbound.Wait, command: String?) async throws {
        do {
            try await self.channel.writeAndFlush(IMAPOutbound(bytes: bytes, wait: wait, commandName: command))
        } catch {
            throw IMAPChannelHandler.map(error)
        }
    }

    /// Inserts TLS in front of the IMAP handler after a successful `STARTTLS`.
    ///
    /// Refuses if the server already sent bytes after its `OK` — those would have been injected
    /// in plaintext and must not be trusted (the classic STARTTLS injection attack).
    func startTLS(server: IMAPServer) async throws {
        let sslContext = try Self.makeSSLContext(server)
        let tlsHostname = Self.isIPAddress(server.host) ? nil : server.host
        let handler = self.handler
        let channel = self.channel
        try await channel.eventLoop.submit {
            guard !handler.value.hasUnconsumedInput else {
                throw IMAPError(.tlsFailed, command: "STARTTLS", detail: "server sent data after STARTTLS OK (possible injection)")
            }
            let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: tlsHostname)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
        }.get()
    }

    /// Closes the channel; never throws.
    func close() async {
        try? await self.channel.close().get()
    }

    static func makeSSLContext(_ server: IMAPServer) throws -> NIOSSLContext {
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            configuration.minimumTLSVersion = .tlsv12
            if let path = server.trustedCertificatesPEMFile {
                configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(path))]
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw IMAPError(.tlsFailed, detail: "cannot set up TLS: \(error)")
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Hands the handler created inside the channel initializer back to ``IMAPConnection/open(to:)``.
private final class HandlerBox: Sendable {
    let slot = Mutex<NIOLoopBound<IMAPChannelHandler>?>(nil)
}
