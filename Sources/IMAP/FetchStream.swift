import Synchronization

/// Shared state of one ``IMAPClient/uidFetch(_:)`` stream.
///
/// The stream pulls one message at a time from the client (natural backpressure). If another command
/// has to run while the stream is unfinished, the client drains the remaining messages into
/// `pending` so the stream still delivers all of them afterwards.
final class FetchStream: Sendable {
    enum Phase: Sendable {
        case notStarted
        case running(tag: String)
        case finished
        case failed(IMAPError)
    }

    struct State: Sendable {
        var phase = Phase.notStarted
        /// Messages drained on behalf of the stream, oldest first.
        var pending: [FetchedMessage] = []
        var pendingIndex = 0
        /// Partial attributes per sequence number (servers may split a message over several FETCHes).
        var partial: [UInt32: MessageAttributes] = [:]
    }

    let set: UIDSet
    let state = Mutex(State())

    init(set: UIDSet) {
        self.set = set
    }

    /// Takes the next drained message, if any.
    func popPending() -> FetchedMessage? {
        self.state.withLock { state in
            guard state.pendingIndex < state.pending.count else { return nil }
            let message = state.pending[state.pendingIndex]
            state.pending[state.pendingIndex].body = []
            state.pendingIndex += 1
            if state.pendingIndex == state.pending.count {
                state.pending = []
                state.pendingIndex = 0
            }
            return message
        }
    }

    /// Feeds one FETCH response; returns a message once its UID and body are known and it is in the set.
    func absorb(sequence: UInt32, _ attributes: MessageAttributes) -> FetchedMessage? {
        self.state.withLock { state in
            var merged = state.partial.removeValue(forKey: sequence) ?? MessageAttributes()
            merged.merge(attributes)
            guard let uid = merged.uid, let body = merged.body else {
                if merged.body != nil || merged.uid != nil { state.partial[sequence] = merged }
                return nil
            }
            // `n:*` always includes the highest UID even if it is below n (RFC 3501 §6.4.8): filter.
            guard self.set.contains(uid) else { return nil }
            return FetchedMessage(uid: uid, size: merged.size, internalDate: merged.internalDate, flags: merged.flags ?? [], body: body)
        }
    }
}
