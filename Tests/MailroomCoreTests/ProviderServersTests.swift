import MailroomCore
import Testing

@Suite("Provider servers: the operator's defaults for Microsoft and Gmail")
struct ProviderServersTests {
    /// GCC High for Microsoft, a loopback Dovecot for «Gmail», as the demo runs it.
    static let overridden = ProviderServers(
        microsoftIncoming: .init(host: "outlook.office365.us", port: 993, security: .tls),
        microsoftOutgoing: .init(host: "smtp.office365.us", port: 587, security: .starttls),
        googleIncoming: .init(host: "127.0.0.1", port: 10143, security: .starttls),
        googleOutgoing: .init(host: "127.0.0.1", port: 10587, security: .none))

    @Test("The standard servers are the providers' public ones; «Other» has none")
    func standard() {
        let servers = ProviderServers.standard
        #expect(servers.incoming(for: .microsoft) == .init(host: "outlook.office365.com", port: 993, security: .tls))
        #expect(servers.outgoing(for: .microsoft) == .init(host: "smtp.office365.com", port: 587, security: .starttls))
        #expect(servers.incoming(for: .google) == .init(host: "imap.gmail.com", port: 993, security: .tls))
        #expect(servers.outgoing(for: .google) == .init(host: "smtp.gmail.com", port: 587, security: .starttls))
        #expect(servers.incoming(for: .other) == nil && servers.outgoing(for: .other) == nil)
        #expect(servers.overrides.isEmpty)
    }

    @Test("An empty host takes the configured server, its port and its security; what the admin enters still wins")
    func validatedWithOverrides() throws {
        let ms = try MailboxDraft(email: "help@agency.gov", name: "Help", provider: .microsoft, usage: .both).validated(servers: Self.overridden)
        #expect(ms.incoming == IncomingServer(host: "outlook.office365.us", port: 993, security: .tls, username: "help@agency.gov"))
        #expect(ms.outgoing?.host == "smtp.office365.us" && ms.outgoing?.port == 587 && ms.outgoing?.security == .starttls)

        let gmail = try MailboxDraft(email: "help@gmail.com", name: "Help", provider: .google, usage: .both).validated(servers: Self.overridden)
        #expect(gmail.incoming?.host == "127.0.0.1" && gmail.incoming?.port == 10143 && gmail.incoming?.security == .starttls)
        #expect(gmail.outgoing?.host == "127.0.0.1" && gmail.outgoing?.port == 10587 && gmail.outgoing?.security == TransportSecurity.none)

        let typed = try MailboxDraft(email: "help@agency.gov", name: "Help", provider: .microsoft, imapHost: "imap.agency.gov", imapPort: 1993)
            .validated(servers: Self.overridden)
        #expect(typed.incoming?.host == "imap.agency.gov" && typed.incoming?.port == 1993)

        // «Other» has no defaults to override, and the default argument keeps the public servers.
        #expect(throws: ValidationError.self) { try MailboxDraft(email: "a@example.com", name: "A").validated(servers: Self.overridden) }
        #expect(try MailboxDraft(email: "help@contoso.com", name: "Help", provider: .microsoft).validated().incoming?.host == "outlook.office365.com")
    }

    @Test("Unset or empty variables keep the standard servers")
    func emptyEnvironment() throws {
        #expect(try ProviderServers(environment: [:]) == .standard)
        #expect(try ProviderServers(environment: ["MAILROOM_MICROSOFT_IMAP_SERVER": "", "MAILROOM_GOOGLE_SMTP_SERVER": "  ", "PATH": "/bin"]) == .standard)
    }

    @Test("Each URL form sets host, port and security", arguments: [
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us:993", ProviderServers.Endpoint(host: "outlook.office365.us", port: 993, security: .tls)),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.partner.outlook.cn", .init(host: "outlook.partner.outlook.cn", port: 993, security: .tls)),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "IMAP://127.0.0.1:10143/", .init(host: "127.0.0.1", port: 10143, security: .starttls)),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://localhost", .init(host: "localhost", port: 143, security: .starttls)),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://[::1]:10143", .init(host: "::1", port: 10143, security: .starttls)),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://localhost:10143?security=none", .init(host: "localhost", port: 10143, security: .none)),
        ("MAILROOM_MICROSOFT_SMTP_SERVER", "smtp://smtp.office365.us", .init(host: "smtp.office365.us", port: 587, security: .starttls)),
        ("MAILROOM_MICROSOFT_SMTP_SERVER", " smtps://smtp.example.com:2465 ", .init(host: "smtp.example.com", port: 2465, security: .tls)),
        ("MAILROOM_GOOGLE_SMTP_SERVER", "smtps://127.0.0.1", .init(host: "127.0.0.1", port: 465, security: .tls)),
        ("MAILROOM_GOOGLE_SMTP_SERVER", "smtp://127.0.0.1:10587", .init(host: "127.0.0.1", port: 10587, security: .starttls)),
    ])
    func accepted(variable: String, value: String, expected: ProviderServers.Endpoint) throws {
        let setting = try #require(ProviderServers.Setting(rawValue: variable))
        var want = ProviderServers.standard
        switch setting {
        case .microsoftIncoming: want.microsoftIncoming = expected
        case .microsoftOutgoing: want.microsoftOutgoing = expected
        case .googleIncoming: want.googleIncoming = expected
        case .googleOutgoing: want.googleOutgoing = expected
        }
        // The variable sets its server and only that one.
        let servers = try ProviderServers(environment: [variable: value])
        #expect(servers == want)
        #expect(servers.overrides.map(\.variable) == [variable])
        // What the start-up log shows reads back as the same servers.
        let logged = Dictionary(uniqueKeysWithValues: servers.overrides.map { ($0.variable, $0.url) })
        #expect(try ProviderServers(environment: logged) == servers)
    }

    @Test("A malformed URL is refused with the variable, the reason and an example", arguments: [
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "ftp://x", "scheme «ftp://»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://:99999", "host is missing"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us:99999", "port «99999»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us:0", "port «0»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us:99a", "port «99a»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us:", "port «»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "outlook.office365.us", "not a URL"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "smtps://outlook.office365.us", "scheme «smtps://»"),
        ("MAILROOM_MICROSOFT_IMAP_SERVER", "imaps://outlook.office365.us?security=none", "?security=none"),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://user:pass@imap.gmail.com", "user or password"),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://imap.gmail.com/INBOX", "without a path"),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://bad host", "not a host name"),
        ("MAILROOM_GOOGLE_IMAP_SERVER", "imap://::1:143", "IPv6 address in brackets"),
        ("MAILROOM_MICROSOFT_SMTP_SERVER", "imap://smtp.office365.us", "scheme «imap://»"),
        ("MAILROOM_GOOGLE_SMTP_SERVER", "https://smtp.gmail.com", "scheme «https://»"),
    ])
    func refused(variable: String, value: String, reason: String) {
        do {
            let servers = try ProviderServers(environment: [variable: value])
            Issue.record("«\(value)» was accepted as \(servers)")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.description.hasPrefix("\(variable) «\(value.trimmingCharacters(in: .whitespaces))» is not usable: "))
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(error.description.contains("Example: \(variable)="), "\(error.description)")
        }
    }

    @Test("Every malformed variable is reported at once, with an example in the variable's own form")
    func everyProblem() {
        do {
            _ = try ProviderServers(environment: ["MAILROOM_MICROSOFT_IMAP_SERVER": "ftp://x", "MAILROOM_GOOGLE_SMTP_SERVER": "smtp://:25"])
            Issue.record("malformed variables were accepted")
        } catch {
            #expect(error.problems.map(\.variable) == ["MAILROOM_MICROSOFT_IMAP_SERVER", "MAILROOM_GOOGLE_SMTP_SERVER"])
            #expect(error.description.contains("Example: MAILROOM_MICROSOFT_IMAP_SERVER=imaps://outlook.office365.com:993"))
            #expect(error.description.contains("Example: MAILROOM_GOOGLE_SMTP_SERVER=smtp://smtp.gmail.com:587"))
            #expect(error.description.split(separator: "\n").count == 2)
        }
    }
}
