import Engine
import Foundation
import MailroomCore

/// The JSON shapes of the API, shared with the CLI's `--json` so both say the same thing.
/// Secrets are write-only: no resource has a field that could carry one.
public enum APIResources {
    public struct MailboxResource: Codable, Sendable, Equatable {
        public var id: Int64
        public var email: String
        public var name: String
        public var provider: String
        public var usage: String
        public var imap: IMAPResource?
        public var smtp: SMTPResource?
        public var deleteAfterFetch: Bool
        public var enabled: Bool
        public var health: [String: HealthResource]
        public var createdAt: Date

        /// - Parameter health: the stored health; each direction that goes through the mailbox's own server is shown
        ///   as the admin sees it (``Diagnosis/shown(_:stored:)``).
        public init(_ mailbox: Mailbox, health: [Direction: ConnectionHealth]) {
            id = mailbox.id.rawValue
            email = mailbox.email
            name = mailbox.name
            provider = mailbox.provider.rawValue
            usage = mailbox.usage.rawValue
            imap = mailbox.incoming.map(IMAPResource.init)
            smtp = mailbox.outgoing.map(SMTPResource.init)
            deleteAfterFetch = mailbox.deleteAfterFetch
            enabled = mailbox.enabled
            var directions: [String: HealthResource] = [:]
            for (direction, shown) in Diagnosis.shown(mailbox, stored: health) {
                directions[direction.rawValue] = HealthResource(shown)
            }
            self.health = directions
            createdAt = mailbox.createdAt
        }
    }

    public struct SMTPResource: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: String
        public var username: String
        /// `password` or `oauth2`; never the credential itself.
        public var authentication: String
        init(_ server: OutgoingServer) {
            host = server.host
            port = server.port
            security = server.security.rawValue
            username = server.username
            authentication = server.authentication.rawValue
        }
    }

    public struct IMAPResource: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: String
        public var username: String
        public var folder: String
        /// `password` or `oauth2`; never the credential itself.
        public var authentication: String
        init(_ server: IncomingServer) {
            host = server.host
            port = server.port
            security = server.security.rawValue
            authentication = server.authentication.rawValue
            username = server.username
            folder = server.folder
        }
    }

    public struct HealthResource: Codable, Sendable, Equatable {
        /// The raw state, e.g. `reauthorization_required`.
        public var state: String
        /// The state in the admin's words, e.g. «Reauthorization required» (`label` is the same, kept for older clients).
        public var stateLabel: String
        public var label: String
        /// Whether the admin has to act before mail flows again (the states that raise the banner).
        public var needsAdmin: Bool
        public var cause: String?
        public var fix: String?
        public var detail: String?
        public var lastAttemptAt: Date?
        public var lastSuccessAt: Date?
        public var since: Date?
        public var consecutiveFailures: Int
        public init(_ health: ConnectionHealth) {
            state = health.state.rawValue
            stateLabel = health.state.displayName
            label = health.state.displayName
            needsAdmin = health.state.needsAdmin
            cause = health.cause
            fix = health.fix
            detail = health.detail
            lastAttemptAt = health.lastAttemptAt
            lastSuccessAt = health.lastSuccessAt
            since = health.since
            consecutiveFailures = health.consecutiveFailures
        }
    }

    /// What `POST /api/v1/mailboxes` accepts. `password` is read, sealed and never echoed.
    public struct NewMailboxRequest: Codable, Sendable {
        public var email: String?
        public var name: String?
        public var provider: String?
        public var usage: String?
        public var imapHost: String?
        public var imapPort: Int?
        public var imapSecurity: String?
        public var username: String?
        public var password: String?
        public var folder: String?
        public var deleteAfterFetch: Bool?
        public var smtpHost: String?
        public var smtpPort: Int?
        public var smtpSecurity: String?

        public init(
            email: String?, name: String?, provider: String?, usage: String?, imapHost: String?, imapPort: Int?, imapSecurity: String?,
            username: String?, password: String?, folder: String?, deleteAfterFetch: Bool?,
            smtpHost: String? = nil, smtpPort: Int? = nil, smtpSecurity: String? = nil
        ) {
            self.smtpHost = smtpHost
            self.smtpPort = smtpPort
            self.smtpSecurity = smtpSecurity
            self.email = email
            self.name = name
            self.provider = provider
            self.usage = usage
            self.imapHost = imapHost
            self.imapPort = imapPort
            self.imapSecurity = imapSecurity
            self.username = username
            self.password = password
            self.folder = folder
            self.deleteAfterFetch = deleteAfterFetch
        }
    }

    public struct TicketResource: Codable, Sendable, Equatable {
        public var number: Int64
        public var subject: String
        public var requester: Person
        public var status: String
        public var mailboxId: Int64?
        public var messageCount: Int
        public var createdAt: Date
        public var lastMessageAt: Date
        /// The ticket this one's first email named but was not let into (its sender was not on that conversation).
        public var referredTicket: Int64?
        public var messages: [MessageResource]?

        public init(_ summary: TicketSummary, messages: [TicketMessage]? = nil) {
            number = summary.number.rawValue
            subject = summary.subject
            requester = summary.requester
            status = summary.status.rawValue
            mailboxId = summary.mailboxID?.rawValue
            messageCount = summary.messageCount
            createdAt = summary.createdAt
            lastMessageAt = summary.lastMessageAt
            referredTicket = summary.referredTicket?.rawValue
            self.messages = messages?.map(MessageResource.init)
        }
    }

    public struct MessageResource: Codable, Sendable, Equatable {
        public var id: Int64
        public var from: Person
        public var to: [Person]
        public var cc: [Person]
        public var subject: String
        public var messageId: String?
        public var textBody: String
        public var htmlBody: String?
        public var attachments: [AttachmentInfo]
        public var receivedAt: Date
        public var sentAt: Date?
        public var size: Int
        public var defects: [String]
        public init(_ message: TicketMessage) {
            id = message.id
            from = message.from
            to = message.to
            cc = message.cc
            subject = message.subject
            messageId = message.messageID
            textBody = message.textBody
            htmlBody = message.htmlBody
            attachments = message.attachments
            receivedAt = message.receivedAt
            sentAt = message.sentAt
            size = message.rawSize
            defects = message.defects
        }
    }

    /// Every error the API answers: a sentence, the fields at fault, and — when a connection test failed — what the
    /// server said, judged the same way as on the Email settings pages. Never carries a secret.
    public struct ErrorResource: Codable, Sendable {
        public var error: String
        public var problems: [ValidationError.Problem]
        /// The state the failed test implies, e.g. `reauthorization_required` (connection test failures only).
        public var state: String?
        public var stateLabel: String?
        public var cause: String?
        public var fix: String?
        public var detail: String?
        public init(error: String, problems: [ValidationError.Problem]? = nil, cause: String? = nil, fix: String? = nil, detail: String? = nil) {
            self.error = error
            self.problems = problems ?? []
            self.cause = cause
            self.fix = fix
            self.detail = detail
        }

        /// A refused connection test: nothing was stored or changed.
        public init(testFailed verdict: Diagnosis.Verdict) {
            self.init(error: "The connection test failed: \(verdict.cause) Nothing was saved.", cause: verdict.cause, fix: verdict.fix, detail: verdict.detail)
            state = verdict.state.rawValue
            stateLabel = verdict.state.displayName
        }
    }

    /// `GET /api/v1/mailboxes/{id}/health`: each direction that goes through the mailbox's own server.
    public struct MailboxHealthResource: Codable, Sendable, Equatable {
        public var mailboxId: Int64
        public var email: String
        /// Absent when the mailbox does not fetch mail (Outgoing only).
        public var incoming: HealthResource?
        /// Absent when replies leave through Mailroom's default outgoing server.
        public var outgoing: HealthResource?
        /// True while any direction needs the admin (the banner is shown).
        public var needsAdmin: Bool

        public init(_ mailbox: Mailbox, health: [Direction: ConnectionHealth]) {
            mailboxId = mailbox.id.rawValue
            email = mailbox.email
            let shown = Diagnosis.shown(mailbox, stored: health)
            incoming = shown[.incoming].map(HealthResource.init)
            outgoing = shown[.outgoing].map(HealthResource.init)
            needsAdmin = shown.values.contains { $0.state.needsAdmin }
        }
    }

    /// `POST /api/v1/mailboxes/test`: whether the settings and password work, without storing anything.
    public struct ConnectionTestResource: Codable, Sendable, Equatable {
        public var ok: Bool
        /// The directions that were tested (incoming: IMAP sign-in and opening the folder).
        public var tested: [String]
        public var state: String?
        public var stateLabel: String?
        public var cause: String?
        public var fix: String?
        public var detail: String?

        public init(tested: [Direction], failure verdict: Diagnosis.Verdict?) {
            ok = verdict == nil
            self.tested = tested.map(\.rawValue)
            state = verdict?.state.rawValue
            stateLabel = verdict?.state.displayName
            cause = verdict?.cause
            fix = verdict?.fix
            detail = verdict?.detail
        }
    }

    /// `POST /api/v1/mailboxes/{id}/password`.
    public struct NewPasswordRequest: Codable, Sendable {
        public var password: String?
        public init(password: String?) { self.password = password }
    }

    /// `GET /api/v1/me`: who is calling. The CSRF token is given only to cookie sessions (a browser script needs
    /// it for POST and DELETE); HTTP Basic callers need none.
    public struct MeResource: Codable, Sendable, Equatable {
        public var id: Int64
        public var email: String
        public var name: String
        public var role: String
        public var roleLabel: String
        /// `session` (the `mailroom_session` cookie) or `basic` (HTTP Basic).
        public var authentication: String
        public var csrfToken: String?

        public init(_ user: User, csrfToken: String?) {
            id = user.id
            email = user.email
            name = user.name
            role = user.role.rawValue
            roleLabel = user.role.displayName
            authentication = csrfToken == nil ? "basic" : "session"
            self.csrfToken = csrfToken
        }
    }

    /// The encoder every JSON output uses: snake_case keys, ISO 8601 dates, stable key order.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension MailboxDraft {
    /// Reads an API request into a draft, naming any field whose value is not one of the allowed words.
    public init(_ request: APIResources.NewMailboxRequest) throws(ValidationError) {
        var problems: [ValidationError.Problem] = []
        func choice<T: RawRepresentable & CaseIterable>(_ value: String?, _ field: String, default fallback: T) -> T where T.RawValue == String {
            guard let value else { return fallback }
            if let parsed = T(rawValue: value.lowercased()) { return parsed }
            problems.append(.init(field: field, message: "«\(value)» is not a valid \(field); use one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))."))
            return fallback
        }
        let provider: MailProvider = choice(request.provider, "provider", default: .other)
        let usage: MailboxUsage = choice(request.usage, "usage", default: .incoming)
        let security: TransportSecurity? = request.imapSecurity == nil ? nil : choice(request.imapSecurity, "imap_security", default: TransportSecurity.tls)
        let smtpSecurity: TransportSecurity? = request.smtpSecurity == nil ? nil : choice(request.smtpSecurity, "smtp_security", default: TransportSecurity.starttls)
        if request.email == nil { problems.append(.init(field: "email", message: "Enter the support email address.")) }
        if request.name == nil { problems.append(.init(field: "name", message: "Enter the name customers see.")) }
        if !problems.isEmpty { throw ValidationError(problems: problems) }
        self.init(
            email: request.email ?? "", name: request.name ?? "", provider: provider, usage: usage, imapHost: request.imapHost,
            imapPort: request.imapPort, imapSecurity: security, username: request.username, folder: request.folder,
            deleteAfterFetch: request.deleteAfterFetch ?? false, smtpHost: request.smtpHost, smtpPort: request.smtpPort, smtpSecurity: smtpSecurity)
    }
}
