import MailTransport
import NIOCore

extension IMAPClient {
    /// Streams `UID FETCH <set> (UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])`.
    ///
    /// Each message is yielded as soon as its FETCH response is complete; the stream pulls from the
    /// connection only when the consumer asks for the next element, so a large batch is never held in
    /// memory. Silence longer than ``IMAPTimeouts/idleData`` fails the stream with `.timeout`.
    /// UIDs outside `set` (servers return the last message for `n:*` even when below `n`) are skipped.
    ///
    /// Running another command on this client before the stream finishes is allowed but makes the
    /// client read (and buffer) the rest of the fetch first.
    public nonisolated func uidFetch(_ set: UIDSet) -> AsyncThrowingStream<FetchedMessage, any Error> {
        let stream = FetchStream(set: set)
        // Messages already taken from the connection are handed out here, without a hop to the client's executor.
        return AsyncThrowingStream(unfolding: {
            if let message = stream.popPending() { return message }
            return try await self.nextFetched(stream)
        })
    }

    private func nextFetched(_ stream: FetchStream) async throws -> FetchedMessage? {
        if let message = stream.popPending() { return message }
        return try await self.exclusive("UID FETCH") {
            if let message = stream.popPending() { return message }
            let phase = stream.state.withLock { $0.phase }
            switch phase {
            case .finished:
                return nil
            case .failed(let error):
                stream.state.withLock { $0.phase = .finished }
                throw error
            case .notStarted:
                guard !stream.set.isEmpty else {
                    stream.state.withLock { $0.phase = .finished }
                    return nil
                }
                try await self.drainActiveFetch()
                stream.state.withLock { $0.phase = .running }
                self.activeFetch = stream
                do {
                    return try await self.readFetched(stream, startingWith: self.session.sendCommand(.uidFetchMessages(stream.set)))
                } catch {
                    self.finishFetch(stream, error: error)
                    throw error
                }
            case .running:
                break
            }
            do {
                return try await self.readFetched(stream)
            } catch {
                self.finishFetch(stream, error: nil)
                throw error
            }
        }
    }

    /// Carries out the session's actions for the running fetch until one message is complete, or the
    /// fetch's tagged completion. Once a message is complete, the FETCH responses already received are taken too
    /// (never waiting for more), their messages left in the stream's pending list: the consumer then takes them
    /// without coming back here, which cost two hops between executors per message.
    private func readFetched(_ stream: FetchStream, startingWith start: IMAPSessionStateMachine.Action = .readResponse) async throws -> FetchedMessage? {
        guard case .running = stream.state.withLock({ $0.phase }) else { return nil }
        var action = start
        var first: FetchedMessage?
        while true {
            let delivery: IMAPSessionStateMachine.Delivery
            do {
                delivery = try await self.drive(action)
                if case .fetched(let sequence, let attributes) = delivery, let message = try stream.absorb(sequence: sequence, attributes) {
                    if first == nil { first = message } else { stream.addPending(message) }
                }
            } catch let error as IMAPError where first != nil {
                return await self.deferFailure(error, of: stream, after: first)
            }
            switch delivery {
            case .fetched:
                action = .readResponse
                if let first, !self.nextReceivedIsFetch { return first }
            case .completed:
                self.finishFetch(stream, error: nil)
                return first
            case let other:
                let error = IMAPError(.protocolViolation, command: "UID FETCH", detail: "unexpected \(other.name) during a fetch")
                guard first != nil else { throw error }
                return await self.deferFailure(error, of: stream, after: first)
            }
        }
    }

    /// The messages in hand go out first; the failure ends the stream at its next call. A fatal one closes the
    /// connection now, as it would have when thrown: a consumer that stops taking messages must not leave a
    /// broken session for the next command.
    private func deferFailure(_ error: IMAPError, of stream: FetchStream, after first: FetchedMessage?) async -> FetchedMessage? {
        var error = error
        if error.command == nil { error.command = "UID FETCH" }
        self.finishFetch(stream, error: error)
        await self.closeIfFatal(error)
        return first
    }

    private func finishFetch(_ stream: FetchStream, error: (any Error)?) {
        if self.activeFetch === stream { self.activeFetch = nil }
        stream.state.withLock { state in
            state.partial = [:]
            state.partialBodies = 0
            if let error = error as? IMAPError {
                state.phase = .failed(error)
            } else {
                state.phase = .finished
            }
        }
    }

    /// Completes an unfinished fetch before another command, keeping its messages for the stream.
    func drainActiveFetch() async throws {
        guard let stream = self.activeFetch else { return }
        self.logger.debug("IMAP draining unfinished UID FETCH before the next command")
        var drained: [FetchedMessage] = []
        do {
            while let message = try await self.readFetched(stream) { drained.append(message) }
        } catch let error as IMAPError {
            stream.state.withLock {
                $0.pending.append(contentsOf: drained)
                $0.phase = .failed(error)
            }
            if IMAPSessionStateMachine.isFatal(error.kind) { throw error }
            return
        }
        stream.state.withLock { $0.pending.append(contentsOf: drained) }
    }
}
