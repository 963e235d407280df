import MailTransport
import NIOCore

/// A write from the client to ``SMTPChannelHandler``: bytes plus the time allowed for what follows.
struct SMTPOutbound: Sendable {
    enum Wait: Sendable {
        /// A reply must arrive within this time.
        case reply(TimeAmount)
        /// The write itself must complete within this time (message data: RFC 5321's "data block").
        case write(TimeAmount)
    }

    var bytes: ByteBuffer
    var wait: Wait
    /// Command name for the timeout error (never arguments).
    var commandName: String
}

/// The thin NIO side of the client: bytes in → ``SMTPReply`` values out, writes out with a timer.
///
/// All protocol decisions live in ``SMTPClient`` and the pure ``SMTPReplyParser``; this handler only
///  - feeds inbound bytes to the parser and buffers complete replies for the client,
///  - stops reading while the client has not collected buffered replies,
///  - enforces the timer attached to each write and the greeting timeout,
///  - turns EOF, TLS and I/O errors into a terminal ``SMTPError``.
///
/// Confined to its event loop; the client talks to it through ``SMTPConnection``.
final class SMTPChannelHandler: ChannelDuplexHandler, UnconsumedInputReporting {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = SMTPOutbound
    typealias OutboundOut = ByteBuffer

    private static let maxBufferedReplies = 64

    private var parser = SMTPReplyParser()
    private var buffer: [SMTPReply] = []
    private var waiter: EventLoopPromise<SMTPReply>?
    private var terminalError: SMTPError?
    private var context: ChannelHandlerContext?
    private var readHeld = false

    private let greetingTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var waitingFor: String?
    private var greetingPending = true

    init(greetingTimeout: TimeAmount) {
        self.greetingTimeout = greetingTimeout
    }

    // MARK: - Client-facing API (call on the event loop)

    /// The next reply, waiting if none is buffered yet.
    func nextReply(eventLoop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if !self.buffer.isEmpty {
            return eventLoop.makeSucceededFuture(self.takeFirst())
        }
        if let error = self.terminalError {
            return eventLoop.makeFailedFuture(error)
        }
        if self.waiter != nil {
            return eventLoop.makeFailedFuture(SMTPError(.protocolViolation, detail: "concurrent reads on one SMTP connection"))
        }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        self.waiter = promise
        return promise.futureResult
    }

    /// `true` if bytes arrived that were not yet consumed (used to reject STARTTLS response injection).
    var hasUnconsumedInput: Bool {
        !self.buffer.isEmpty || self.parser.hasPartialReply
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.armGreeting(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.armGreeting(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        guard self.terminalError == nil else { return }
        let before = self.buffer.count
        do {
            try self.parser.feed(bytes.readableBytesView, into: &self.buffer)
        } catch {
            self.fail(error, context: context)
            return
        }
        if self.buffer.count > before {
            self.greetingPending = false
            self.disarm()
        }
        self.deliver()
    }

    func read(context: ChannelHandlerContext) {
        if self.buffer.count >= Self.maxBufferedReplies {
            self.readHeld = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.terminalError == nil {
            do {
                try self.parser.finish()
                self.terminalError = SMTPError(.connectionClosed, command: self.waitingFor, detail: "server closed the connection")
            } catch {
                var error = error
                if error.command == nil { error.command = self.waitingFor }
                self.terminalError = error
            }
        }
        self.disarm()
        self.deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(SMTPError.wrapping(error), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outbound = Self.unwrapOutboundIn(data)
        if let error = self.terminalError {
            promise?.fail(error)
            return
        }
        switch outbound.wait {
        case .reply(let amount):
            self.arm(amount, command: outbound.commandName, context: context)
            context.write(Self.wrapOutboundOut(outbound.bytes), promise: promise)
        case .write(let amount):
            self.arm(amount, command: outbound.commandName, context: context)
            let done = context.eventLoop.makePromise(of: Void.self)
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            done.futureResult.whenComplete { _ in loopBound.value.disarm() }
            done.futureResult.cascade(to: promise)
            context.write(Self.wrapOutboundOut(outbound.bytes), promise: done)
        }
    }

    // MARK: - Delivery

    private func takeFirst() -> SMTPReply {
        let reply = self.buffer.removeFirst()
        if self.readHeld, let context = self.context {
            self.readHeld = false
            context.read()
        }
        return reply
    }

    private func deliver() {
        guard let waiter = self.waiter else { return }
        if !self.buffer.isEmpty {
            self.waiter = nil
            waiter.succeed(self.takeFirst())
        } else if let error = self.terminalError {
            self.waiter = nil
            waiter.fail(error)
        }
    }

    private func fail(_ error: SMTPError, context: ChannelHandlerContext) {
        if self.terminalError == nil {
            var error = error
            if error.command == nil { error.command = self.waitingFor }
            self.terminalError = error
        }
        self.disarm()
        self.deliver()
        context.close(promise: nil)
    }

    // MARK: - Timers

    private func armGreeting(context: ChannelHandlerContext) {
        guard self.greetingPending, self.timer == nil else { return }
        self.arm(self.greetingTimeout, command: "greeting", context: context)
    }

    private func arm(_ amount: TimeAmount, command: String, context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.waitingFor = command
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: amount) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.fail(SMTPError(.timeout, command: command, detail: "no answer to \(command) in time"), context: context)
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
    }
}
