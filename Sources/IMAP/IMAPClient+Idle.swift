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
            let first = self.session.sendCommand(.idle(renewAfter: renewAfter))
            let tag = self.session.running?.tag ?? ""
            // The renewal time or the caller's stop, whichever comes first, reaches the session from here while
            // the reader waits for the server (the actor is free then).
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
                    await self.stopIdle(why, tag: tag)
                }
            }
            defer { stopper.cancel() }
            return try await withTaskCancellationHandler {
                let delivery = try await self.drive(first)
                guard case .idleEnded(let outcome) = delivery else {
                    throw IMAPError(.protocolViolation, command: "IDLE", detail: "unexpected \(delivery.name) for IDLE")
                }
                return outcome
            } onCancel: {
                // Shutting down: end IDLE politely so the session can log out.
                Task.detached { await self.stopIdle(.interrupted, tag: tag) }
            }
        }
    }

    /// Tells the session this IDLE should end, and writes `DONE` if it says so (one `DONE` at most, whoever asks).
    private func stopIdle(_ why: IdleOutcome, tag: String) async {
        guard let done = self.session.stopIdle(why, tag: tag) else { return }
        if let line = done.logDescription { self.logger.debug("C: \(line)") }
        // A failed write surfaces to the reader as the connection's end.
        try? await self.connection.send(done.bytes, wait: done.wait, command: done.commandName)
    }
}
