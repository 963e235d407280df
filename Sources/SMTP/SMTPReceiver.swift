import Logging
import MailTransport
import NIOCore
import NIOPosix
import Synchronization

/// A message received by ``SMTPReceiver``, handed to its store callback before the `250`.
public struct ReceivedMessage: Sendable, Equatable {
    /// The envelope sender (`MAIL FROM`); `""` for the null sender `<>` (bounces).
    public var envelopeFrom: String
    /// The envelope recipients the acceptor accepted, in order, without duplicates.
    public var recipients: [String]
    /// The message as sent: headers and body, dot-stuffing removed, lines ending in CRLF.
    public var data: [UInt8]
    /// The client's IP address.
    public var remoteAddress: String?
    /// The name the client gave in `EHLO`/`HELO`.
    public var heloName: String?

    /// Creates a message.
    public init(envelopeFrom: String, recipients: [String], data: [UInt8], remoteAddress: String? = nil, heloName: String? = nil) {
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.data = data
        self.remoteAddress = remoteAddress
        self.heloName = heloName
    }
}

/// Where and how ``SMTPReceiver`` listens.
public struct SMTPReceiverConfiguration: Sendable, Equatable {
    /// Address to bind (e.g. `0.0.0.0`, `::`, `127.0.0.1`).
    public var host: String
    /// Port to bind; `0` picks a free one (see ``SMTPReceiver/port``).
    public var port: Int
    /// Our name in the greeting and replies.
    public var hostname: String
    /// Size, recipient, line and error limits.
    public var limits: SMTPReceiverLimits
    /// A connection silent for this long gets `421 4.4.2` and is closed (RFC 5321 §4.5.3.2.7: 5 minutes).
    public var idleTimeout: Duration
    /// Connections beyond this many get `421 4.3.2` at once and are closed.
    public var maxConnections: Int

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 2525,
        hostname: String = "localhost",
        limits: SMTPReceiverLimits = SMTPReceiverLimits(),
        idleTimeout: Duration = .seconds(300),
        maxConnections: Int = 100
    ) {
        self.host = host
        self.port = port
        self.hostname = hostname
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// A small SMTP server for mail forwarded to Mailroom («Outgoing only» mailboxes).
///
/// It accepts mail only for recipients the `acceptsRecipient` callback knows (no relaying, no AUTH),
/// and answers `250` to the message only after `store` returned: if `store` throws, the client gets
/// `451 4.3.0` and retries later, so nothing is lost. The protocol logic lives in the pure
/// ``SMTPReceiverSession``; see there for the limits it enforces. STARTTLS is not offered.
///
/// ```swift
/// let receiver = SMTPReceiver(configuration: .init(host: "0.0.0.0", port: 25, hostname: "mx.example"),
///                             acceptsRecipient: { await directory.isSupportAddress($0) },
///                             store: { try await inbox.store($0) })
/// try await receiver.run()   // until the task is cancelled
/// ```
public final class SMTPReceiver: Sendable {
    public let configuration: SMTPReceiverConfiguration
    let acceptsRecipient: @Sendable (String) async -> Bool
    let store: @Sendable (ReceivedMessage) async throws -> Void
    let logger: Logger

    private let state = Mutex<State>(State())
    let connections = ConnectionRegistry()

    private struct State {
        var serverChannel: (any Channel)?
        var stopped = false
    }

    /// Creates a receiver; nothing listens until ``start()`` or ``run()``.
    public init(
        configuration: SMTPReceiverConfiguration,
        acceptsRecipient: @escaping @Sendable (String) async -> Bool,
        store: @escaping @Sendable (ReceivedMessage) async throws -> Void,
        logger: Logger = Logger(label: "mailroom.smtp-receiver")
    ) {
        self.configuration = configuration
        self.acceptsRecipient = acceptsRecipient
        self.store = store
        self.logger = logger
    }

    /// The port actually bound, once started (useful with port `0`).
    public var port: Int? {
        self.state.withLock { $0.serverChannel?.localAddress?.port }
    }

    /// Binds and starts accepting connections; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let configuration = self.configuration
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard self.connections.add(channel, limit: configuration.maxConnections) else {
                        try channel.pipeline.syncOperations.addHandler(SMTPRejectHandler(hostname: configuration.hostname))
                        return
                    }
                    channel.closeFuture.whenComplete { [connections = self.connections] _ in connections.remove(channel) }
                    try channel.pipeline.syncOperations.addHandler(SMTPReceiverHandler(receiver: self))
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let stopped = self.state.withLock { state in
            if state.stopped { return true }
            state.serverChannel = channel
            return false
        }
        if stopped {
            try? await channel.close().get()
            throw CancellationError()
        }
        let port = channel.localAddress?.port ?? configuration.port
        self.logger.info("SMTP receiver listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
        return port
    }

    /// Stops listening and closes every open connection. Stores already running finish on their own.
    public func stop() async {
        let channel = self.state.withLock { state in
            state.stopped = true
            defer { state.serverChannel = nil }
            return state.serverChannel
        }
        try? await channel?.close().get()
        for connection in self.connections.closeAll() {
            try? await connection.close().get()
        }
    }

    /// Starts, serves until the calling task is cancelled, then stops (the shape of a ServiceLifecycle `Service`).
    public func run() async throws {
        try await self.start()
        guard let channel = self.state.withLock({ $0.serverChannel }) else { return }
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        await self.stop()
    }
}

/// The open connections, for the connection cap and for closing them on stop.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<(open: [ObjectIdentifier: any Channel], closed: Bool)>(([:], false))

    func add(_ channel: any Channel, limit: Int) -> Bool {
        self.channels.withLock { state in
            guard !state.closed, state.open.count < limit else { return false }
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = self.channels.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { self.channels.withLock { $0.open.count } }

    func closeAll() -> [any Channel] {
        self.channels.withLock { state in
            state.closed = true
            return Array(state.open.values)
        }
    }
}

/// Writes SMTP replies as `NNN-text` … `NNN text` lines.
extension SMTPReply {
    var wireBytes: ByteBuffer {
        var buffer = ByteBuffer()
        for (index, line) in self.lines.enumerated() {
            buffer.writeString("\(self.code)\(index == self.lines.count - 1 ? " " : "-")\(line)\r\n")
        }
        return buffer
    }
}

/// For connections over the cap: `421` and close.
final class SMTPRejectHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let hostname: String

    init(hostname: String) { self.hostname = hostname }

    func channelActive(context: ChannelHandlerContext) {
        let reply = SMTPReply(code: 421, lines: ["4.3.2 \(self.hostname) Too many connections, try again later"])
        context.writeAndFlush(Self.wrapOutboundOut(reply.wireBytes)).whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// The thin NIO side of one receiver connection: bytes into ``SMTPReceiverSession``, replies out,
/// the recipient and store callbacks run as tasks, the idle timer, and back-pressure (no reads while
/// a callback runs or while pipelined input is waiting).
final class SMTPReceiverHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let maxBufferedInput = 64 << 10

    private let receiver: SMTPReceiver
    private var session: SMTPReceiverSession
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var readHeld = false
    private var remoteAddress: String?

    init(receiver: SMTPReceiver) {
        self.receiver = receiver
        self.session = SMTPReceiverSession(hostname: receiver.configuration.hostname, limits: receiver.configuration.limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.remoteAddress = context.channel.remoteAddress?.ipAddress
        self.receiver.logger.debug("SMTP connection", metadata: ["remote": "\(self.remoteAddress ?? "?")"])
        self.send(self.session.greeting, context: context)
        context.flush()
        self.arm(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        guard !self.session.isClosed else { return }
        self.session.feed(bytes.readableBytesView)
        if !self.session.isWaiting { self.arm(context: context) }
        self.process(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if self.session.isWaiting || self.session.bufferedByteCount > Self.maxBufferedInput {
            self.readHeld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.receiver.logger.debug("SMTP connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: - Session

    private func process(context: ChannelHandlerContext) {
        while let action = self.session.next() {
            switch action {
            case .reply(let reply):
                self.send(reply, context: context)
                if self.session.isClosed {
                    self.closeAfterFlush(context: context)
                    return
                }
            case .close:
                self.closeAfterFlush(context: context)
                return
            case .checkRecipient(let address):
                context.flush()
                self.disarm()
                let check = self.receiver.acceptsRecipient
                self.resume(.recipient, context: context) { await check(address) }
                return
            case .store(let envelope):
                context.flush()
                self.disarm()
                let message = ReceivedMessage(
                    envelopeFrom: envelope.from, recipients: envelope.recipients, data: envelope.data,
                    remoteAddress: self.remoteAddress, heloName: envelope.heloName)
                let store = self.receiver.store
                let logger = self.receiver.logger
                self.resume(.store, context: context) {
                    do {
                        try await store(message)
                        logger.debug("SMTP message stored", metadata: ["bytes": "\(message.data.count)"])
                        return true
                    } catch {
                        logger.warning("SMTP message not stored; the sender will retry", metadata: ["error": "\(error)"])
                        return false
                    }
                }
                return
            }
        }
        context.flush()
        if self.readHeld && !self.session.isWaiting && self.session.bufferedByteCount <= Self.maxBufferedInput {
            self.readHeld = false
            context.read()
        }
    }

    /// Runs `work` off the event loop, then applies the outcome it returns to the session on the loop,
    /// sends the reply and carries on with buffered input.
    private enum Pending { case recipient, store }

    private func resume(_ pending: Pending, context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Bool) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let success = await work()
            eventLoop.execute {
                let (handler, context) = loopBound.value
                guard handler.context != nil else { return }
                let reply = switch pending {
                case .recipient: handler.session.recipientChecked(success)
                case .store: handler.session.stored(success)
                }
                handler.send(reply, context: context)
                handler.arm(context: context)
                handler.process(context: context)
            }
        }
    }

    private func send(_ reply: SMTPReply, context: ChannelHandlerContext) {
        context.write(Self.wrapOutboundOut(reply.wireBytes), promise: nil)
    }

    private func closeAfterFlush(context: ChannelHandlerContext) {
        self.disarm()
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer())).whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: - Idle timer

    private func arm(context: ChannelHandlerContext) {
        self.timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: TimeAmount(duration: self.receiver.configuration.idleTimeout)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard handler.context != nil, !handler.session.isWaiting else { return }
            handler.send(handler.session.idleTimeout(), context: context)
            handler.closeAfterFlush(context: context)
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
    }
}
