import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A protocol handler that can tell whether the server sent bytes the client has not consumed.
///
/// Required for STARTTLS: bytes that arrived before the TLS handshake were sent in plaintext and
/// could have been injected, so the upgrade must be refused (RFC 3207 §4.2, RFC 2595 §3.1).
public protocol UnconsumedInputReporting: ChannelHandler {
    var hasUnconsumedInput: Bool { get }
}

/// A connected channel plus the protocol handler at the end of its pipeline, usable from any task.
///
/// The handler is confined to the channel's event loop; callers reach it only through
/// ``withHandler(_:)``, which hops there. Errors come out raw (or as ``TransportFailure`` from
/// ``connect(host:port:connectTimeout:implicitTLS:configure:makeHandler:)``) so that each protocol
/// can wrap them in its own error type.
public struct TransportChannel<Handler: ChannelHandler & SendableMetatype>: Sendable {
    public let channel: any Channel
    private let handler: NIOLoopBound<Handler>

    private init(channel: any Channel, handler: NIOLoopBound<Handler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Opens TCP (and TLS from the first byte if `implicitTLS` is given) and installs the handler
    /// that `makeHandler` creates on the event loop.
    ///
    /// - Throws: ``TransportFailure`` of kind `.tls`, `.connectTimeout` or `.connectFailed`.
    public static func connect(
        host: String,
        port: Int,
        connectTimeout: TimeAmount,
        implicitTLS: NIOSSLContext?,
        configure: (ClientBootstrap) -> ClientBootstrap = { $0 },
        makeHandler: @escaping @Sendable () -> Handler
    ) async throws(TransportFailure) -> TransportChannel {
        // Captured from the initializer: looking it up later fails if the channel already closed
        // (e.g. TLS handshake failure), and then we would lose the real error.
        let handlerBox = HandlerBox<Handler>()
        let bootstrap = configure(
            ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
        )
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let implicitTLS {
                    try channel.pipeline.syncOperations.addHandler(ClientTLS.makeHandler(context: implicitTLS, host: host))
                }
                let handler = makeHandler()
                try channel.pipeline.syncOperations.addHandler(handler)
                handlerBox.slot.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
            }
        }

        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            let failure = TransportFailure(classifying: error)
            if failure.kind == .tls || failure.kind == .connectTimeout { throw failure }
            throw TransportFailure(.connectFailed, detail: "\(host):\(port): \(error)")
        }
        guard let handler = handlerBox.slot.withLock({ $0 }) else {
            try? await channel.close().get()
            throw TransportFailure(.connectFailed, detail: "channel set-up failed")
        }
        return TransportChannel(channel: channel, handler: handler)
    }

    /// Runs `body` with the handler on the channel's event loop and awaits the future it returns.
    public func withHandler<Value: Sendable>(
        _ body: @escaping @Sendable (Handler, any EventLoop) -> EventLoopFuture<Value>
    ) async throws -> Value {
        let handler = self.handler
        let eventLoop = self.channel.eventLoop
        return try await eventLoop.flatSubmit { body(handler.value, eventLoop) }.get()
    }

    /// Inserts TLS at the front of the pipeline after the server agreed to STARTTLS.
    ///
    /// Throws `injectionError` instead if the server already sent more bytes (see
    /// ``UnconsumedInputReporting``). The handshake runs as soon as the TLS handler is in place;
    /// its failure surfaces on the next read.
    public func startTLS(
        context: NIOSSLContext,
        host: String,
        injectionError: some Error & Sendable
    ) async throws where Handler: UnconsumedInputReporting {
        let handler = self.handler
        let channel = self.channel
        try await channel.eventLoop.submit {
            guard !handler.value.hasUnconsumedInput else { throw injectionError }
            let tls = try ClientTLS.makeHandler(context: context, host: host)
            try channel.pipeline.syncOperations.addHandler(tls, position: .first)
        }.get()
    }

    /// Closes the channel; never throws.
    public func close() async {
        try? await self.channel.close().get()
    }
}

/// Hands the handler created inside the channel initializer back to ``TransportChannel/connect``.
private final class HandlerBox<Handler: ChannelHandler>: Sendable {
    let slot = Mutex<NIOLoopBound<Handler>?>(nil)
}
