import Logging
import MailTransport
import NIOCore
import NIOPosix
import NIOSSL
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
    /// Whether it came over TLS (`STARTTLS`).
    public var encrypted: Bool
    /// Who signed in with `AUTH`, when the receiver asks for it.
    public var authenticatedUser: String?

    /// Creates a message.
    public init(
        envelopeFrom: String, recipients: [String], data: [UInt8], remoteAddress: String? = nil, heloName: String? = nil,
        encrypted: Bool = false, authenticatedUser: String? = nil
    ) {
        self.envelopeFrom = envelopeFrom
        self.recipients = recipients
        self.data = data
        self.remoteAddress = remoteAddress
        self.heloName = heloName
        self.encrypted = encrypted
        self.authenticatedUser = authenticatedUser
    }
}

/// A small SMTP server for mail forwarded to Mailroom («Outgoing only» mailboxes).
///
/// It accepts mail only for recipients the `acceptsRecipient` callback knows (no relaying; if the
/// callback throws, the client hears `451 4.3.0` and retries), and answers `250` to the message only
/// after `store` returned: if `store` throws, the client gets `451 4.3.0` and retries later, so nothing
/// is lost. The protocol logic lives in the pure ``SMTPReceiverSession``; see there for what it
/// enforces. This type adds what needs the network: the allow list and connection caps (decided per
/// connection before the greeting), TLS, the timers, and the spool files.
///
/// ```swift
/// let receiver = SMTPReceiver(configuration: .init(host: "0.0.0.0", port: 25, hostname: "mx.example"),
///                             acceptsRecipient: { try await directory.isSupportAddress($0) },
///                             store: { try await inbox.store($0) })
/// try await receiver.run()   // until the task is cancelled
/// ```
public final class SMTPReceiver: Sendable {
    public let configuration: SMTPReceiverConfiguration
    let acceptsRecipient: @Sendable (String) async throws -> Bool
    let store: @Sendable (ReceivedMessage) async throws -> Void
    let logger: Logger

    private let state = Mutex<State>(State())
    let connections = ConnectionRegistry()
    let spooledFilings: FilingLimiter

    private struct State {
        var serverChannel: (any Channel)?
        var stopped = false
    }

    /// Creates a receiver; nothing listens until ``start()`` or ``run()``.
    public init(
        configuration: SMTPReceiverConfiguration,
        acceptsRecipient: @escaping @Sendable (String) async throws -> Bool,
        store: @escaping @Sendable (ReceivedMessage) async throws -> Void,
        logger: Logger = Logger(label: "mailroom.smtp-receiver")
    ) {
        self.configuration = configuration
        self.acceptsRecipient = acceptsRecipient
        self.store = store
        self.logger = logger
        self.spooledFilings = FilingLimiter(limit: configuration.limits.maxConcurrentSpooledFilings)
    }

    /// The port actually bound, once started (useful with port `0`).
    public var port: Int? {
        self.state.withLock { $0.serverChannel?.localAddress?.port }
    }

    /// Open connections right now (refused ones over the caps are not counted).
    public var openConnectionCount: Int { self.connections.count }

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
                    let address = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
                    let admission = self.connections.admit(
                        channel, client: address, allowed: configuration.policy.allows(address), limits: configuration.limits)
                    if admission != .tooManyConnections && admission != .tooManyConnectionsFromClient {
                        channel.closeFuture.whenComplete { [connections = self.connections] _ in connections.remove(channel) }
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPReceiverHandler(receiver: self, admission: admission))
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
        let policy = configuration.policy
        self.logger.info("SMTP receiver listening", metadata: [
            "host": "\(configuration.host)", "port": "\(port)", "starttls": "\(policy.tls != nil)",
            "auth": "\(policy.credentials != nil)",
            "allow": "\(policy.allowedNetworks.isEmpty ? "any" : policy.allowedNetworks.map(\.description).joined(separator: ","))",
        ])
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

/// The open connections: the total and per-client caps, and closing them all on stop.
final class ConnectionRegistry: Sendable {
    private struct State {
        var open: [ObjectIdentifier: (channel: any Channel, client: IPNetwork?)] = [:]
        var perClient: [IPNetwork: Int] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// What one client is, for the per-client cap: its IPv4 address, or its IPv6 /64 (a host usually
    /// gets a whole /64, so counting single IPv6 addresses would be no cap at all).
    static func clientKey(_ address: IPAddress) -> IPNetwork {
        IPNetwork(masking: address, prefixLength: address.isIPv4 ? 32 : 64)
    }

    /// Registers the connection unless it is over a cap. Clients outside the allow list are registered
    /// too (they hold a connection until QUIT) and so count against the caps.
    func admit(_ channel: any Channel, client: IPAddress?, allowed: Bool, limits: SMTPReceiverLimits) -> SMTPReceiverSession.Admission {
        let key = client.map(Self.clientKey)
        return self.state.withLock { state in
            guard !state.closed, state.open.count < limits.maxConnections else { return .tooManyConnections }
            if let key, state.perClient[key, default: 0] >= limits.maxConnectionsPerClient { return .tooManyConnectionsFromClient }
            state.open[ObjectIdentifier(channel)] = (channel, key)
            if let key { state.perClient[key, default: 0] += 1 }
            return allowed ? .accepted : .networkNotAllowed
        }
    }

    func remove(_ channel: any Channel) {
        self.state.withLock { state in
            guard let entry = state.open.removeValue(forKey: ObjectIdentifier(channel)), let key = entry.client else { return }
            let left = state.perClient[key, default: 1] - 1
            state.perClient[key] = left > 0 ? left : nil
        }
    }

    var count: Int { self.state.withLock { $0.open.count } }

    func closeAll() -> [any Channel] {
        self.state.withLock { state in
            state.closed = true
            return state.open.values.map(\.channel)
        }
    }
}

/// At most `limit` spooled messages read back into memory at once; the others wait their turn.
actor FilingLimiter {
    private let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if self.running >= self.limit {
            await withCheckedContinuation { self.waiters.append($0) }
        } else {
            self.running += 1
        }
        defer {
            // The slot passes straight to the next waiter, so `running` stays counted for it.
            if self.waiters.isEmpty { self.running -= 1 } else { self.waiters.removeFirst().resume() }
        }
        return try await body()
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

/// The thin NIO side of one receiver connection: bytes into ``SMTPReceiverSession``, its actions out —
/// replies, TLS, the recipient check, spool writes and the store (these three as tasks) — one timer at
/// the session's deadline, and back-pressure (no reads while a task runs, while pipelined input is
/// waiting, or while the client does not read our replies).
final class SMTPReceiverHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let maxBufferedInput = 64 << 10
    /// How long a closing connection may take to drain its last reply before it is cut.
    private static let closeGrace = TimeAmount.seconds(5)

    private let receiver: SMTPReceiver
    private var session: SMTPReceiverSession
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: ContinuousClock.Instant?
    private var readHeld = false
    private var closing = false
    private var remoteAddress: String?
    /// The current transaction's spool file, once its first chunk is written.
    private var spool: SMTPSpoolFile?

    init(receiver: SMTPReceiver, admission: SMTPReceiverSession.Admission) {
        self.receiver = receiver
        let configuration = receiver.configuration
        self.session = SMTPReceiverSession(
            hostname: configuration.hostname, limits: configuration.limits, policy: configuration.policy, admission: admission)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
        self.discardSpool()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.remoteAddress = context.channel.remoteAddress?.ipAddress
        let logger = self.receiver.logger
        switch self.session.admission {
        case .accepted:
            logger.debug("SMTP connection", metadata: ["remote": "\(self.remoteAddress ?? "?")"])
        case .networkNotAllowed:
            logger.notice("SMTP connection from a network not in the allow list refused", metadata: ["remote": "\(self.remoteAddress ?? "?")"])
        case .tooManyConnections:
            logger.warning("SMTP connection refused: too many connections", metadata: ["remote": "\(self.remoteAddress ?? "?")"])
        case .tooManyConnectionsFromClient:
            logger.warning("SMTP connection refused: too many connections from this client", metadata: ["remote": "\(self.remoteAddress ?? "?")"])
        }
        self.send(self.session.greeting, context: context)
        if self.session.isClosed {
            self.closeAfterFlush(context: context)
        } else {
            context.flush()
            self.rearm(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        self.discardSpool()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        guard !self.session.isClosed else { return }
        self.session.feed(bytes.readableBytesView)
        self.process(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if self.mayRead(context: context) {
            context.read()
        } else {
            self.readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.resumeReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS handshake failures and resets land here; nothing of the client's data is in `error`.
        self.receiver.logger.debug("SMTP connection error", metadata: ["remote": "\(self.remoteAddress ?? "?")", "error": "\(error)"])
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
            case .notice(let notice):
                self.log(notice)
            case .startTLS:
                guard let tls = self.receiver.configuration.policy.tls else {
                    self.closeAfterFlush(context: context)
                    return
                }
                // The 220 goes out in the clear first; it is past every handler once written, so
                // adding TLS in front now cannot encrypt it.
                context.flush()
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context), position: .first)
                } catch {
                    self.receiver.logger.warning("SMTP STARTTLS could not start", metadata: ["error": "\(error)"])
                    context.close(promise: nil)
                    return
                }
            case .checkRecipient(let address):
                context.flush()
                let check = self.receiver.acceptsRecipient
                let logger = self.receiver.logger
                self.perform(context: context) { () -> SMTPReceiverSession.RecipientVerdict in
                    do {
                        return try await check(address) ? .accepted : .unknown
                    } catch {
                        logger.warning("SMTP recipient check failed; the sender will retry", metadata: ["error": "\(error)"])
                        return .temporaryFailure
                    }
                } then: { handler, verdict in
                    handler.send(handler.session.recipientChecked(verdict), context: context)
                }
                return
            case .spool(let chunk):
                let existing = self.spool
                let directory = self.receiver.configuration.spoolDirectory
                let logger = self.receiver.logger
                self.perform(context: context) { () -> SMTPSpoolFile? in
                    do {
                        let file: SMTPSpoolFile
                        if let existing { file = existing } else { file = try await SMTPSpoolFile.create(in: directory) }
                        do {
                            try await file.append(chunk)
                        } catch {
                            file.remove()
                            throw error
                        }
                        return file
                    } catch let failure as SMTPSpoolFile.Failure where failure.wasRemoved {
                        return nil  // the connection ended meanwhile
                    } catch {
                        logger.error("SMTP message could not be spooled; the sender will retry", metadata: ["error": "\(error)"])
                        return nil
                    }
                } then: { handler, file in
                    handler.spool = file
                    handler.session.spoolWritten(file != nil)
                } orphaned: { file in
                    file?.remove()
                }
                return
            case .discardSpool:
                self.discardSpool()
            case .store(let envelope):
                context.flush()
                // The store task owns the file from here: a connection that drops mid-store must not
                // delete what is being filed.
                let spool = self.spool
                self.spool = nil
                let remoteAddress = self.remoteAddress
                let store = self.receiver.store
                let limiter = self.receiver.spooledFilings
                let logger = self.receiver.logger
                self.perform(context: context) { () -> Bool in
                    defer { spool?.remove() }
                    do {
                        @Sendable func file(_ data: [UInt8]) async throws {
                            try await store(ReceivedMessage(
                                envelopeFrom: envelope.from, recipients: envelope.recipients, data: data, remoteAddress: remoteAddress,
                                heloName: envelope.heloName, encrypted: envelope.encrypted, authenticatedUser: envelope.authenticatedUser))
                        }
                        if envelope.spooledByteCount > 0 {
                            guard let spool else { throw SMTPSpoolFile.Failure.missing }
                            try await limiter.run {
                                try await file(try await spool.contents(expectedSize: envelope.spooledByteCount) + envelope.data)
                            }
                        } else {
                            try await file(envelope.data)
                        }
                        logger.debug("SMTP message stored", metadata: [
                            "bytes": "\(envelope.spooledByteCount + envelope.data.count)", "spooled": "\(envelope.spooledByteCount > 0)",
                        ])
                        return true
                    } catch {
                        logger.warning("SMTP message not stored; the sender will retry", metadata: ["error": "\(error)"])
                        return false
                    }
                } then: { handler, success in
                    handler.send(handler.session.stored(success), context: context)
                }
                return
            }
        }
        context.flush()
        self.rearm(context: context)
        self.resumeReading(context: context)
    }

    /// Runs `work` off the event loop, then — back on the loop, if the connection is still there —
    /// applies its outcome with `then` and carries on with buffered input. Otherwise `orphaned` gets it.
    private func perform<Outcome: Sendable>(
        context: ChannelHandlerContext,
        _ work: @escaping @Sendable () async -> Outcome,
        then apply: @escaping (SMTPReceiverHandler, Outcome) -> Void,
        orphaned: @escaping @Sendable (Outcome) -> Void = { _ in }
    ) {
        self.rearm(context: context)
        let loopBound = NIOLoopBound((self, context, apply), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let outcome = await work()
            eventLoop.execute {
                let (handler, context, apply) = loopBound.value
                guard handler.context != nil, !handler.closing else {
                    orphaned(outcome)
                    return
                }
                apply(handler, outcome)
                handler.process(context: context)
            }
        }
    }

    private func log(_ notice: SMTPReceiverSession.Notice) {
        let remote = self.remoteAddress ?? "?"
        switch notice {
        case .authenticated(let username):
            self.receiver.logger.info("SMTP AUTH succeeded", metadata: ["remote": "\(remote)", "user": "\(username)"])
        case .authenticationFailed:
            // No user name: people type passwords into it.
            self.receiver.logger.notice("SMTP AUTH failed", metadata: ["remote": "\(remote)"])
        }
    }

    private func send(_ reply: SMTPReply, context: ChannelHandlerContext) {
        context.write(Self.wrapOutboundOut(reply.wireBytes), promise: nil)
    }

    private func closeAfterFlush(context: ChannelHandlerContext) {
        guard !self.closing else { return }
        self.closing = true
        self.disarm()
        self.discardSpool()
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
        // A client that does not read would keep the flush (and the connection) pending forever.
        context.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
    }

    private func discardSpool() {
        self.spool?.remove()
        self.spool = nil
    }

    // MARK: - Back-pressure

    private func mayRead(context: ChannelHandlerContext) -> Bool {
        !self.session.isWaiting && self.session.bufferedByteCount <= Self.maxBufferedInput && context.channel.isWritable
    }

    private func resumeReading(context: ChannelHandlerContext) {
        guard self.readHeld, !self.closing, self.mayRead(context: context) else { return }
        self.readHeld = false
        context.read()
    }

    // MARK: - The session's deadline

    /// One timer, always at the session's current deadline (none while the session waits for us).
    private func rearm(context: ChannelHandlerContext) {
        let deadline = self.session.deadline
        guard deadline != self.timerDeadline || (deadline != nil && self.timer == nil) else { return }
        self.disarm()
        guard let deadline, !self.closing else { return }
        self.timerDeadline = deadline
        let delay = max(.zero, deadline - ContinuousClock.now)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: TimeAmount(duration: delay)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.timerDeadline = nil
            guard handler.context != nil, !handler.closing else { return }
            if let reply = handler.session.timedOut() {
                handler.receiver.logger.info("SMTP session timed out", metadata: ["remote": "\(handler.remoteAddress ?? "?")"])
                handler.send(reply, context: context)
                handler.closeAfterFlush(context: context)
            } else {
                handler.rearm(context: context)
            }
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
        self.timerDeadline = nil
    }
}
