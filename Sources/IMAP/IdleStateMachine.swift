/// Why an IDLE ended.
public enum IdleOutcome: Sendable, Equatable {
    /// The server announced a change: new mail (`* n EXISTS`), or messages gone (`EXPUNGE`).
    case changed(exists: Int?)
    /// The renewal time came (servers drop an IDLE after about 30 minutes, RFC 2177), with nothing announced.
    case renew
    /// The caller asked to stop (new settings, a requested sync, shutdown).
    case interrupted
}

/// IDLE (RFC 2177) as a value: events in, actions out. ``IMAPClient/idle(renewAfter:until:)`` only moves bytes and
/// time into it, so every hostile-server case is a one-line test here.
///
/// One `DONE` at most is ever sent, whichever comes first of the server's news, the renewal time or the caller's
/// stop; a stop that arrives before the server's `+` is remembered and honoured once IDLE has begun.
struct IdleStateMachine: Sendable, Equatable {
    enum Action: Sendable, Equatable {
        case none
        /// Write `DONE` to end the IDLE.
        case sendDone
        /// IDLE is over; return this.
        case finish(IdleOutcome)
        case fail(IMAPError.Kind, detail: String)
    }

    enum Phase: Sendable, Equatable {
        /// `IDLE` sent, waiting for `+`.
        case starting
        case idling
        /// `DONE` sent, waiting for the tagged completion.
        case ending
        case finished
    }

    private(set) var phase = Phase.starting
    /// Why IDLE is ending, first reason wins.
    private(set) var reason: IdleOutcome?

    init() {}

    /// The server's `+`: IDLE has begun.
    mutating func continuation() -> Action {
        guard phase == .starting else {
            return phase == .finished ? .none : .fail(.protocolViolation, detail: "a second continuation request during IDLE")
        }
        phase = .idling
        return reason == nil ? .none : end()
    }

    /// Untagged data, before or during IDLE. A `BYE` is the client's to handle (it ends the connection).
    mutating func untagged(_ response: UntaggedResponse) -> Action {
        switch response {
        case .exists(let count):
            return news(.changed(exists: count))
        case .expunge:
            return news(.changed(exists: nil))
        default:
            return .none
        }
    }

    /// The caller's stop, or the renewal time.
    mutating func stop(_ why: IdleOutcome) -> Action {
        guard reason == nil, phase != .finished else { return .none }
        reason = why
        return phase == .idling ? end() : .none
    }

    /// The tagged completion of `IDLE`.
    mutating func tagged(_ status: StatusResponse) -> Action {
        let was = phase
        phase = .finished
        guard status.kind == .ok else {
            // Refused before it began (`NO`/`BAD` instead of `+`), or ended in error.
            return .fail(was == .starting ? .commandFailed : .protocolViolation, detail: "IDLE ended with \(status.kind.rawValue): \(status.text)")
        }
        // A server may also end IDLE on its own with OK; whatever it had announced still counts.
        return .finish(reason ?? .renew)
    }

    /// The server's news outranks a renewal or a stop (the caller syncs either way, and now knows why).
    private mutating func news(_ outcome: IdleOutcome) -> Action {
        if case .changed(let known?) = reason, case .changed(nil) = outcome {
            reason = .changed(exists: known)
        } else {
            reason = outcome
        }
        return end()
    }

    private mutating func end() -> Action {
        guard phase == .idling else { return .none }
        phase = .ending
        return .sendDone
    }
}
