import MailTransport
import NIOCore
import NIOSSL

/// A connected channel plus its ``SMTPChannelHandler``, usable from any task.
///
/// A thin SMTP face on ``MailTransport/TransportChannel``: it turns every failure into an ``SMTPError``.
struct SMTPConnection: Sendable {
    private let transport: TransportChannel<SMTPChannelHandler>

    private init(transport: TransportChannel<SMTPChannelHandler>) {
        self.transport = transport
    }

    /// Opens TCP (and TLS for `.implicitTLS`). The greeting timer starts once TCP is up.
    static func open(to server: SMTPServer) async throws(SMTPError) -> SMTPConnection {
        let sslContext = server.security == .implicitTLS ? try Self.makeSSLContext(server) : nil
        let greeting = TimeAmount(duration: server.timeouts.greeting)
        do {
            let transport = try await TransportChannel.connect(
                host: server.host,
                port: server.port,
                connectTimeout: TimeAmount(duration: server.timeouts.connect),
                implicitTLS: sslContext,
                makeHandler: { SMTPChannelHandler(greetingTimeout: greeting) }
            )
            return SMTPConnection(transport: transport)
        } catch {
            throw SMTPError(error)
        }
    }

    /// The next reply (waits, bounded by the handler's timers).
    func nextReply() async throws(SMTPError) -> SMTPReply {
        do {
            return try await self.transport.withHandler { handler, eventLoop in handler.nextReply(eventLoop: eventLoop) }
        } catch {
            throw SMTPError.wrapping(error)
        }
    }

    /// Writes bytes and arms the timer for what follows.
    func send(_ bytes: ByteBuffer, wait: SMTPOutbound.Wait, command: String) async throws(SMTPError) {
        do {
            try await self.transport.channel.writeAndFlush(SMTPOutbound(bytes: bytes, wait: wait, commandName: command))
        } catch {
            throw SMTPError.wrapping(error)
        }
    }

    /// Inserts TLS in front of the SMTP handler after the server's `220` to `STARTTLS`.
    ///
    /// The handshake runs as soon as the handler is in place; its failure surfaces on the next
    /// read (the post-TLS `EHLO`) as ``SMTPError/Kind/tlsFailed``.
    ///
    /// Refuses if the server already sent bytes after its `220` — those would have been injected
    /// in plaintext and must not be trusted (RFC 3207 §4.2; the STARTTLS command injection attack).
    func startTLS(server: SMTPServer) async throws(SMTPError) {
        let sslContext = try Self.makeSSLContext(server)
        do {
            try await self.transport.startTLS(
                context: sslContext,
                host: server.host,
                injectionError: SMTPError(.tlsFailed, command: "STARTTLS", detail: "server sent data after its 220 to STARTTLS (possible injection)")
            )
        } catch {
            var mapped = SMTPError.wrapping(error)
            mapped.kind = .tlsFailed
            if mapped.command == nil { mapped.command = "STARTTLS" }
            throw mapped
        }
    }

    /// Closes the channel; never throws.
    func close() async {
        await self.transport.close()
    }

    /// Our end of the connection as an RFC 5321 address literal (`[192.0.2.7]`, `[IPv6:::1]`).
    var localAddressLiteral: String {
        switch self.transport.channel.localAddress {
        case .v4(let address)?: "[\(address.host)]"
        case .v6(let address)?: "[IPv6:\(address.host)]"
        default: "[127.0.0.1]"
        }
    }

    static func makeSSLContext(_ server: SMTPServer) throws(SMTPError) -> NIOSSLContext {
        do {
            return try ClientTLS.makeContext(trustedCertificatesPEMFile: server.trustedCertificatesPEMFile)
        } catch {
            throw SMTPError(error)
        }
    }
}
