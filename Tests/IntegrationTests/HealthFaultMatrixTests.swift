import Engine
import Foundation
import IMAP
import IdentityEmulator
import MailroomCore
import MailroomTestSupport
import OAuth
import Storage
import Testing

/// Issue 4's fault matrix: each row is one fault, set up against the real pieces (the identity emulator, Dovecot,
/// Postfix, or a hostile IMAP endpoint for what those will not do on demand), followed by one sync or one outbox pass.
/// Transient rows must never ask anyone to sign in; authoritative rows must land in the state PRODUCT.md's
/// «Connection health» table gives them, with its words.
enum HealthFaultRow: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case identityProviderOutage, imapUnavailable, droppedConnection, slowServer
    case wrongPassword, revokedToken, imapDisabled, smtpDisabled, clientSecretExpired

    var testDescription: String { title }

    var title: String {
        switch self {
        case .identityProviderOutage: "IdP outage (token endpoint 503)"
        case .imapUnavailable: "`NO [UNAVAILABLE]` at LOGIN"
        case .droppedConnection: "Dropped connection (after the greeting)"
        case .slowServer: "Slow server (never greets → timeout)"
        case .wrongPassword: "Wrong password (changed on the server)"
        case .revokedToken: "Revoked token (sessions revoked)"
        case .imapDisabled: "IMAP disabled for the mailbox"
        case .smtpDisabled: "SMTP AUTH disabled for the mailbox"
        case .clientSecretExpired: "Expired client secret"
        }
    }

    var direction: Direction { self == .smtpDisabled ? .outgoing : .incoming }

    var expectedState: HealthState {
        switch self {
        case .identityProviderOutage, .imapUnavailable, .droppedConnection, .slowServer: .temporarilyFailing
        case .wrongPassword, .revokedToken: .reauthorizationRequired
        case .imapDisabled, .smtpDisabled, .clientSecretExpired: .actionNeededAtProvider
        }
    }

    var isTransient: Bool { expectedState == .temporarilyFailing }

    /// The provider's or server's code the detail must name.
    var expectedDetail: String {
        switch self {
        case .identityProviderOutage: "HTTP 503"
        case .imapUnavailable: "[UNAVAILABLE]"
        case .droppedConnection: "network error"
        case .slowServer: "timeout"
        case .wrongPassword: "[AUTHENTICATIONFAILED]"
        case .revokedToken: "AADSTS50173"
        case .imapDisabled, .smtpDisabled: "with a fresh token"
        case .clientSecretExpired: "AADSTS7000222"
        }
    }
}

/// What one row came to.
struct HealthFaultObservation: Sendable {
    var health: ConnectionHealth
    /// The newest activity-log entry about the row's direction.
    var entry: ActivityEntry?
    /// Whether the mailbox raises the «Please reauthorize your Email settings» banner.
    var banner: Bool
    /// Whether the sync or send attempt itself reported a failure.
    var attemptFailed: Bool
    /// Row-specific side checks that did not hold (collected, not `#expect`ed, since the slow row runs detached).
    var problems: [String] = []
}

/// A row whose setup went wrong before the fault could be observed.
struct HealthFaultSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects the rows as they finish and prints the whole matrix once every row has run.
actor HealthFaultMatrixReport {
    static let shared = HealthFaultMatrixReport()
    private var lines: [HealthFaultRow: String] = [:]

    func record(_ row: HealthFaultRow, _ observation: HealthFaultObservation?, error: (any Error)? = nil, elapsed: Duration) {
        let seconds = String(format: "%.1f s", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let line: String
        if let observation {
            let health = observation.health
            line = [
                row.title, row.direction.rawValue, "`\(health.state.rawValue)`", health.state.displayName, health.cause ?? "—",
                health.detail ?? "—", observation.banner ? "yes" : "no", observation.entry.map { "`\($0.kind)`" } ?? "none", seconds,
            ].map(Self.cell).joined(separator: " | ")
        } else {
            line = [row.title, row.direction.rawValue, "—", "(setup failed)", "\(error.map { "\($0)" } ?? "")", "—", "—", "—", seconds]
                .map(Self.cell).joined(separator: " | ")
        }
        lines[row] = "| \(line) |"
        print("HealthFaultMatrix row: \(lines[row]!)")
        if lines.count == HealthFaultRow.allCases.count {
            let table = [
                "| fault | direction | state | shown as | cause | detail | banner | activity log | time |",
                "|---|---|---|---|---|---|---|---|---|",
            ] + HealthFaultRow.allCases.compactMap { lines[$0] }
            print("\nHealthFaultMatrix (issue 4):\n" + table.joined(separator: "\n") + "\n")
        }
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

@Suite("Fault matrix: transient faults never prompt a reauthorization; authoritative ones get the right state and words", .serialized)
struct HealthFaultMatrixTests {
    static let transientFix = "Nothing to do yet: Mailroom retries automatically and no mail is lost."

    /// The slow row waits out its (short) greeting timeout while the other rows run.
    /// It shares nothing with the other rows (its own store, its own server, no emulator faults), so it starts in
    /// the background with the first row that runs and is collected last: the matrix takes ~30 s less.
    static let slowServerRun = Task.detached { await timed(.slowServer) }

    /// The rows in the order they run: the slow row last, so its wait overlaps the others.
    static let runOrder = HealthFaultRow.allCases.filter { $0 != .slowServer } + [.slowServer]

    @Test("One fault, one attempt: the direction's state, the admin's words, the banner and the activity log", arguments: runOrder)
    func faultMatrix(row: HealthFaultRow) async throws {
        _ = Self.slowServerRun
        let (outcome, elapsed) = row == .slowServer ? await Self.slowServerRun.value : await Self.timed(row)
        let observation: HealthFaultObservation
        switch outcome {
        case .success(let observed):
            observation = observed
            await HealthFaultMatrixReport.shared.record(row, observation, elapsed: elapsed)
        case .failure(let error):
            await HealthFaultMatrixReport.shared.record(row, nil, error: error, elapsed: elapsed)
            throw error
        }

        #expect(observation.problems.isEmpty, "\(row.rawValue): \(observation.problems)")
        let health = observation.health
        let label = "\(row.rawValue): \(health.state.rawValue) — \(health.cause ?? "") / \(health.detail ?? "")"
        #expect(observation.attemptFailed, "\(row.rawValue): the attempt did not fail")
        #expect(health.state == row.expectedState, "\(label)")
        #expect(health.consecutiveFailures >= 1, "\(label)")
        #expect(health.detail?.contains(row.expectedDetail) == true, "detail «\(health.detail ?? "")» should name \(row.expectedDetail)")

        if row.isTransient {
            // Never a reauthorization prompt, and nothing for the admin to do yet.
            #expect(health.state != .reauthorizationRequired && health.state != .migrationRequired, "\(label)")
            #expect(!health.state.needsAdmin, "\(label)")
            #expect(!observation.banner, "a transient fault raised the reauthorization banner")
            #expect(health.fix == Self.transientFix, "\(label)")
            #expect(health.cause?.localizedCaseInsensitiveContains("sign in") != true, "\(label)")
            #expect(health.cause?.localizedCaseInsensitiveContains("password") != true, "\(label)")
        } else {
            #expect(health.state.needsAdmin, "\(label)")
            #expect(health.state.displayName == row.expectedState.displayName)
        }

        switch row {
        case .wrongPassword:
            #expect(health.state.displayName == "Reauthorization required")
            #expect(health.cause?.contains("rejected the username or password") == true, "\(label)")
            #expect(health.fix?.contains("enter the password again") == true, "\(health.fix ?? "")")
            #expect(observation.banner)
        case .revokedToken:
            #expect(health.state.displayName == "Reauthorization required")
            #expect(health.cause == "Your Microsoft Office 365 credentials have expired. Please sign in again.", "\(label)")
            #expect(health.fix?.contains("«Sign in with Microsoft»") == true, "\(health.fix ?? "")")
            #expect(observation.banner)
        case .imapDisabled:
            #expect(health.state.displayName == "Action needed at your provider")
            #expect(health.cause?.contains("IMAP is probably disabled") == true, "\(label)")
            #expect(health.fix?.contains("enable IMAP") == true, "\(health.fix ?? "")")
            #expect(!observation.banner, "signing in again will not help, so no reauthorization banner")
        case .smtpDisabled:
            #expect(health.state.displayName == "Action needed at your provider")
            #expect(health.cause?.contains("Authenticated SMTP") == true, "\(label)")
            #expect(health.fix?.contains("Authenticated SMTP") == true, "\(health.fix ?? "")")
            #expect(!observation.banner, "signing in again will not help, so no reauthorization banner")
        case .clientSecretExpired:
            #expect(health.state.displayName == "Action needed at your provider")
            #expect(health.cause?.contains("client secret") == true, "\(label)")
            #expect(health.fix?.contains("operator") == true && health.fix?.contains("client secret") == true, "\(health.fix ?? "")")
            #expect(health.fix?.contains("Signing in again will not help") == true, "\(health.fix ?? "")")
            #expect(!observation.banner, "signing in again will not help, so no reauthorization banner")
        case .identityProviderOutage, .imapUnavailable, .droppedConnection, .slowServer:
            break
        }

        // The activity log recorded the change, in the admin's words.
        let entry = try #require(observation.entry, "\(row.rawValue): no activity-log entry for \(row.direction.rawValue)")
        #expect(entry.kind == health.state.rawValue, "activity «\(entry.text)»")
        if let cause = health.cause { #expect(entry.text.contains(cause), "activity «\(entry.text)»") }
    }

    // MARK: - Rows

    static func timed(_ row: HealthFaultRow) async -> (Result<HealthFaultObservation, any Error>, Duration) {
        let started = ContinuousClock.now
        do {
            let observed = try await observe(row)
            return (.success(observed), ContinuousClock.now - started)
        } catch {
            return (.failure(error), ContinuousClock.now - started)
        }
    }

    static func observe(_ row: HealthFaultRow) async throws -> HealthFaultObservation {
        switch row {
        case .imapUnavailable: try await hostile(.unavailable, row: row)
        case .droppedConnection: try await hostile(.dropAfterGreeting, row: row)
        case .slowServer: try await hostile(.silent, row: row)
        case .wrongPassword: try await passwordChanged()
        case .identityProviderOutage, .revokedToken, .imapDisabled, .clientSecretExpired: try await oauthIncoming(row)
        case .smtpDisabled: try await smtpDisabled()
        }
    }

    /// A password mailbox on a hostile IMAP endpoint (plain TCP on loopback), fetched once.
    static func hostile(_ behaviour: HostileIMAP.Behaviour, row: HealthFaultRow) async throws -> HealthFaultObservation {
        let server = try HostileIMAP.server(behaviour)
        defer { server.stop() }
        let fixture = try await StoreFixture.make(.sqlite, name: "matrix-\(row.rawValue)")
        let draft = MailboxDraft(
            email: "hostile@helpdesk.example", name: "Support", provider: .other, usage: .incoming, imapHost: "127.0.0.1",
            imapPort: server.port, imapSecurity: MailroomCore.TransportSecurity.none, username: "hostile")
        let mailbox = try await MailboxService(store: fixture.store, vault: fixture.vault).add(draft, password: "Hostile-Pass-1")
        let logs = LogCapture()
        // Short IMAP timeouts, so the slow row fails in seconds, as a timeout (never as a sign-in problem).
        let settings = SyncSettings(imapTimeouts: IMAPTimeouts(connect: .seconds(2), greeting: .seconds(2), command: .seconds(2), idleData: .seconds(2)))
        let syncer = MailboxSyncer(store: fixture.store, vault: fixture.vault, settings: settings, logger: logs.logger("sync"))
        let result = await syncer.syncAndRecord(mailbox)
        var problems: [String] = []
        if server.connections < 1 { problems.append("the hostile server was never contacted") }
        if behaviour == .unavailable && !server.lines.contains(where: { $0.hasSuffix("LOGIN …") }) {
            problems.append("no LOGIN reached the server: \(server.lines)")
        }
        if logs.text.contains("Hostile-Pass-1") { problems.append("the password was logged") }
        return try await observation(fixture.store, mailbox, .incoming, failed: result.isFailure, problems: problems)
    }

    /// Case 2 of the article: a password mailbox on the real Dovecot fetches, then the password is changed on the server.
    static func passwordChanged() async throws -> HealthFaultObservation {
        let dovecot = try await TestServers.shared.dovecot()
        let fixture = try await StoreFixture.make(.sqlite, name: "matrix-password")
        let user = uniqueUser("matrix")
        let password = "Matrix-Pass-\(user)"
        try dovecot.setUser(user, password: password)
        try dovecot.deliver([simpleMessage(id: "\(UUID().uuidString)@customer.example", subject: "before")], to: user)
        let mailbox = try await fixture.addMailbox(user: user, password: password, dovecot: dovecot)
        let syncer = fixture.syncer(dovecot: dovecot)
        guard case .success = await syncer.syncAndRecord(mailbox) else {
            throw HealthFaultSetupError("the first fetch failed: \(String(describing: try await fixture.store.health(mailbox.id)[.incoming]))")
        }
        try dovecot.setUser(user, password: "Changed-\(password)")
        let result = await syncer.syncAndRecord(mailbox)
        return try await observation(fixture.store, mailbox, .incoming, failed: result.isFailure)
    }

    /// A Microsoft mailbox signed in through the emulator fetches from Dovecot with XOAUTH2; then the fault, then one more fetch.
    static func oauthIncoming(_ row: HealthFaultRow) async throws -> HealthFaultObservation {
        let world = try await OAuthWorld.make(name: "matrix-\(row.rawValue)")
        let emulator = world.emulator.emulator
        let account = await world.emulator.workAccount("matrix")
        let mailbox = try await world.addMailbox(try await world.signIn(.microsoft, as: account), provider: .microsoft)
        try world.deliver(1, to: account, tag: "before-\(row.rawValue)")
        guard case .success = await world.syncer.syncAndRecord(mailbox) else {
            throw HealthFaultSetupError("the first fetch failed: \(try await world.health(mailbox))")
        }
        let grantBefore = try await world.openGrant(mailbox)
        try world.deliver(1, to: account, tag: "during-\(row.rawValue)")

        let result: Result<SyncReport, ConnectionFailure> = try await afterwards({
            switch row {
            case .identityProviderOutage: await emulator.tokenEndpointOutage(nil)
            case .imapDisabled: await emulator.setProtocolEnabled(account, .imap, true)
            case .clientSecretExpired: try await emulator.renewClientSecret(clientID: EmulatorFixture.microsoftClient.id)
            default: break
            }
        }) {
            switch row {
            case .identityProviderOutage:
                await emulator.tokenEndpointOutage(.unavailable)
                try await world.expireStoredAccessToken(mailbox)
            case .revokedToken:
                try await emulator.revokeTokens(account: account)
            case .imapDisabled:
                await emulator.setProtocolEnabled(account, .imap, false)
            case .clientSecretExpired:
                try await emulator.expireClientSecret(clientID: EmulatorFixture.microsoftClient.id)
                try await world.expireStoredAccessToken(mailbox)
            default:
                throw HealthFaultSetupError("\(row.rawValue) is not an OAuth incoming row")
            }
            return await world.syncer.syncAndRecord(mailbox)
        }
        var problems: [String] = []
        let grantAfter = try await world.openGrant(mailbox)
        if row == .imapDisabled {
            // Exactly one renewal was spent (it worked: the provider is fine), then the fresh token was refused too.
            if grantAfter.version != grantBefore.version + 1 { problems.append("expected one renewal, grant version \(grantBefore.version) → \(grantAfter.version)") }
        } else if grantAfter.refresh != grantBefore.refresh {
            // A refused renewal must not cost the grant (a dead one is kept for the identity check at reauthorization).
            problems.append("the refresh token changed")
        }
        if world.logs.text.contains(grantBefore.access) { problems.append("an access token was logged") }
        return try await observation(world.fixture.store, mailbox, .incoming, failed: result.isFailure, problems: problems)
    }

    /// A Microsoft mailbox (usage «Both») that fetched its ticket; SMTP AUTH is disabled for it and the outbox makes one pass.
    static func smtpDisabled() async throws -> HealthFaultObservation {
        let (outgoing, world, account) = try await OutgoingWorld.oauth("matrix-smtp")
        let emulator = world.emulator.emulator
        let (mailbox, ticket) = (outgoing.mailbox, outgoing.ticket)
        let delivery = try await outgoing.reply("It ships today.")
        try await afterwards({ await emulator.setProtocolEnabled(account, .smtp, true) }) {
            await emulator.setProtocolEnabled(account, .smtp, false)
            await outgoing.queue.sendDue()
        }
        guard let waiting = try await world.fixture.store.deliveries(ticket: ticket)[delivery.messageRowID] else {
            throw HealthFaultSetupError("the reply is not in the outbox")
        }
        var problems: [String] = []
        if waiting.state != .queued { problems.append("the reply must wait, not \(waiting.state): \(waiting.lastError ?? "")") }
        if try await world.health(mailbox).state != .connected { problems.append("the outbox changed the incoming state") }
        return try await observation(world.fixture.store, mailbox, .outgoing, failed: waiting.state != .sent, problems: problems)
    }

    // MARK: - Helpers

    static func observation(
        _ store: SQLStore, _ mailbox: Mailbox, _ direction: Direction, failed: Bool, problems: [String] = []
    ) async throws -> HealthFaultObservation {
        let health = try await store.health(mailbox.id)[direction] ?? ConnectionHealth()
        let prefix = direction == .incoming ? "Incoming:" : "Outgoing:"
        let entry = try await store.activity(mailbox.id, limit: 100).first { $0.text.hasPrefix(prefix) }
        let banner = try await store.mailboxesNeedingReauthorization().contains(mailbox.id)
        return HealthFaultObservation(health: health, entry: entry, banner: banner, attemptFailed: failed, problems: problems)
    }

    /// Runs `body`, then `cleanup` whether `body` threw or not: emulator faults are shared by every test.
    static func afterwards<T>(_ cleanup: () async throws -> Void, _ body: () async throws -> T) async throws -> T {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        try await cleanup()
        return try result.get()
    }
}

extension Result {
    fileprivate var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
