import MailTransport
import NIOCore
import NIOSSL

/// A connected channel plus its ``IMAPChannelHandler``, usable from any task.
///
/// A thin IMAP face on ``MailTransport/TransportChannel``: it turns every failure into an ``IMAPError``.
struct IMAPConnection: Sendable {
    private let transport: TransportChannel<IMAPChannelHandler>

    private init(transport: TransportChannel<IMAPChannelHandler>) {
        self.transport = transport
    }

    /// Opens TCP (and TLS for `.tls`). The greeting timer starts once TCP is up.
    static func open(to server: IMAPServer) async throws -> IMAPConnection {
        // Built for `.starttls` too, so a bad CA file fails before we connect.
        let sslContext = server.security == .none ? nil : try Self.makeSSLContext(server)
        let maxLiteralSize = server.maxLiteralSize
        let greeting = TimeAmount(duration: server.timeouts.greeting)
        do {
            let transport = try await TransportChannel.connect(
                host: server.host,
                port: server.port,
                connectTimeout: TimeAmount(duration: server.timeouts.connect),
                implicitTLS: server.security == .tls ? sslContext : nil,
                configure: {
                    $0.channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 << 10, maximum: 1 << 20))
                },
                makeHandler: { IMAPChannelHandler(maxLiteralSize: maxLiteralSize, greetingTimeout: greeting) }
            )
            return IMAPConnection(transport: transport)
        } catch {
            throw IMAPError(error)
        }
    }

    /// All responses received so far, waiting for at least one.
    func nextResponses() async throws -> [Response] {
        do {
            return try await self.transport.withHandler { handler, eventLoop in handler.nextResponses(eventLoop: eventLoop) }
        } catch {
            throw IMAPError.wrapping(error)
        }
    }

    /// Writes bytes and arms the reply timer.
    func send(_ bytes: ByteBuffer, wait: IMAPOutbound.Wait, command: String?) async throws {
        do {
            try await self.transport.channel.writeAndFlush(IMAPOutbound(bytes: bytes, wait: wait, commandName: command))
        } catch {
            throw IMAPError.wrapping(error)
        }
    }

    /// Inserts TLS in front of the IMAP handler after a successful `STARTTLS`.
    ///
    /// Refuses if the server already sent bytes after its `OK` — those would have been injected
    /// in plaintext and must not be trusted (the classic STARTTLS injection attack).
    func startTLS(server: IMAPServer) async throws {
        try await self.transport.startTLS(
            context: try Self.makeSSLContext(server),
            host: server.host,
            injectionError: IMAPError(.tlsFailed, command: "STARTTLS", detail: "server sent data after STARTTLS OK (possible injection)")
        )
    }

    /// Closes the channel; never throws.
    func close() async {
        await self.transport.close()
    }

    static func makeSSLContext(_ server: IMAPServer) throws(IMAPError) -> NIOSSLContext {
        do {
            return try ClientTLS.makeContext(trustedCertificatesPEMFile: server.trustedCertificatesPEMFile)
        } catch {
            throw IMAPError(error)
        }
    }
}
