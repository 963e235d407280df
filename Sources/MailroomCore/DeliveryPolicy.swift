import Foundation

/// How one attempt to send a reply ended, in protocol terms (free of the SMTP module's types). The Engine only
/// reports; ``DeliveryPolicy`` decides what becomes of the reply and of the connection's health.
public enum DeliveryAttempt: Sendable, Equatable {
    /// The server answered `250` to the message data for every recipient.
    case accepted
    /// The server took the message for some recipients and refused the others (`refused` names them with the
    /// server's words). Sending again would double it for those who took it.
    case partlyRefused(accepted: [String], refused: String)
    /// Connecting or signing in failed; nothing was sent. `text` is what the ticket shows.
    case notSignedIn(OutgoingFailure, text: String)
    /// Signed in, then the server refused this reply or the connection broke while sending it.
    case failedAfterSignIn(OutgoingFailure, text: String)
    /// Nothing could be tried: no outgoing server is configured for this reply.
    case noRoute(text: String)
    /// The reply's stored message could not be read back.
    case messageUnreadable
    /// The attempt was stopped (a shutdown) before anything was learned.
    case interrupted(text: String)
}

/// What an attempt means for the connection's health, apart from what becomes of the reply.
public enum DeliveryHealthEffect: Sendable, Equatable {
    /// Connected and signed in (whatever the server then said to this reply).
    case works
    case fails(OutgoingFailure)
    /// Nothing learned about the connection.
    case unchanged
}

/// What becomes of a reply after an attempt, and what the attempt says about the connection.
public struct DeliveryDecision: Sendable, Equatable {
    public var outcome: DeliveryOutcome
    public var health: DeliveryHealthEffect
}

/// The outbox's rules (README «An accepted reply is sent, or visibly failed»): a permanent refusal of the reply
/// fails it with the server's words; anything temporary — a refused sign-in included, since the admin fixes that —
/// is retried with a doubling wait until the retry window closes; a partial delivery is never sent again.
public struct DeliveryPolicy: Sendable, Equatable {
    /// The wait after the first temporary failure; it doubles per attempt up to ``maxRetryDelay``.
    public var firstRetryDelay: Duration
    public var maxRetryDelay: Duration
    /// How long temporary failures are retried before the reply is marked failed.
    public var retryWindow: TimeInterval

    public init(firstRetryDelay: Duration = .seconds(60), maxRetryDelay: Duration = .seconds(900), retryWindow: TimeInterval = 24 * 3600) {
        self.firstRetryDelay = firstRetryDelay
        self.maxRetryDelay = maxRetryDelay
        self.retryWindow = retryWindow
    }

    /// Decides the reply's fate after `attempt`; `attempts` counts the attempts before this one.
    public func decide(_ attempt: DeliveryAttempt, attempts: Int, createdAt: Date, now: Date) -> DeliveryDecision {
        switch attempt {
        case .accepted:
            return DeliveryDecision(outcome: .sent, health: .works)
        case .partlyRefused(let accepted, let refused):
            return DeliveryDecision(
                outcome: .failed(error: "Delivered to \(accepted.joined(separator: ", ")), refused for \(refused)"), health: .works)
        case .notSignedIn(let failure, let text):
            let outcome = Self.isPermanent(failure) ? .failed(error: text) : retryOrFail(text, attempts: attempts, createdAt: createdAt, now: now)
            return DeliveryDecision(outcome: outcome, health: .fails(failure))
        case .failedAfterSignIn(let failure, let text):
            let outcome = Self.isPermanent(failure) ? .failed(error: text) : retryOrFail(text, attempts: attempts, createdAt: createdAt, now: now)
            let seen = Self.breaksConnection(failure) ? failure : failure.asRefusal
            return DeliveryDecision(outcome: outcome, health: Diagnosis.concernsConnection(seen) ? .fails(seen) : .works)
        case .noRoute(let text):
            return DeliveryDecision(outcome: retryOrFail(text, attempts: attempts, createdAt: createdAt, now: now), health: .unchanged)
        case .messageUnreadable:
            return DeliveryDecision(outcome: .failed(error: "The reply's stored message could not be read."), health: .unchanged)
        case .interrupted(let text):
            return DeliveryDecision(outcome: retryOrFail(text, attempts: attempts, createdAt: createdAt, now: now), health: .unchanged)
        }
    }

    /// A `5yz` refusal (RFC 5321 §4.2.1) will be the same next time — except a refused sign-in, which the admin
    /// fixes while the reply waits.
    public static func isPermanent(_ failure: OutgoingFailure) -> Bool {
        guard let code = failure.replyCode, code / 100 == 5 else { return false }
        switch failure.kind {
        case .authenticationRejected, .freshTokenRejected: return false
        default: return true
        }
    }

    /// Failures after sign-in that mean the connection broke (`421` closes it, RFC 5321 §3.8), rather than that
    /// the server refused this reply.
    public static func breaksConnection(_ failure: OutgoingFailure) -> Bool {
        if failure.replyCode == 421 { return true }
        switch failure.kind {
        case .network, .timeout, .tls, .protocolError: return true
        default: return false
        }
    }

    /// The next attempt after a temporary failure, or the end once the retry window has closed.
    public func retryOrFail(_ text: String, attempts: Int, createdAt: Date, now: Date) -> DeliveryOutcome {
        let delay = min(firstRetryDelay * (1 << min(max(attempts, 0), 16)), maxRetryDelay)
        let next = now.addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        if next.timeIntervalSince(createdAt) > retryWindow {
            return .failed(error: "Gave up after \(Int(retryWindow / 3600)) hours of temporary failures. Last: \(text)")
        }
        return .retry(error: text, at: next)
    }
}

extension OutgoingFailure {
    /// The same failure read as a refusal of the reply itself (`MAIL`, `RCPT`, `DATA`) rather than of the connection.
    var asRefusal: OutgoingFailure {
        var refusal = self
        refusal.kind = .messageRefused
        return refusal
    }
}
