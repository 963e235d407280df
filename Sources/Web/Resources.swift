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
            if mailbox.usage.fetchesMail {
                directions[Direction.incoming.rawValue] = HealthResource(health[.incoming] ?? ConnectionHealth())
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
        public var state: String
        public var label: String
        public var cause: String?
        public var fix: String?
        public var detail: String?
        public var lastAttemptAt: Date?
        public var lastSuccessAt: Date?
        public var since: Date?
        public var consecutiveFailures: Int
        public init(_ health: ConnectionHealth) {
            state = health.state.rawValue
            label = health.state.displayName
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

    public struct ErrorResource: Codable, Sendable {
        public var error: String
        public var problems: [ValidationError.Problem]?
        public init(error: String, problems: [ValidationError.Problem]? = nil) {
            self.error = error
            self.problems = problems
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
