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
                let command = try self.encoder.encode(
                    "UID FETCH",
                    [.raw(stream.set.description), .raw("(UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])")]
                )
                stream.state.withLock { $0.phase = .running(tag: command.tag) }
                self.activeFetch = stream
                do {
                    try await self.send(command, wait: .streaming(idle: TimeAmount(duration: self.server.timeouts.idleData)))
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

    /// Reads responses of the running fetch until one message (or the tagged completion) arrives.
    private func readFetched(_ stream: FetchStream) async throws -> FetchedMessage? {
        guard case .running(let tag) = stream.state.withLock({ $0.phase }) else { return nil }
        while true {
            switch try await self.nextResponse() {
            case .untagged(.fetch(let sequence, let attributes)):
                if let message = try stream.absorb(sequence: sequence, attributes) { return message }
            case .untagged(let other):
                try self.observe(other, command: "UID FETCH")
            case .tagged(let tagged) where tagged.tag == tag:
                self.logger.debug("S: \(tagged.tag) \(tagged.status.kind.rawValue) \(tagged.status.text)")
                self.finishFetch(stream, error: nil)
                guard tagged.status.kind == .ok else { throw Self.error(for: tagged.status, command: "UID FETCH") }
                return nil
            case .tagged:
                continue
            case .continuation:
                throw IMAPError(.protocolViolation, command: "UID FETCH", detail: "unexpected continuation request")
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
            if Self.isFatal(error.kind) { throw error }
            return
        }
        stream.state.withLock { $0.pending.append(contentsOf: drained) }
    }
}
