import Synchronization

/// Shared state of one ``IMAPClient/uidFetch(_:)`` stream.
///
/// The stream pulls one message at a time from the client (natural backpressure). If another command
/// has to run while the stream is unfinished, the client drains the remaining messages into
/// `pending` so the stream still delivers all of them afterwards.
final class FetchStream: Sendable {
    enum Phase: Sendable {
        case notStarted
        case running
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
        /// How many entries of `partial` hold a body still waiting for its UID.
        var partialBodies = 0
        /// UIDs already yielded: a server repeating a message cannot make a drain buffer it again and again.
        var delivered: Set<UInt32> = []
    }

    /// Bodies kept while their UID has not arrived yet. Servers send the UID in the same response (we ask
    /// for it first), so more than a few means a server trying to make us hold bodies we can never return.
    static let maxBodiesWithoutUID = 8
    /// Messages whose UID came without the body (the body may follow in a later response).
    static let maxPartialMessages = 10_000

    let set: UIDSet
    let state = Mutex(State())

    init(set: UIDSet) {
        self.set = set
    }

    /// Keeps a message for the stream to hand out next, after those kept before it.
    func addPending(_ message: FetchedMessage) {
        self.state.withLock { $0.pending.append(message) }
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

    /// Feeds one FETCH response; returns a message once its UID and body are known and it is in the set
    /// (each UID once).
    /// - Throws: `.protocolViolation` when the server keeps sending bodies without UIDs.
    func absorb(sequence: UInt32, _ attributes: MessageAttributes) throws(IMAPError) -> FetchedMessage? {
        try self.state.withLock { (state) throws(IMAPError) -> FetchedMessage? in
            let previous = state.partial.removeValue(forKey: sequence)
            if previous?.uid == nil && previous?.body != nil { state.partialBodies -= 1 }
            var merged = previous ?? MessageAttributes()
            merged.merge(attributes)
            guard let uid = merged.uid, let body = merged.body else {
                if merged.body != nil {
                    guard state.partialBodies < Self.maxBodiesWithoutUID else {
                        throw IMAPError(.protocolViolation, detail: "server sent more than \(Self.maxBodiesWithoutUID) message bodies without their UIDs")
                    }
                    state.partialBodies += 1
                    state.partial[sequence] = merged
                } else if let uid = merged.uid, self.set.contains(uid), !state.delivered.contains(uid) {
                    guard state.partial.count < Self.maxPartialMessages else {
                        throw IMAPError(.protocolViolation, detail: "server sent more than \(Self.maxPartialMessages) messages without their bodies")
                    }
                    state.partial[sequence] = merged
                }
                return nil
            }
            // `n:*` always includes the highest UID even if it is below n (RFC 3501 §6.4.8): filter.
            guard self.set.contains(uid), state.delivered.insert(uid).inserted else { return nil }
            return FetchedMessage(uid: uid, size: merged.size, internalDate: merged.internalDate, flags: merged.flags ?? [], body: body)
        }
    }
}
