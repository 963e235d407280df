import Foundation

/// Identifies a support mailbox; the database row id, stable for the mailbox's life.
public struct MailboxID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Which mail service hosts the mailbox; decides pre-filled settings and, later, the sign-in flow.
public enum MailProvider: String, Sendable, Codable, CaseIterable {
    case microsoft, google, other

    /// The name the admin sees, as in PRODUCT.md.
    public var displayName: String {
        switch self {
        case .microsoft: "Microsoft Office 365"
        case .google: "Gmail"
        case .other: "Other"
        }
    }

    /// Who issues this provider's OAuth tokens, in the admin's words.
    public var identityProviderName: String {
        switch self {
        case .microsoft: "Microsoft"
        case .google: "Google"
        case .other: "The identity provider"
        }
    }

    /// The sign-in button's label (PRODUCT.md).
    public var signInLabel: String {
        switch self {
        case .microsoft: "Sign in with Microsoft"
        case .google: "Sign in with Google"
        case .other: "Sign in"
        }
    }
}

/// Which directions go through the customer's own server («Use your own mail server for …»).
public enum MailboxUsage: String, Sendable, Codable, CaseIterable {
    case incoming, outgoing, both

    public var displayName: String {
        switch self {
        case .incoming: "Incoming only"
        case .outgoing: "Outgoing only"
        case .both: "Both"
        }
    }

    /// Whether Mailroom fetches this mailbox over IMAP.
    public var fetchesMail: Bool { self != .outgoing }
    /// Whether replies leave through the mailbox's own SMTP server (otherwise through the operator's default one).
    public var sendsMail: Bool { self != .incoming }
}

/// Transport security of a server connection. `none` exists only because some operators ask for it explicitly.
public enum TransportSecurity: String, Sendable, Codable, CaseIterable {
    case tls, starttls, none

    public var displayName: String {
        switch self {
        case .tls: "SSL/TLS"
        case .starttls: "STARTTLS"
        case .none: "None (unencrypted)"
        }
    }
}

/// How Mailroom proves who it is to a mail server.
public enum ServerAuthentication: String, Sendable, Codable, CaseIterable {
    /// A password (or app password) sent with PLAIN or LOGIN: «Basic Auth» in Microsoft's words.
    case password
    /// An OAuth2 access token sent with XOAUTH2 or OAUTHBEARER, from a grant the admin gave by signing in.
    case oauth2
}

/// Where and as whom Mailroom fetches mail.
public struct IncomingServer: Sendable, Codable, Equatable {
    public var host: String
    public var port: Int
    public var security: TransportSecurity
    /// The account the server opens: with OAuth, a shared mailbox's address while the token is a delegate's.
    public var username: String
    public var folder: String
    public var authentication: ServerAuthentication

    public init(host: String, port: Int, security: TransportSecurity, username: String, folder: String = "INBOX", authentication: ServerAuthentication = .password) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.folder = folder
        self.authentication = authentication
    }
}

/// Where and as whom Mailroom sends replies from this mailbox («Outgoing only» and «Both»).
public struct OutgoingServer: Sendable, Codable, Equatable {
    public var host: String
    public var port: Int
    /// `.tls` is TLS from the first byte (465), `.starttls` the usual submission port (587).
    public var security: TransportSecurity
    /// The SMTP AUTH identity: with OAuth, the support address while the token may be a delegate's.
    public var username: String
    public var authentication: ServerAuthentication

    public init(host: String, port: Int, security: TransportSecurity, username: String, authentication: ServerAuthentication = .password) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.authentication = authentication
    }
}

/// A support email connected to Mailroom. Holds no secrets: credentials live sealed in the Store.
public struct Mailbox: Sendable, Codable, Equatable, Identifiable {
    public var id: MailboxID
    public var email: String
    public var name: String
    public var provider: MailProvider
    public var usage: MailboxUsage
    public var incoming: IncomingServer?
    public var outgoing: OutgoingServer?
    public var deleteAfterFetch: Bool
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// Whether Mailroom fetches this mailbox's mail now: enabled, used for incoming mail, with a server to read.
    public var isFetching: Bool { enabled && usage.fetchesMail && incoming != nil }

    public init(
        id: MailboxID, email: String, name: String, provider: MailProvider, usage: MailboxUsage,
        incoming: IncomingServer?, outgoing: OutgoingServer? = nil, deleteAfterFetch: Bool, enabled: Bool, createdAt: Date, updatedAt: Date
    ) {
        self.outgoing = outgoing
        self.id = id
        self.email = email
        self.name = name
        self.provider = provider
        self.usage = usage
        self.incoming = incoming
        self.deleteAfterFetch = deleteAfterFetch
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
