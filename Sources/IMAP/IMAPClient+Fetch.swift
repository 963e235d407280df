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
        return AsyncThrowingStream(unfolding: { try await self.nextFetched(stream) })
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
    /// fetch's tagged completion.
    private func readFetched(_ stream: FetchStream, startingWith first: IMAPSessionStateMachine.Action = .readResponse) async throws -> FetchedMessage? {
        guard case .running = stream.state.withLock({ $0.phase }) else { return nil }
        var action = first
        while true {
            switch try await self.drive(action) {
            case .fetched(let sequence, let attributes):
                if let message = try stream.absorb(sequence: sequence, attributes) { return message }
                action = .readResponse
            case .completed:
                self.finishFetch(stream, error: nil)
                return nil
            case let other:
                throw IMAPError(.protocolViolation, command: "UID FETCH", detail: "unexpected \(other.name) during a fetch")
            }
        }
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
