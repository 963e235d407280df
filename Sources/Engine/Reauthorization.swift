import Foundation
import IMAP
import Logging
import MailroomCore
import OAuth

/// Why a fix of a mailbox's sign-in was not applied. Nothing is changed in any of these cases.
public enum ReauthorizationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The new credential did not work; the verdict says what the server answered.
    case testFailed(Diagnosis.Verdict)
    /// Someone else signed in than the account this mailbox belongs to.
    case wrongAccount(expected: String, signedIn: String)
    /// The input itself is unusable (an empty password, a mailbox that signs in another way).
    case invalid(String)

    public var description: String {
        switch self {
        case .testFailed(let verdict): verdict.cause
        case .wrongAccount(let expected, let signedIn):
            "You signed in as «\(signedIn)», but this mailbox is connected as «\(expected)». Nothing was changed."
        case .invalid(let message): message
        }
    }

    /// What the admin does next.
    public var fix: String {
        switch self {
        case .testFailed(let verdict): verdict.fix
        case .wrongAccount(let expected, _):
            "Sign in again as «\(expected)». To connect a different account to this support address, use «Switch account»."
        case .invalid: "Correct it and save again."
        }
    }
}

/// What the admin is doing with a new OAuth sign-in for an existing mailbox.
public enum ReconnectMode: String, Sendable, Codable {
    /// Case 3: the same account signs in again after its grant expired or was revoked.
    case reauthorize
    /// Case 1: a Microsoft mailbox on Basic Auth moves to «Sign in with Microsoft».
    case migrate
    /// Another account (or another provider) takes over the support address.
    case switchAccount = "switch"
}

/// Fixes a mailbox's sign-in the one way every entry point shares (pages and API): test the new credential
/// first, check it is the expected account, then swap atomically and fetch at once. Mail is neither lost nor
/// doubled: on the same mailbox the sync position carries over; on another server fetching restarts a day
/// before the last successful fetch, and mail already filed is recognised.
public struct Reauthorization: Sendable {
    let store: any MailroomStore
    let vault: any SecretVault
    let connectionTest: ConnectionTest
    let inbound: InboundSync?
    let health: HealthRecorder
    let logger: Logger

    public init(store: any MailroomStore, vault: any SecretVault, connectionTest: ConnectionTest, inbound: InboundSync?, logger: Logger) {
        self.store = store
        self.vault = vault
        self.connectionTest = connectionTest
        self.inbound = inbound
        self.health = HealthRecorder(store: store, logger: logger)
        self.logger = logger
    }

    /// Case 2: the password changed on the mail server. The new one is tested before it replaces the old one.
    public func replacePassword(_ mailbox: Mailbox, password: String) async throws(ReauthorizationError) {
        guard mailbox.incoming?.authentication == .password || mailbox.outgoing?.authentication == .password else {
            throw .invalid("This mailbox signs in with \(mailbox.provider.signInLabel.replacingOccurrences(of: "Sign in with ", with: "")), not a password: use «\(mailbox.provider.signInLabel)».")
        }
        guard !password.isEmpty else { throw .invalid("Enter the new password.") }
        if let problem = MailboxPassword.problem(password, account: nil) { throw .invalid(problem.message) }
        if let verdict = await connectionTest.servers(
            incoming: mailbox.usage.fetchesMail && mailbox.incoming?.authentication == .password ? mailbox.incoming : nil,
            outgoing: mailbox.outgoing?.authentication == .password ? mailbox.outgoing : nil,
            provider: mailbox.provider, credential: .password(password)) {
            throw .testFailed(verdict)
        }
        do {
            try await store.replacePassword(mailbox.id, with: try vault.seal(password, for: .password(of: mailbox.email)), at: Date())
        } catch {
            logger.error("Could not save a new password", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
            throw .invalid("The new password could not be saved: \(error)")
        }
        await resumed(mailbox, text: "The new password works; fetching resumes.")
    }

    /// Cases 1 and 3 and account switches: applies a completed OAuth sign-in to an existing mailbox.
    /// - Parameter provider: the mail provider after the change (differs from the mailbox's on Gmail→Microsoft).
    public func reconnect(
        _ mailbox: Mailbox, mode: ReconnectMode, provider: MailProvider, grant: TokenGrant, servers: (incoming: IncomingServer?, outgoing: OutgoingServer?)
    ) async throws(ReauthorizationError) -> Mailbox {
        // Identity check: the support address itself, the account that signed in before, or a delegate the server
        // lets open the support mailbox (proved by the probe below). Anyone else is refused and nothing changes.
        let stored = try? await store.grant(mailbox.id)
        let expected = stored?.account ?? mailbox.incoming?.username ?? mailbox.outgoing?.username ?? mailbox.email
        let known = [mailbox.email, stored?.account, mailbox.incoming?.username, mailbox.outgoing?.username].compactMap { $0 }
            .contains { $0.caseInsensitiveCompare(grant.account) == .orderedSame }
        var restartAt: SyncWatermark?
        if let server = servers.incoming, mailbox.usage.fetchesMail {
            let sameMailbox = mailbox.incoming.map { $0.host.lowercased() == server.host.lowercased() && $0.port == server.port
                && $0.username.lowercased() == server.username.lowercased() && $0.folder == server.folder } ?? false
            let since = sameMailbox ? nil : (try? await store.health(mailbox.id)[.incoming]?.lastSuccessAt) ?? mailbox.createdAt
            switch await probe(server, provider: provider, token: grant.accessToken, restartSince: since.map { $0.addingTimeInterval(-86_400) }) {
            case .failed(let verdict):
                if !known, [.reauthorizationRequired, .actionNeededAtProvider].contains(verdict.state) {
                    throw .wrongAccount(expected: expected, signedIn: grant.account)
                }
                throw .testFailed(verdict)
            case .works(let mark): restartAt = mark
            }
        } else if !known {
            throw .wrongAccount(expected: expected, signedIn: grant.account)
        }
        if let server = servers.outgoing, mailbox.usage.sendsMail,
           let verdict = await connectionTest.outgoing(server, provider: provider, credential: .accessToken(grant.accessToken)) {
            throw .testFailed(verdict)
        }
        let summary: String = switch mode {
        case .reauthorize: "Signed in again as \(grant.account); the new sign-in was tested before it was saved."
        case .migrate: "Moved from Basic Auth to \(provider.signInLabel) as \(grant.account); the previous settings are kept under «Others»."
        case .switchAccount: "Switched to \(provider.displayName) as \(grant.account); the previous settings are kept under «Others»."
        }
        let updated: Mailbox
        do {
            let change = Reconnection(
                provider: provider, incoming: servers.incoming, outgoing: servers.outgoing, grant: try GrantSealing.seal(grant, vault: vault, mailbox: mailbox.email),
                restartAt: restartAt, summary: summary + (restartAt.map { " Fetching restarts on the new server at UID \($0.lastUID + 1); mail already filed is recognised." } ?? ""))
            updated = try await store.reconnect(mailbox.id, change, at: Date())
        } catch {
            logger.error("Could not save a new sign-in", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
            throw .invalid("The new sign-in could not be saved: \(error)")
        }
        await resumed(updated, text: "\(provider.signInLabel) as \(grant.account) works.")
        return updated
    }

    /// Clears the states the old credential left, so the banner goes at once, and fetches now.
    private func resumed(_ mailbox: Mailbox, text: String) async {
        for direction in mailbox.ownDirections {
            await health.reset(mailbox, direction, text: text)
        }
        await inbound?.retryNow(mailbox.id)
    }

    /// Signs in with the new token and, when fetching moves to another mailbox, finds where to restart: the first
    /// message since `restartSince`, or the end of the folder when there is none.
    private func probe(_ server: IncomingServer, provider: MailProvider, token: String, restartSince: Date?) async -> Probe {
        do {
            let mark = try await IMAPSession.with(server, settings: connectionTest.settings, logger: logger) { client -> SyncWatermark? in
                try await IMAPSignIn.signIn(client, user: server.username, with: .accessToken(token))
                let status = try await client.select(server.folder, readOnly: true)
                guard let restartSince else { return nil }
                let since = try await client.uidSearch("SINCE \(Self.imapDate(restartSince))")
                if let first = since.min() { return SyncWatermark(uidValidity: status.uidValidity, lastUID: first - 1) }
                var end = status.uidNext.map { $0 > 0 ? $0 - 1 : 0 }
                if end == nil { end = try await client.uidSearch("ALL").max() ?? 0 }
                return SyncWatermark(uidValidity: status.uidValidity, lastUID: end ?? 0)
            }
            return .works(mark)
        } catch let failure as ConnectionFailure {
            return .failed(Diagnosis.incoming(failure, server: server, provider: provider))
        } catch {
            return .failed(Diagnosis.incoming(ConnectionFailure(kind: .protocolError, serverText: "\(error)"), server: server, provider: provider))
        }
    }

    enum Probe {
        case works(SyncWatermark?)
        case failed(Diagnosis.Verdict)
    }

    /// RFC 9051 date for SEARCH SINCE, e.g. `1-Feb-2026`.
    static func imapDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.day, .month, .year], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(parts.day ?? 1)-\(months[max(0, min(11, (parts.month ?? 1) - 1))])-\(parts.year ?? 1970)"
    }
}
