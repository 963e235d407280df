import Foundation
import MailroomCore

/// Mailboxes, their sealed credentials and grants, watermarks, health and the activity log.
extension InMemoryStore {
    public func createMailbox(_ mailbox: ValidMailbox, incomingSecret: SealedSecret?, at now: Date) async throws -> Mailbox {
        try transaction { state in
            let created = try Self.insert(mailbox, at: now, into: &state)
            if let incomingSecret {
                // One account, one password: it signs in for fetching and, with its own SMTP server, for sending.
                if mailbox.incoming != nil { state.credentials[created.id, default: [:]][.incoming] = incomingSecret }
                if mailbox.outgoing != nil { state.credentials[created.id, default: [:]][.outgoing] = incomingSecret }
            }
            return created
        }
    }

    public func createMailbox(_ mailbox: ValidMailbox, grant: StoredGrant, at now: Date) async throws -> Mailbox {
        try transaction { state in
            let created = try Self.insert(mailbox, at: now, into: &state)
            state.grants[created.id] = Self.stored(grant)
            return created
        }
    }

    static func insert(_ mailbox: ValidMailbox, at now: Date, into state: inout State) throws -> Mailbox {
        if state.mailboxes.values.contains(where: { $0.mailbox.email.lowercased() == mailbox.email.lowercased() }) {
            throw StoreError.conflict("A mailbox for «\(mailbox.email)» already exists.")
        }
        let now = stored(now)
        let created = Mailbox(
            id: MailboxID(state.newID()), email: mailbox.email, name: mailbox.name, provider: mailbox.provider, usage: mailbox.usage,
            incoming: mailbox.incoming, outgoing: mailbox.outgoing, deleteAfterFetch: mailbox.deleteAfterFetch, enabled: true,
            createdAt: now, updatedAt: now)
        state.mailboxes[created.id] = MailboxRow(mailbox: created)
        state.log(created.id, at: now, kind: "created", text: "Mailbox added (\(mailbox.usage.displayName), \(mailbox.provider.displayName)).")
        return created
    }

    public func grant(_ id: MailboxID) async throws -> StoredGrant? { state.grants[id] }

    public func replaceGrant(_ id: MailboxID, with grant: StoredGrant, expectedVersion: Int64) async throws -> Bool {
        transaction { state in
            guard state.grants[id]?.version == expectedVersion else { return false }
            var saved = Self.stored(grant)
            saved.version = expectedVersion + 1
            state.grants[id] = saved
            return true
        }
    }

    /// The grant as the SQL store gives it back: timestamps to the millisecond.
    static func stored(_ grant: StoredGrant) -> StoredGrant {
        var grant = grant
        grant.accessTokenExpiresAt = stored(grant.accessTokenExpiresAt)
        grant.obtainedAt = stored(grant.obtainedAt)
        grant.refreshedAt = grant.refreshedAt.map(stored)
        return grant
    }

    public func mailboxes() async throws -> [Mailbox] {
        state.mailboxes.values.map(\.mailbox).sorted { $0.id.rawValue < $1.id.rawValue }
    }

    public func mailbox(_ id: MailboxID) async throws -> Mailbox? { state.mailboxes[id]?.mailbox }

    public func removeMailbox(_ id: MailboxID) async throws -> Bool {
        transaction { state in
            guard state.mailboxes.removeValue(forKey: id) != nil else { return false }
            state.credentials[id] = nil
            state.grants[id] = nil
            state.watermarks[id] = nil
            state.health[id] = nil
            state.leases[id] = nil
            state.activity.removeAll { $0.mailbox == id }
            // Tickets, their messages and replies stay, no longer tied to a mailbox.
            for (number, ticket) in state.tickets where ticket.mailboxID == id { state.tickets[number]?.mailboxID = nil }
            for index in state.messages.indices where state.messages[index].mailbox == id { state.messages[index].mailbox = nil }
            for index in state.outbox.indices where state.outbox[index].mailbox == id { state.outbox[index].mailbox = nil }
            return true
        }
    }

    public func incomingSecret(_ id: MailboxID) async throws -> SealedSecret? { state.credentials[id]?[.incoming] }

    public func outgoingSecret(_ id: MailboxID) async throws -> SealedSecret? { state.credentials[id]?[.outgoing] }

    public func watermark(_ id: MailboxID, folder: String) async throws -> SyncWatermark? { state.watermarks[id]?[folder] }

    public func setWatermark(_ id: MailboxID, folder: String, _ watermark: SyncWatermark, at now: Date) async throws {
        state.watermarks[id, default: [:]][folder] = watermark
    }

    public func health(_ id: MailboxID) async throws -> [Direction: ConnectionHealth] { state.health[id] ?? [:] }

    public func allHealth() async throws -> [MailboxID: [Direction: ConnectionHealth]] { state.health }

    /// Like the SQL upsert, which leaves `notified_state` alone: only ``markNotified(_:_:from:to:at:)`` writes it.
    public func setHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth) async throws {
        var saved = health
        saved.lastAttemptAt = health.lastAttemptAt.map(Self.stored)
        saved.lastSuccessAt = health.lastSuccessAt.map(Self.stored)
        saved.since = health.since.map(Self.stored)
        saved.notifiedState = state.health[id]?[direction]?.notifiedState
        state.health[id, default: [:]][direction] = saved
    }

    public func replaceHealth(_ id: MailboxID, _ direction: Direction, _ health: ConnectionHealth, ifStill previous: ConnectionHealth) async throws -> Bool {
        if let recorded = state.health[id]?[direction] {
            guard recorded.state == previous.state, recorded.lastAttemptAt == previous.lastAttemptAt.map(Self.stored) else { return false }
        } else {
            guard previous.state == .pending, previous.lastAttemptAt == nil else { return false }
        }
        try await setHealth(id, direction, health)
        return true
    }

    public func markNotified(_ id: MailboxID, _ direction: Direction, from expected: HealthState?, to notified: HealthState?, at now: Date) async throws -> Bool {
        guard let health = state.health[id]?[direction], health.notifiedState == expected else { return false }
        state.health[id]?[direction]?.notifiedState = notified
        return true
    }

    public func log(_ id: MailboxID, _ entry: ActivityEntry) async throws {
        state.log(id, at: entry.at, kind: entry.kind, text: entry.text)
    }

    public func activity(_ id: MailboxID, limit: Int) async throws -> [ActivityEntry] {
        state.activity.filter { $0.mailbox == id }
            .sorted { ($0.entry.at, $0.id) > ($1.entry.at, $1.id) }
            .prefix(max(1, min(limit, 1000))).map(\.entry)
    }
}

/// Fixing a mailbox's sign-in, and the admin's pause switch and banner.
extension InMemoryStore: MailboxAdministration {
    public func replacePassword(_ id: MailboxID, with sealed: SealedSecret, at now: Date) async throws {
        try transaction { state in
            guard var row = state.mailboxes[id] else { throw StoreError.notFound("There is no mailbox with id \(id).") }
            if row.mailbox.incoming?.authentication == .password { state.credentials[id, default: [:]][.incoming] = sealed }
            if row.mailbox.outgoing?.authentication == .password { state.credentials[id, default: [:]][.outgoing] = sealed }
            row.mailbox.updatedAt = Self.stored(now)
            state.mailboxes[id] = row
            state.log(id, at: now, kind: "password", text: "The password was replaced; the new one was tested before it was saved.")
        }
    }

    public func reconnect(_ id: MailboxID, _ change: Reconnection, at now: Date) async throws -> Mailbox {
        try transaction { state in
            guard var row = state.mailboxes[id] else { throw StoreError.notFound("There is no mailbox with id \(id).") }
            let before = row.mailbox
            let oldGrant = state.grants[id]
            // Settings that change are remembered for «Others»; a plain reauthorization keeps what was there.
            let changed = before.provider != change.provider || before.incoming != change.incoming || before.outgoing != change.outgoing
                || oldGrant?.account.lowercased() != change.grant.account.lowercased()
            if changed {
                row.previous = PreviousSettings(
                    provider: before.provider, incoming: before.incoming, outgoing: before.outgoing, account: oldGrant?.account, replacedAt: now)
            }
            row.mailbox.provider = change.provider
            row.mailbox.incoming = change.incoming
            row.mailbox.outgoing = change.outgoing
            row.mailbox.updatedAt = Self.stored(now)
            state.mailboxes[id] = row
            // Passwords of directions that now use the grant go; the version only grows.
            state.credentials[id] = nil
            var grant = Self.stored(change.grant)
            grant.version = (oldGrant?.version ?? -1) + 1
            state.grants[id] = grant
            if let restart = change.restartAt, let folder = change.incoming?.folder {
                state.watermarks[id] = [folder: restart]
            }
            state.log(id, at: now, kind: "signed_in", text: change.summary)
            return row.mailbox
        }
    }

    public func previousSettings(_ id: MailboxID) async throws -> PreviousSettings? { state.mailboxes[id]?.previous }

    public func setEnabled(_ id: MailboxID, _ enabled: Bool, at now: Date) async throws -> Bool {
        transaction { state in
            guard state.mailboxes[id] != nil else { return false }
            state.mailboxes[id]?.mailbox.enabled = enabled
            state.mailboxes[id]?.mailbox.updatedAt = Self.stored(now)
            state.log(
                id, at: now, kind: enabled ? "resumed" : "paused",
                text: enabled ? "Fetching resumed by an admin." : "Fetching paused by an admin; mail waits on the server.")
            return true
        }
    }

    public func mailboxesNeedingReauthorization() async throws -> [MailboxID] {
        state.health.filter { $0.value.values.contains { [.reauthorizationRequired, .migrationRequired].contains($0.state) } }
            .keys.sorted { $0.rawValue < $1.rawValue }
    }
}
