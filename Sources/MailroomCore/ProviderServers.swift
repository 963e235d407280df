import Foundation

/// Where «Microsoft Office 365» and «Gmail» mailboxes connect when the admin leaves the server empty, and what
/// *New support email* pre-fills.
///
/// The operator can change them because the public endpoints are not the only ones: Microsoft 365 operated by
/// 21Vianet and GCC High have their own hosts, and Mailroom's offline demo serves both providers from a local
/// Dovecot. One value, built once at start-up, so validation, the form and its script never disagree.
public struct ProviderServers: Sendable, Equatable {
    /// One server a provider's mailboxes use by default.
    public struct Endpoint: Sendable, Equatable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var security: TransportSecurity

        public init(host: String, port: Int, security: TransportSecurity) {
            self.host = host
            self.port = port
            self.security = security
        }

        public var description: String { "\(host):\(port) (\(security.displayName))" }
    }

    public var microsoftIncoming: Endpoint
    public var microsoftOutgoing: Endpoint
    public var googleIncoming: Endpoint
    public var googleOutgoing: Endpoint

    public init(microsoftIncoming: Endpoint, microsoftOutgoing: Endpoint, googleIncoming: Endpoint, googleOutgoing: Endpoint) {
        self.microsoftIncoming = microsoftIncoming
        self.microsoftOutgoing = microsoftOutgoing
        self.googleIncoming = googleIncoming
        self.googleOutgoing = googleOutgoing
    }

    /// The providers' public servers (PRODUCT.md, «Server settings»).
    public static let standard = ProviderServers(
        microsoftIncoming: Endpoint(host: "outlook.office365.com", port: 993, security: .tls),
        microsoftOutgoing: Endpoint(host: "smtp.office365.com", port: 587, security: .starttls),
        googleIncoming: Endpoint(host: "imap.gmail.com", port: 993, security: .tls),
        googleOutgoing: Endpoint(host: "smtp.gmail.com", port: 587, security: .starttls))

    /// The IMAP server of `provider`'s mailboxes; nil for «Other», whose admin always names one.
    public func incoming(for provider: MailProvider) -> Endpoint? {
        switch provider {
        case .microsoft: microsoftIncoming
        case .google: googleIncoming
        case .other: nil
        }
    }

    /// The SMTP submission server of `provider`'s mailboxes; nil for «Other».
    public func outgoing(for provider: MailProvider) -> Endpoint? {
        switch provider {
        case .microsoft: microsoftOutgoing
        case .google: googleOutgoing
        case .other: nil
        }
    }
}

// MARK: - From the environment

extension ProviderServers {
    /// One overridable server: its environment variable and where it lands.
    public enum Setting: String, Sendable, CaseIterable {
        case microsoftIncoming = "MAILROOM_MICROSOFT_IMAP_SERVER"
        case microsoftOutgoing = "MAILROOM_MICROSOFT_SMTP_SERVER"
        case googleIncoming = "MAILROOM_GOOGLE_IMAP_SERVER"
        case googleOutgoing = "MAILROOM_GOOGLE_SMTP_SERVER"

        /// The environment variable that overrides it.
        public var variable: String { rawValue }

        var keyPath: WritableKeyPath<ProviderServers, Endpoint> {
            switch self {
            case .microsoftIncoming: \.microsoftIncoming
            case .microsoftOutgoing: \.microsoftOutgoing
            case .googleIncoming: \.googleIncoming
            case .googleOutgoing: \.googleOutgoing
            }
        }

        var scheme: ServerURLScheme {
            switch self {
            case .microsoftIncoming, .googleIncoming: .imap
            case .microsoftOutgoing, .googleOutgoing: .smtp
            }
        }
    }

    /// The servers from `MAILROOM_{MICROSOFT,GOOGLE}_{IMAP,SMTP}_SERVER`, each a URL such as `imaps://host:993`;
    /// an unset or empty variable keeps the standard server.
    /// - Throws: every malformed variable at once, each named with what is wrong and an example.
    public init(environment: [String: String]) throws(ProviderServersError) {
        self = .standard
        var problems: [ProviderServersError.Problem] = []
        for setting in Setting.allCases {
            guard let text = environment[setting.variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { continue }
            do {
                self[keyPath: setting.keyPath] = try setting.scheme.parse(text)
            } catch {
                problems.append(.init(
                    variable: setting.variable, value: text, reason: error.reason,
                    example: setting.scheme.url(for: Self.standard[keyPath: setting.keyPath])))
            }
        }
        if !problems.isEmpty { throw ProviderServersError(problems: problems) }
    }

    /// The settings that differ from ``standard``, as the URLs that set them; for the start-up log.
    public var overrides: [(variable: String, url: String)] {
        Setting.allCases.compactMap { setting in
            let endpoint = self[keyPath: setting.keyPath]
            return endpoint == Self.standard[keyPath: setting.keyPath] ? nil : (setting.variable, setting.scheme.url(for: endpoint))
        }
    }
}

/// Malformed `MAILROOM_…_SERVER` variables, each described so the operator can fix it without the README.
public struct ProviderServersError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var variable: String
        public var value: String
        public var reason: String
        public var example: String

        public var description: String { "\(variable) «\(value)» is not usable: \(reason). Example: \(variable)=\(example)" }
    }

    public var problems: [Problem]

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// What is wrong with one server URL, in words that complete «… is not usable: ».
struct ServerURLProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The URL forms of a provider server: the scheme says the protocol and the security, as in `MAILROOM_SMTP_URL`.
enum ServerURLScheme {
    case imap, smtp

    /// (implicit TLS scheme, STARTTLS scheme), with their usual ports.
    private var schemes: (tls: (name: String, port: Int), starttls: (name: String, port: Int)) {
        switch self {
        case .imap: (("imaps", 993), ("imap", 143))
        case .smtp: (("smtps", 465), ("smtp", 587))
        }
    }

    private var hint: String {
        "use \(schemes.tls.name)://host:port for SSL/TLS or \(schemes.starttls.name)://host:port for STARTTLS "
            + "(port optional: \(schemes.tls.port) and \(schemes.starttls.port)), adding ?security=none to \(schemes.starttls.name):// only for an unencrypted test server"
    }

    func url(for endpoint: ProviderServers.Endpoint) -> String {
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        return switch endpoint.security {
        case .tls: "\(schemes.tls.name)://\(host):\(endpoint.port)"
        case .starttls: "\(schemes.starttls.name)://\(host):\(endpoint.port)"
        case .none: "\(schemes.starttls.name)://\(host):\(endpoint.port)?security=none"
        }
    }

    /// `scheme://host[:port][/][?security=none]`; the host may be an IPv6 literal in brackets. No user, password or path:
    /// each mailbox signs in with its own account.
    func parse(_ text: String) throws(ServerURLProblem) -> ProviderServers.Endpoint {
        guard let separator = text.range(of: "://") else {
            throw ServerURLProblem("it is not a URL; \(hint)")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        var security: TransportSecurity
        var defaultPort: Int
        switch scheme {
        case schemes.tls.name: (security, defaultPort) = (.tls, schemes.tls.port)
        case schemes.starttls.name: (security, defaultPort) = (.starttls, schemes.starttls.port)
        default: throw ServerURLProblem("the scheme «\(scheme)://» is not one of \(schemes.tls.name):// and \(schemes.starttls.name)://; \(hint)")
        }
        var rest = Substring(text[separator.upperBound...])
        if let mark = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
            guard query.lowercased() == "security=none", security == .starttls else {
                throw ServerURLProblem("the only query allowed is ?security=none, and only on \(schemes.starttls.name)://")
            }
            security = .none
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("@") else {
            throw ServerURLProblem("it must not contain a user or password; each mailbox signs in with its own account")
        }
        guard !rest.contains("/"), !rest.contains("#") else {
            throw ServerURLProblem("it must be only a scheme, a host and a port, without a path")
        }
        let host: Substring
        let portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ServerURLProblem("the IPv6 address lacks its closing «]»") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else if after.first == ":" {
                portText = after.dropFirst()
            } else {
                throw ServerURLProblem("after the IPv6 address only «:port» may follow")
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw ServerURLProblem("write an IPv6 address in brackets, like [::1]:\(defaultPort)") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw ServerURLProblem("the host is missing") }
        guard HostSyntax.isPlausible(String(host)) else { throw ServerURLProblem("«\(host)» is not a host name or IP address") }
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText),
                  (1...65535).contains(number) else {
                throw ServerURLProblem("the port «\(portText)» must be a number between 1 and 65535")
            }
            port = number
        }
        return ProviderServers.Endpoint(host: String(host), port: port, security: security)
    }
}
