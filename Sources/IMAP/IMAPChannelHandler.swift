import MailTransport
import NIOCore

/// The thin NIO side of the client: bytes in → ``Response`` values out, commands out → bytes.
///
/// All protocol decisions live in ``IMAPClient`` and the pure ``ResponseParser``; this handler only
///  - feeds inbound bytes to the parser and buffers complete responses for the client,
///  - applies backpressure (stops reading while the client has not collected buffered responses),
///  - enforces the timer attached to each write (``IMAPOutbound/Wait``) and the greeting timeout,
///  - turns EOF, TLS and I/O errors into a terminal ``IMAPError``.
///
/// Confined to its event loop; the client talks to it through ``IMAPConnection``.
final class IMAPChannelHandler: ChannelDuplexHandler, UnconsumedInputReporting {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IMAPOutbound
    typealias OutboundOut = ByteBuffer

    /// Stop reading from the socket above this many buffered responses or body bytes.
    private static let maxBufferedResponses = 256
    private static let maxBufferedBytes = 8 << 20

    private var parser: ResponseParser
    private var buffer: [Response] = []
    private var bufferedBytes = 0
    private var waiter: EventLoopPromise<[Response]>?
    private var terminalError: IMAPError?
    private var context: ChannelHandlerContext?
    /// A `read()` was held back because the client is behind.
    private var readHeld = false

    // Timer state.
    private let greetingTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var deadline: NIODeadline?
    private var idleLimit: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var waitingFor: String?

    init(maxLiteralSize: Int, greetingTimeout: TimeAmount) {
        self.parser = ResponseParser(maxLiteralSize: maxLiteralSize)
        self.greetingTimeout = greetingTimeout
    }

    // MARK: - Client-facing API (call on the event loop)

    /// Responses received so far (at least one), waiting if none are buffered yet.
    func nextResponses(eventLoop: any EventLoop) -> EventLoopFuture<[Response]> {
        if !self.buffer.isEmpty {
            return eventLoop.makeSucceededFuture(self.takeBuffer())
        }
        if let error = self.terminalError {
            return eventLoop.makeFailedFuture(error)
        }
        if self.waiter != nil {
            return eventLoop.makeFailedFuture(IMAPError(.protocolViolation, detail: "concurrent reads on one IMAP connection"))
        }
        let promise = eventLoop.makePromise(of: [Response].self)
        self.waiter = promise
        return promise.futureResult
    }

    /// `true` if bytes arrived that were not yet consumed (used to reject STARTTLS response injection).
    var hasUnconsumedInput: Bool {
        !self.buffer.isEmpty || self.parser.hasPartialResponse
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
        self.lastActivity = .now()
        let firstNew = self.buffer.count
        do {
            try self.parser.feed(bytes, into: &self.buffer)
        } catch {
            self.fail(IMAPError.wrapping(error), context: context)
            return
        }
        for index in firstNew..<self.buffer.count {
            switch self.buffer[index] {
            case .tagged, .continuation:
                self.disarm()
            case .untagged(.fetch(_, let attributes)):
                self.bufferedBytes += attributes.body?.count ?? 0
            case .untagged(.status) where self.waitingFor == "greeting":
                self.disarm()
                self.waitingFor = nil
            case .untagged:
                break
            }
        }
        self.deliver()
    }

    func read(context: ChannelHandlerContext) {
        if self.buffer.count >= Self.maxBufferedResponses || self.bufferedBytes >= Self.maxBufferedBytes {
            self.readHeld = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.terminalError == nil {
            do {
                try self.parser.finish()
                self.terminalError = IMAPError(.connectionClosed, command: self.waitingFor, detail: "server closed the connection")
            } catch {
                self.terminalError = IMAPError.wrapping(error)
            }
        }
        self.disarm()
        self.deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(IMAPError.wrapping(error), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outbound = Self.unwrapOutboundIn(data)
        if let error = self.terminalError {
            promise?.fail(error)
            return
        }
        self.arm(outbound.wait, command: outbound.commandName, context: context)
        context.write(Self.wrapOutboundOut(outbound.bytes), promise: promise)
    }

    // MARK: - Delivery

    private func takeBuffer() -> [Response] {
        let responses = self.buffer
        self.buffer = []
        self.bufferedBytes = 0
        if self.readHeld, let context = self.context {
            self.readHeld = false
            context.read()
        }
        return responses
    }

    private func deliver() {
        guard let waiter = self.waiter else { return }
        if !self.buffer.isEmpty {
            self.waiter = nil
            waiter.succeed(self.takeBuffer())
        } else if let error = self.terminalError {
            self.waiter = nil
            waiter.fail(error)
        }
    }

    private func fail(_ error: IMAPError, context: ChannelHandlerContext) {
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
        guard self.waitingFor == nil, self.timer == nil else { return }
        self.arm(.command(self.greetingTimeout), command: "greeting", context: context)
    }

    private func arm(_ wait: IMAPOutbound.Wait, command: String?, context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.waitingFor = command
        self.lastActivity = .now()
        let fireAt: NIODeadline
        switch wait {
        case .command(let amount):
            self.deadline = .now() + amount
            self.idleLimit = nil
            fireAt = .now() + amount
        case .streaming(let idle):
            self.deadline = nil
            self.idleLimit = idle
            fireAt = .now() + idle
        }
        self.schedule(at: fireAt, context: context)
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timerFired(context: context)
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
        self.deadline = nil
        self.idleLimit = nil
    }

    private func timerFired(context: ChannelHandlerContext) {
        self.timer = nil
        let now = NIODeadline.now()
        if let idle = self.idleLimit {
            // Silence caused by our own backpressure is not the server's fault.
            if self.readHeld || !self.buffer.isEmpty { self.lastActivity = now }
            if self.lastActivity + idle > now {
                self.schedule(at: self.lastActivity + idle, context: context)
                return
            }
        } else if let deadline = self.deadline, deadline > now {
            self.schedule(at: deadline, context: context)
            return
        } else if self.deadline == nil {
            return
        }
        let what = self.waitingFor ?? "response"
        self.fail(IMAPError(.timeout, command: self.waitingFor, detail: "no answer to \(what) in time"), context: context)
    }
}
