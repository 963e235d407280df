import Foundation
import MailroomCore
import Testing

/// The outbox's rules — sent, retried, failed, and what an attempt says about the connection — without a server.
@Suite("Delivery policy")
struct DeliveryPolicyTests {
    static let policy = DeliveryPolicy(firstRetryDelay: .seconds(60), maxRetryDelay: .seconds(900), retryWindow: 24 * 3600)
    static let created = Date(timeIntervalSince1970: 1_800_000_000)

    enum Fate: Equatable, CustomStringConvertible {
        case sent, retry, failed
        var description: String { "\(self)" }
    }

    enum Effect: Equatable {
        case works, fails, unchanged
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var attempt: DeliveryAttempt
        var fate: Fate
        var effect: Effect
        var testDescription: String { name }
    }

    static func failure(_ kind: OutgoingFailure.Kind, _ code: Int? = nil, _ status: String? = nil, step: String = "RCPT") -> OutgoingFailure {
        OutgoingFailure(kind: kind, replyCode: code, enhancedStatus: status, serverText: "server words", step: step)
    }

    static let rows: [Row] = [
        Row(name: "250 to the data: sent, and the connection works", attempt: .accepted, fate: .sent, effect: .works),
        Row(name: "some recipients refused: failed with their names, never sent again; the connection works",
            attempt: .partlyRefused(accepted: ["a@x.example"], refused: "b@y.example: 550 no such user"), fate: .failed, effect: .works),
        Row(name: "550 5.1.1 to RCPT after sign-in: the reply fails for good; the connection works",
            attempt: .failedAfterSignIn(failure(.commandFailed, 550, "5.1.1"), text: "550 5.1.1 no such user"), fate: .failed, effect: .works),
        Row(name: "552 message too large: fails for good",
            attempt: .failedAfterSignIn(failure(.commandFailed, 552, "5.3.4", step: "DATA"), text: "552"), fate: .failed, effect: .works),
        Row(name: "452 4.2.2 mailbox full: retried",
            attempt: .failedAfterSignIn(failure(.commandFailed, 452, "4.2.2"), text: "452"), fate: .retry, effect: .works),
        Row(name: "421 while sending: retried, and the connection is in trouble",
            attempt: .failedAfterSignIn(failure(.commandFailed, 421, "4.3.2", step: "DATA"), text: "421"), fate: .retry, effect: .fails),
        Row(name: "the connection dropped while sending: retried, the connection is in trouble",
            attempt: .failedAfterSignIn(failure(.network, step: "DATA"), text: "closed"), fate: .retry, effect: .fails),
        Row(name: "550 5.7.60 not allowed to send as this address: fails, and the connection needs the admin",
            attempt: .failedAfterSignIn(failure(.commandFailed, 550, "5.7.60", step: "MAIL"), text: "550 5.7.60"), fate: .failed, effect: .fails),
        Row(name: "connection refused: retried, the connection is in trouble",
            attempt: .notSignedIn(failure(.network, step: "connect"), text: "refused"), fate: .retry, effect: .fails),
        Row(name: "535 5.7.8 wrong password: retried while the admin fixes it",
            attempt: .notSignedIn(failure(.authenticationRejected, 535, "5.7.8", step: "AUTH"), text: "535"), fate: .retry, effect: .fails),
        Row(name: "a fresh token refused: retried while the admin fixes it",
            attempt: .notSignedIn(failure(.freshTokenRejected, 535, "5.7.3", step: "AUTH"), text: "535"), fate: .retry, effect: .fails),
        Row(name: "554 at the greeting: fails for good",
            attempt: .notSignedIn(failure(.commandFailed, 554, nil, step: "connect"), text: "554"), fate: .failed, effect: .fails),
        Row(name: "the provider refused to renew the token: retried",
            attempt: .notSignedIn(failure(.tokenRefused(.reauthorization), step: "token refresh"), text: "Signing in to send failed"),
            fate: .retry, effect: .fails),
        Row(name: "no outgoing server configured: retried, no connection to judge",
            attempt: .noRoute(text: "No outgoing server is configured"), fate: .retry, effect: .unchanged),
        Row(name: "the stored message cannot be read: fails", attempt: .messageUnreadable, fate: .failed, effect: .unchanged),
        Row(name: "stopped by a shutdown: retried, nothing learned", attempt: .interrupted(text: "cancelled"), fate: .retry, effect: .unchanged),
    ]

    @Test("Each attempt's outcome decides the reply and the connection", arguments: rows)
    func decide(row: Row) {
        let decision = Self.policy.decide(row.attempt, attempts: 0, createdAt: Self.created, now: Self.created)
        let fate: Fate = switch decision.outcome {
        case .sent: .sent
        case .retry: .retry
        case .failed: .failed
        }
        #expect(fate == row.fate)
        let effect: Effect = switch decision.health {
        case .works: .works
        case .fails: .fails
        case .unchanged: .unchanged
        }
        #expect(effect == row.effect)
    }

    @Test("A refusal keeps the server's words on the ticket; a partial delivery names who got it")
    func words() {
        let refused = Self.policy.decide(
            .failedAfterSignIn(Self.failure(.commandFailed, 550, "5.1.1"), text: "550 5.1.1 no such user"), attempts: 0, createdAt: Self.created, now: Self.created)
        #expect(refused.outcome == .failed(error: "550 5.1.1 no such user"))
        let partly = Self.policy.decide(.partlyRefused(accepted: ["a@x.example", "c@x.example"], refused: "b@y.example: 550 gone"),
                                        attempts: 0, createdAt: Self.created, now: Self.created)
        #expect(partly.outcome == .failed(error: "Delivered to a@x.example, c@x.example, refused for b@y.example: 550 gone"))
    }

    @Test("Retries wait 1, 2, 4 … minutes up to 15, and give up once the next would fall outside 24 hours")
    func backoff() {
        let attempt = DeliveryAttempt.notSignedIn(Self.failure(.network, step: "connect"), text: "refused")
        let waits = (0..<7).map { attempts -> TimeInterval? in
            guard case .retry(_, let at) = Self.policy.decide(attempt, attempts: attempts, createdAt: Self.created, now: Self.created).outcome else { return nil }
            return at.timeIntervalSince(Self.created)
        }
        #expect(waits == [60, 120, 240, 480, 900, 900, 900])
        // An attempt well past the first hours: the wait is capped, never overflowing.
        let late = Self.policy.decide(attempt, attempts: 10_000, createdAt: Self.created, now: Self.created.addingTimeInterval(3600))
        #expect(late.outcome == .retry(error: "refused", at: Self.created.addingTimeInterval(3600 + 900)))
        // Near the end of the window: the next attempt would come too late, so the reply fails, with the last error.
        let now = Self.created.addingTimeInterval(24 * 3600 - 100)
        #expect(Self.policy.decide(attempt, attempts: 30, createdAt: Self.created, now: now).outcome
                == .failed(error: "Gave up after 24 hours of temporary failures. Last: refused"))
    }
}

/// When the admins are emailed, without a server.
@Suite("Notice policy")
struct NoticePolicyTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let policy = NoticePolicy(transientAlertAfter: 3600)

    static func health(_ state: HealthState, since: TimeInterval = 0, told: HealthState? = nil) -> ConnectionHealth {
        var health = ConnectionHealth()
        health.state = state
        health.since = now.addingTimeInterval(-since)
        health.notifiedState = told
        health.cause = "cause"
        health.fix = "fix"
        return health
    }

    @Test("Needs action: told at once, once; a temporary failure only after an hour; recovery told once; nothing else")
    func episodes() {
        #expect(Self.policy.notice(for: Self.health(.reauthorizationRequired), now: Self.now) == .trouble(Self.health(.reauthorizationRequired)))
        #expect(Self.policy.notice(for: Self.health(.reauthorizationRequired, told: .reauthorizationRequired), now: Self.now) == nil)
        #expect(Self.policy.notice(for: Self.health(.temporarilyFailing, since: 3599), now: Self.now) == nil)
        #expect(Self.policy.notice(for: Self.health(.temporarilyFailing, since: 3600), now: Self.now) != nil)
        #expect(Self.policy.notice(for: Self.health(.connected, told: .actionNeededAtProvider), now: Self.now) == .recovered(was: .actionNeededAtProvider))
        #expect(Self.policy.notice(for: Self.health(.connected), now: Self.now) == nil)
    }

    @Test("The email says what happened, what to do and where; the recovery says nothing was lost")
    func words() {
        let trouble = AdminNotice.trouble(Self.health(.reauthorizationRequired))
        #expect(trouble.subject(mailbox: "help@x.example") == "help@x.example: Reauthorization required")
        let text = trouble.text(mailbox: "help@x.example", direction: .incoming, link: "https://mailroom.example/admin/channels/email/1")
        #expect(text.contains("What happened: cause"))
        #expect(text.contains("What to do: fix"))
        #expect(text.contains("Open the mailbox: https://mailroom.example/admin/channels/email/1"))
        let recovered = AdminNotice.recovered(was: .reauthorizationRequired)
        #expect(recovered.markedState == nil)
        #expect(recovered.text(mailbox: "help@x.example", direction: .outgoing, link: "l").contains("nothing was lost"))
    }
}
