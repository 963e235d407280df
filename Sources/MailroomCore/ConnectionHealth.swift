import Foundation

/// A mailbox is healthy or not per direction: fetching can work while sending is broken.
public enum Direction: String, Sendable, Codable, CaseIterable {
    case incoming, outgoing
}

/// The states of PRODUCT.md's «Connection health» table. Derived only from what servers actually said.
public enum HealthState: String, Sendable, Codable, CaseIterable {
    /// Never attempted yet (a new mailbox before its first fetch).
    case pending
    case connected
    case reauthorizationRequired = "reauthorization_required"
    case migrationRequired = "migration_required"
    case actionNeededAtProvider = "action_needed"
    case temporarilyFailing = "temporarily_failing"
    case paused

    /// The words the admin sees, exactly as PRODUCT.md writes them.
    public var displayName: String {
        switch self {
        case .pending: "Waiting for first check"
        case .connected: "Connected"
        case .reauthorizationRequired: "Reauthorization required"
        case .migrationRequired: "Migration to OAuth required"
        case .actionNeededAtProvider: "Action needed at your provider"
        case .temporarilyFailing: "Temporarily failing"
        case .paused: "Paused"
        }
    }

    /// Whether the admin has to do something before mail flows again (in Mailroom or at the provider).
    public var needsAdmin: Bool {
        self == .reauthorizationRequired || self == .migrationRequired || self == .actionNeededAtProvider
    }

    /// The states a sign-in in Mailroom fixes, which raise the banner on every admin page. «Action needed at your
    /// provider» does not: no sign-in here would help.
    public var raisesBanner: Bool {
        self == .reauthorizationRequired || self == .migrationRequired
    }
}

/// What Mailroom knows about one direction of one mailbox, kept across restarts.
public struct ConnectionHealth: Sendable, Codable, Equatable {
    public var state: HealthState
    /// What went wrong, in the admin's words (nil when connected).
    public var cause: String?
    /// What to do about it.
    public var fix: String?
    /// The server's or provider's own words and codes, shown as detail.
    public var detail: String?
    public var lastAttemptAt: Date?
    public var lastSuccessAt: Date?
    /// When the current state began; a transient failure is surfaced only when it lasts.
    public var since: Date?
    public var consecutiveFailures: Int
    /// The state the admins were last emailed about; nil when nothing is outstanding. Written only by the
    /// notifier (``MailroomStore/markNotified(_:_:from:to:at:)``), so one episode sends one email each way.
    public var notifiedState: HealthState?

    public init(
        state: HealthState = .pending, cause: String? = nil, fix: String? = nil, detail: String? = nil,
        lastAttemptAt: Date? = nil, lastSuccessAt: Date? = nil, since: Date? = nil, consecutiveFailures: Int = 0,
        notifiedState: HealthState? = nil
    ) {
        self.notifiedState = notifiedState
        self.state = state
        self.cause = cause
        self.fix = fix
        self.detail = detail
        self.lastAttemptAt = lastAttemptAt
        self.lastSuccessAt = lastSuccessAt
        self.since = since
        self.consecutiveFailures = consecutiveFailures
    }

    /// The next health after a successful attempt.
    public func succeeded(at now: Date) -> ConnectionHealth {
        ConnectionHealth(
            state: .connected, lastAttemptAt: now, lastSuccessAt: now,
            since: state == .connected ? (since ?? now) : now, consecutiveFailures: 0, notifiedState: notifiedState
        )
    }

    /// The next health after a failed attempt, as Diagnosis judged it.
    public func failed(_ verdict: Diagnosis.Verdict, at now: Date) -> ConnectionHealth {
        ConnectionHealth(
            state: verdict.state, cause: verdict.cause, fix: verdict.fix, detail: verdict.detail,
            lastAttemptAt: now, lastSuccessAt: lastSuccessAt,
            since: state == verdict.state ? (since ?? now) : now,
            consecutiveFailures: consecutiveFailures + 1, notifiedState: notifiedState
        )
    }
}
