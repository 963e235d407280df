import NIOCore
import Synchronization

extension IMAPClient {
    /// Whether the server offers IDLE (RFC 2177).
    public var supportsIdle: Bool { capabilities.contains("IDLE") }

    /// Waits in IDLE (RFC 2177) on the selected folder until the server announces a change, `renewAfter` has
    /// passed (keep it under the 29 minutes servers allow; 25 is safe), or `until` returns (the caller's stop).
    ///
    /// The connection may be silent for the whole of `renewAfter`; after `DONE` the server has one command timeout
    /// to answer, so a connection that died quietly is found at the latest then. A `BYE` (a server restarting, or
    /// Microsoft ending the session when its access token expires) throws ``IMAPError/Kind/connectionClosed``.
    ///
    /// - Parameter until: returns when the caller wants IDLE to end; it is cancelled once IDLE is over.
    public func idle(renewAfter: Duration, until: @escaping @Sendable () async -> Void = { try? await Task.sleep(for: .seconds(365 * 86_400)) }) async throws -> IdleOutcome {
        try await self.exclusive("IDLE") {
            try await self.drainActiveFetch()
            let command = try self.encoder.encode("IDLE")
            let machine = IdleControl()
            // Silence is fine for the whole wait; the DONE re-arms the timer to a command's limit.
            let silence = TimeAmount(duration: renewAfter + self.server.timeouts.command)
            try await self.send(command, wait: .streaming(idle: silence))
            let connection = self.connection
            let commandLimit = TimeAmount(duration: self.server.timeouts.command)
            let done: @Sendable () async throws -> Void = {
                try await connection.send(ByteBuffer(string: "DONE\r\n"), wait: .command(commandLimit), command: "IDLE")
            }
            let stopper = Task.detached {
                await withTaskGroup(of: IdleOutcome.self) { group in
                    group.addTask {
                        try? await Task.sleep(for: renewAfter)
                        return .renew
                    }
                    group.addTask {
                        await until()
                        return .interrupted
                    }
                    let why = await group.next() ?? .interrupted
                    group.cancelAll()
                    guard !Task.isCancelled else { return }
                    if machine.state.withLock({ $0.stop(why) }) == .sendDone { try? await done() }
                }
            }
            defer { stopper.cancel() }
            return try await withTaskCancellationHandler {
                try await self.readIdle(command: command, machine: machine, done: done)
            } onCancel: {
                // Shutting down: end IDLE politely so the session can log out.
                Task.detached { if machine.state.withLock({ $0.stop(.interrupted) }) == .sendDone { try? await done() } }
            }
        }
    }

    /// Reads until IDLE's tagged completion, feeding the state machine and carrying out what it says.
    private func readIdle(command: EncodedCommand, machine: IdleControl, done: @Sendable () async throws -> Void) async throws -> IdleOutcome {
            while true {
                let response = try await self.nextResponse()
                let action: IdleStateMachine.Action
                switch response {
                case .continuation:
                    action = machine.state.withLock { $0.continuation() }
                case .untagged(let untagged):
                    try self.observe(untagged, command: "IDLE")
                    action = machine.state.withLock { $0.untagged(untagged) }
                case .tagged(let tagged) where tagged.tag == command.tag:
                    guard tagged.status.kind == .ok else { throw Self.error(for: tagged.status, command: "IDLE") }
                    action = machine.state.withLock { $0.tagged(tagged.status) }
                case .tagged(let tagged):
                    self.logger.debug("IMAP ignoring response for unknown tag", metadata: ["tag": "\(tagged.tag)"])
                    action = .none
                }
                switch action {
                case .none:
                    continue
                case .sendDone:
                    try await done()
                case .finish(let outcome):
                    return outcome
                case .fail(let kind, let detail):
                    throw IMAPError(kind, command: "IDLE", detail: detail)
                }
            }
    }
}

/// The IDLE state shared by the reader and the task that ends IDLE on time or on request.
private final class IdleControl: Sendable {
    let state = Mutex(IdleStateMachine())
}
