import Foundation

/// An email to the admins about one direction of one mailbox.
public enum AdminNotice: Sendable, Equatable {
    /// The mailbox needs action, or has been failing for too long.
    case trouble(ConnectionHealth)
    /// It works again after the trouble the admins were told about.
    case recovered(was: HealthState)

    /// What is recorded as told once the notice is sent: the state of the episode, or nil when it is over.
    public var markedState: HealthState? {
        switch self {
        case .trouble(let health): health.state
        case .recovered: nil
        }
    }

    /// The subject line, after «[Mailroom] ».
    public func subject(mailbox email: String) -> String {
        switch self {
        case .trouble(let health): "\(email): \(health.state.displayName)"
        case .recovered: "\(email) is connected again"
        }
    }

    /// The body: what happened, what to do, and where (`link`: the mailbox's page, or how to find it).
    public func text(mailbox email: String, direction: Direction, link: String) -> String {
        let what = direction == .incoming ? "Fetching mail (incoming)" : "Sending replies (outgoing)"
        switch self {
        case .trouble(let health):
            return """
                \(what) for the support address \(email) needs your attention.

                State: \(health.state.displayName)
                What happened: \(health.cause ?? "—")
                What to do: \(health.fix ?? "—")
                \(health.detail.map { "Server said: \($0)\n" } ?? "")
                Open the mailbox: \(link)

                You will get one more email when it works again.
                """
        case .recovered(let was):
            return """
                \(what) for the support address \(email) works again (it was: \(was.displayName)).

                Mail that arrived meanwhile is being fetched; nothing was lost.

                Open the mailbox: \(link)
                """
        }
    }
}

/// When the admins are emailed (PRODUCT.md «Connection health»): once when a mailbox starts needing action — at
/// once for a state only they can fix, after `transientAlertAfter` for a temporary failure — and once when it
/// recovers. What was told is kept with the health, so each episode mails once however often this is asked.
public struct NoticePolicy: Sendable, Equatable {
    /// A temporary failure reaches the admins only when it lasts this long.
    public var transientAlertAfter: TimeInterval

    public init(transientAlertAfter: TimeInterval = 3600) {
        self.transientAlertAfter = transientAlertAfter
    }

    /// Whether this health is trouble the admins must hear about.
    public func needsNotice(_ health: ConnectionHealth, now: Date) -> Bool {
        if health.state.needsAdmin { return true }
        guard health.state == .temporarilyFailing, let since = health.since else { return false }
        return now.timeIntervalSince(since) >= transientAlertAfter
    }

    /// The notice due now, if any.
    public func notice(for health: ConnectionHealth, now: Date) -> AdminNotice? {
        if needsNotice(health, now: now), health.notifiedState == nil { return .trouble(health) }
        if health.state == .connected, let told = health.notifiedState { return .recovered(was: told) }
        return nil
    }
}
