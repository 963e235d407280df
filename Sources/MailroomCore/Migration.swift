import Foundation

extension Diagnosis {
    /// Case 1 of the article: Microsoft retired Basic Auth for IMAP and SMTP AUTH, so a Microsoft mailbox that
    /// still signs in with a password must move to «Sign in with Microsoft». Nil when the direction is fine as set up.
    public static func migration(_ mailbox: Mailbox, _ direction: Direction) -> Verdict? {
        guard mailbox.provider == .microsoft else { return nil }
        let usesPassword = switch direction {
        case .incoming: mailbox.incoming?.authentication == .password
        case .outgoing: mailbox.outgoing?.authentication == .password
        }
        guard usesPassword else { return nil }
        return Verdict(
            state: .migrationRequired,
            cause: "Microsoft has turned off sign-in with a username and password (Basic Auth) for Exchange Online, so this mailbox must move to OAuth.",
            fix: "Click «Sign in with Microsoft» and sign in as «\(mailbox.incoming?.username ?? mailbox.outgoing?.username ?? mailbox.email)». Mailroom keeps fetching where it stopped; no mail is lost.",
            detail: nil)
    }

    /// What the admin sees for a direction: a pending migration outranks a working connection and a password
    /// failure (the password is not what is wrong), but never hides a provider-side problem.
    public static func effective(_ health: ConnectionHealth, mailbox: Mailbox, direction: Direction) -> ConnectionHealth {
        guard let migration = migration(mailbox, direction) else { return health }
        switch health.state {
        case .actionNeededAtProvider, .temporarilyFailing, .paused:
            return health
        case .pending, .connected, .reauthorizationRequired, .migrationRequired:
            var shown = health
            shown.state = .migrationRequired
            shown.cause = migration.cause
            shown.fix = migration.fix
            if health.state == .reauthorizationRequired { shown.detail = health.detail }
            return shown
        }
    }
}

extension Mailbox {
    /// The directions that go through the mailbox's own servers, and so have a health of their own.
    public var ownDirections: [Direction] {
        var directions: [Direction] = []
        if usage.fetchesMail, incoming != nil { directions.append(.incoming) }
        if usage.sendsMail, outgoing != nil { directions.append(.outgoing) }
        return directions
    }
}

extension Diagnosis {
    /// Each of the mailbox's own directions as the admin sees it, in pages and API alike: a pending migration shows
    /// before the background job recorded it, and a paused mailbox reads «Paused» for fetching.
    public static func shown(_ mailbox: Mailbox, stored: [Direction: ConnectionHealth]) -> [Direction: ConnectionHealth] {
        var shown: [Direction: ConnectionHealth] = [:]
        for direction in mailbox.ownDirections {
            var health = effective(stored[direction] ?? ConnectionHealth(), mailbox: mailbox, direction: direction)
            if direction == .incoming, !mailbox.enabled { health.state = .paused }
            shown[direction] = health
        }
        return shown
    }
}

extension Diagnosis {
    /// Whether the configuration alone implies «Migration to OAuth required» for one of the mailbox's own
    /// directions: the mailboxes whose banner cannot be read from the stored states, because the background job may
    /// not have recorded the mark yet.
    public static func impliesMigration(_ mailbox: Mailbox) -> Bool {
        mailbox.ownDirections.contains { migration(mailbox, $0) != nil }
    }

    /// Whether the mailbox raises the banner, judged from the states the pages show (``shown(_:stored:)``), so the
    /// banner and the mailbox's page never disagree.
    public static func raisesBanner(_ mailbox: Mailbox, stored: [Direction: ConnectionHealth]) -> Bool {
        shown(mailbox, stored: stored).values.contains { $0.state.raisesBanner }
    }
}
