import Foundation

/// What an admin or operator asks for when adding a mailbox, before it is validated.
///
/// Every entry point (CLI, JSON API, form) fills a draft and calls ``validated(servers:)``, so the rules and the
/// wording of their errors live in one place.
public struct MailboxDraft: Sendable, Codable, Equatable {
    public var email: String
    public var name: String
    public var provider: MailProvider
    public var usage: MailboxUsage
    public var imapHost: String?
    public var imapPort: Int?
    public var imapSecurity: TransportSecurity?
    public var username: String?
    public var folder: String?
    public var deleteAfterFetch: Bool
    public var authentication: ServerAuthentication
    public var smtpHost: String?
    public var smtpPort: Int?
    public var smtpSecurity: TransportSecurity?

    public init(
        email: String, name: String, provider: MailProvider = .other, usage: MailboxUsage = .incoming,
        imapHost: String? = nil, imapPort: Int? = nil, imapSecurity: TransportSecurity? = nil,
        username: String? = nil, folder: String? = nil, deleteAfterFetch: Bool = false, authentication: ServerAuthentication = .password,
        smtpHost: String? = nil, smtpPort: Int? = nil, smtpSecurity: TransportSecurity? = nil
    ) {
        self.authentication = authentication
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
        self.folder = folder
        self.deleteAfterFetch = deleteAfterFetch
    }

    /// The IMAP server a `provider` mailbox uses when the admin names none; `servers` is the operator's choice.
    public static func defaultIncoming(for provider: MailProvider, servers: ProviderServers = .standard) -> ProviderServers.Endpoint? {
        servers.incoming(for: provider)
    }

    /// The submission server a `provider` mailbox uses when the admin names none.
    public static func defaultOutgoing(for provider: MailProvider, servers: ProviderServers = .standard) -> ProviderServers.Endpoint? {
        servers.outgoing(for: provider)
    }

    /// The checked form of the draft: a normalized mailbox description, or every problem at once.
    ///
    /// - Parameter servers: the provider servers an empty host falls back to. Pass the operator's configured ones
    ///   (sovereign clouds, the demo); the default is the public servers.
    public func validated(servers: ProviderServers = .standard) throws(ValidationError) -> ValidMailbox {
        var problems: [ValidationError.Problem] = []
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        if !EmailAddressSyntax.isPlausible(email) {
            problems.append(.init(field: "email", message: "«\(email)» is not an email address. Enter the address customers write to, like support@example.com."))
        }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty {
            problems.append(.init(field: "name", message: "Enter the name customers see, like «Support»."))
        } else if name.count > 200 || name.contains(where: { $0.isNewline }) {
            problems.append(.init(field: "name", message: "The name must be one line of at most 200 characters."))
        }
        var incoming: IncomingServer?
        if usage.fetchesMail {
            let defaults = servers.incoming(for: provider)
            let host = (imapHost?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? defaults?.host
            let security = imapSecurity ?? defaults?.security ?? .tls
            let port = imapPort ?? defaults?.port ?? (security == .tls ? 993 : 143)
            let username = (username?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? email
            let folder = (folder?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? "INBOX"
            if let host {
                if !HostSyntax.isPlausible(host) {
                    problems.append(.init(field: "imap_host", message: "«\(host)» is not a host name or IP address."))
                }
            } else {
                problems.append(.init(field: "imap_host", message: "Enter the IMAP server, like imap.example.com."))
            }
            if !(1...65535).contains(port) {
                problems.append(.init(field: "imap_port", message: "The IMAP port must be between 1 and 65535 (usually 993 for SSL/TLS, 143 for STARTTLS)."))
            }
            if username.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                problems.append(.init(field: "username", message: "The username must not contain line breaks."))
            }
            if folder.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) || folder.count > 500 {
                problems.append(.init(field: "folder", message: "The folder must be one line, like INBOX."))
            }
            incoming = host.map { IncomingServer(host: $0, port: port, security: security, username: username, folder: folder, authentication: authentication) }
        } else if deleteAfterFetch {
            problems.append(.init(field: "delete_after_fetch", message: "«Delete emails from server after fetching» applies only to Incoming only and Both."))
        }
        var outgoing: OutgoingServer?
        if usage.sendsMail {
            let defaults = servers.outgoing(for: provider)
            let host = (smtpHost?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? defaults?.host
            let security = smtpSecurity ?? defaults?.security ?? .starttls
            let port = smtpPort ?? defaults?.port ?? (security == .tls ? 465 : 587)
            let smtpUser = (username?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? email
            if let host {
                if !HostSyntax.isPlausible(host) {
                    problems.append(.init(field: "smtp_host", message: "«\(host)» is not a host name or IP address."))
                }
            } else {
                problems.append(.init(field: "smtp_host", message: "Enter the SMTP server replies are sent through, like smtp.example.com."))
            }
            if !(1...65535).contains(port) {
                problems.append(.init(field: "smtp_port", message: "The SMTP port must be between 1 and 65535 (usually 587 for STARTTLS, 465 for SSL/TLS)."))
            }
            outgoing = host.map { OutgoingServer(host: $0, port: port, security: security, username: smtpUser, authentication: authentication) }
        }
        if !problems.isEmpty { throw ValidationError(problems: problems) }
        return ValidMailbox(
            email: email, name: name, provider: provider, usage: usage, incoming: incoming, outgoing: outgoing,
            deleteAfterFetch: usage.fetchesMail && deleteAfterFetch
        )
    }
}

/// A mailbox description that passed ``MailboxDraft/validated(servers:)``; the only input the Store accepts.
public struct ValidMailbox: Sendable, Equatable {
    public var email: String
    public var name: String
    public var provider: MailProvider
    public var usage: MailboxUsage
    public var incoming: IncomingServer?
    public var outgoing: OutgoingServer?
    public var deleteAfterFetch: Bool
}

/// Bad input, described per field in words an admin can act on.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, Codable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }
    public var problems: [Problem]
    public init(problems: [Problem]) { self.problems = problems }
    public init(field: String, message: String) { self.problems = [.init(field: field, message: message)] }
    public var description: String { problems.map(\.message).joined(separator: " ") }
}

/// Cheap syntax checks; the server has the last word on whether an address or host exists.
public enum EmailAddressSyntax {
    public static func isPlausible(_ s: String) -> Bool {
        guard s.count <= 320, !s.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "\"" }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return HostSyntax.isPlausible(String(parts[1]))
    }
}

enum HostSyntax {
    static func isPlausible(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        return s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }
    }
}
