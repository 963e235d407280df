import Foundation
import Hummingbird
import IMAP
import Logging
import MailroomTestSupport
import SASL
import SMTP
import Synchronization
import Testing

/// SMTP AUTH against a real Postfix 3.7 whose SASL is Dovecot's auth service, and XOAUTH2/OAUTHBEARER
/// through Dovecot's oauth2 passdb asking an RFC 7662 introspection endpoint (a stub here; later the
/// identity emulator).
@Suite("SMTP AUTH against Postfix with Dovecot SASL", .serialized, .timeLimit(.minutes(3)))
struct SMTPAuthTests {
    static let logger: Logger = {
        var logger = Logger(label: "smtp-integration")
        logger.logLevel = .info
        return logger
    }()

    static func server(_ postfix: Postfix, implicitTLS: Bool = false, trustCA: Bool = true) -> SMTPServer {
        testSMTPServer(port: implicitTLS ? postfix.submissionsPort : postfix.submissionPort, implicitTLS: implicitTLS, caFile: trustCA ? postfix.caFile : nil)
    }

    // MARK: - Passwords (the shared Dovecot + Postfix)

    @Test func startTLSAndAuthPlain() async throws {
        let postfix = try await TestServers.shared.postfix()
        try postfix.dovecot.setUser("smtp-plain", password: "Plain-Pass-1")
        let client = try await SMTPClient.connect(to: Self.server(postfix), logger: Self.logger)
        #expect(await client.isEncrypted)
        let extensions = await client.extensions
        #expect(extensions.authMechanisms.isSuperset(of: ["PLAIN", "LOGIN"]), "\(extensions)")
        #expect(!extensions.startTLS)  // the post-TLS EHLO no longer offers it
        try await client.login(username: "smtp-plain", password: "Plain-Pass-1")
        #expect(await client.isAuthenticated)
        await client.quit()
    }

    @Test func authLogin() async throws {
        let postfix = try await TestServers.shared.postfix()
        try postfix.dovecot.setUser("smtp-login", password: "Login-Pass-1")
        let client = try await SMTPClient.connect(to: Self.server(postfix), logger: Self.logger)
        try await client.authenticate(mechanism: SASLLogin(username: "smtp-login", password: "Login-Pass-1"))
        await client.quit()
    }

    @Test func wrongPasswordIsAPermanent535() async throws {
        let postfix = try await TestServers.shared.postfix()
        try postfix.dovecot.setUser("smtp-wrong", password: "Right-Pass-1")
        let client = try await SMTPClient.connect(to: Self.server(postfix), logger: Self.logger)
        let error = await smtpError { try await client.login(username: "smtp-wrong", password: "Wrong-Pass-2") }
        #expect(error?.kind == .authenticationFailed && error?.code == 535, "\(String(describing: error))")
        #expect(error?.enhancedStatusCode == EnhancedStatusCode(5, 7, 8) && error?.isPermanent == true)
        #expect(error.map { !"\($0)".contains("Wrong-Pass-2") } == true)
        await client.quit()
    }

    @Test func implicitTLS() async throws {
        let postfix = try await TestServers.shared.postfix()
        try postfix.dovecot.setUser("smtp-tls", password: "Tls-Pass-1")
        let client = try await SMTPClient.connect(to: Self.server(postfix, implicitTLS: true), logger: Self.logger)
        #expect(await client.isEncrypted)
        try await client.login(username: "smtp-tls", password: "Tls-Pass-1")
        await client.quit()
    }

    @Test(arguments: [false, true])
    func untrustedCertificateFails(implicitTLS: Bool) async throws {
        let postfix = try await TestServers.shared.postfix()
        let error = await smtpError {
            _ = try await SMTPClient.connect(to: Self.server(postfix, implicitTLS: implicitTLS, trustCA: false), logger: Self.logger)
        }
        #expect(error?.kind == .tlsFailed, "\(String(describing: error))")
    }

    @Test func noAuthBeforeTLS() async throws {
        // With security .none against the STARTTLS port, Postfix offers no AUTH (smtpd_tls_auth_only).
        let postfix = try await TestServers.shared.postfix()
        var server = Self.server(postfix)
        server.security = .none
        let client = try await SMTPClient.connect(to: server, logger: Self.logger)
        #expect(await client.extensions.startTLS)
        let error = await smtpError { try await client.login(username: "smtp-plain", password: "Plain-Pass-1") }
        #expect(error?.kind == .unsupported)
        await client.quit()
    }

    // MARK: - OAuth (a dedicated Dovecot + Postfix pair behind an introspection stub)

    @Test func xoauth2WithATokenLongerThanAPostfixLine() async throws {
        let oauth = try await OAuthServers.shared.start()
        #expect(OAuthServers.ownerToken.utf8.count > 2_048)
        let client = try await SMTPClient.connect(to: Self.server(oauth.postfix), logger: Self.logger)
        #expect(await client.extensions.authMechanisms.isSuperset(of: ["XOAUTH2", "OAUTHBEARER"]))
        try await client.authenticate(mechanism: SASLXOAuth2(user: OAuthServers.owner, accessToken: OAuthServers.ownerToken))
        #expect(await client.isAuthenticated)
        await client.quit()
        #expect(oauth.stub.services.contains("smtp"))
    }

    @Test func oauthBearer() async throws {
        let oauth = try await OAuthServers.shared.start()
        let client = try await SMTPClient.connect(to: Self.server(oauth.postfix), logger: Self.logger)
        try await client.authenticate(mechanism: SASLOAuthBearer(
            user: OAuthServers.owner, accessToken: OAuthServers.ownerToken, host: "localhost", port: oauth.postfix.submissionPort))
        await client.quit()
    }

    @Test func inactiveTokenIs535WithTheServersDetail() async throws {
        let oauth = try await OAuthServers.shared.start()
        let client = try await SMTPClient.connect(to: Self.server(oauth.postfix), logger: Self.logger)
        let token = "revoked-" + String(repeating: "r", count: 40)
        let error = await smtpError {
            try await client.authenticate(mechanism: SASLXOAuth2(user: OAuthServers.owner, accessToken: token))
        }
        #expect(error?.kind == .authenticationFailed && error?.code == 535, "\(String(describing: error))\n\(oauth.dovecot.log())")
        #expect(error?.enhancedStatusCode == EnhancedStatusCode(5, 7, 8) && error?.isPermanent == true)
        #expect(error?.saslDetail == "status 401, schemes bearer, scope mail")
        #expect(error.map { !"\($0)".contains(token) } == true)
        await client.quit()
    }

    @Test func imapXOAuth2AgainstTheSameDovecot() async throws {
        let oauth = try await OAuthServers.shared.start()
        let server = IMAPServer(host: "localhost", port: oauth.dovecot.imapPort, security: .starttls, trustedCertificatesPEMFile: oauth.dovecot.caFile,
                                timeouts: IMAPTimeouts(command: .seconds(25)))
        let client = try await IMAPClient.connect(to: server, logger: Self.logger)
        try await client.authenticate(mechanism: SASLXOAuth2(user: OAuthServers.owner, accessToken: OAuthServers.ownerToken))
        _ = try await client.select("INBOX")
        await client.logout()
        #expect(oauth.stub.services.contains("imap"))
    }

    @Test func delegateTokenOpensTheSharedMailbox() async throws {
        let oauth = try await OAuthServers.shared.start()
        let server = IMAPServer(host: "localhost", port: oauth.dovecot.imapsPort, security: .tls, trustedCertificatesPEMFile: oauth.dovecot.caFile,
                                timeouts: IMAPTimeouts(command: .seconds(25)))
        let client = try await IMAPClient.connect(to: server, logger: Self.logger)
        try await client.authenticate(mechanism: SASLXOAuth2(user: OAuthServers.sharedMailbox, accessToken: OAuthServers.delegateToken))
        await client.logout()
        let smtp = try await SMTPClient.connect(to: Self.server(oauth.postfix, implicitTLS: true), logger: Self.logger)
        try await smtp.authenticate(mechanism: SASLXOAuth2(user: OAuthServers.sharedMailbox, accessToken: OAuthServers.delegateToken))
        await smtp.quit()
    }
}

/// A Dovecot + Postfix pair whose Dovecot checks OAuth tokens at ``IntrospectionStub``; started once.
actor OAuthServers {
    static let shared = OAuthServers()
    static let owner = "owner@example.test"
    static let sharedMailbox = "shared@example.test"
    static let delegate = "delegate@example.test"
    /// Longer than Postfix's 2,048-byte command line, so it cannot ride on the AUTH line.
    static let ownerToken = "owner-" + String(repeating: "0123456789abcdef", count: 140)
    static let delegateToken = "delegate-" + String(repeating: "fedcba9876543210", count: 10)

    struct Running: Sendable {
        let stub: IntrospectionStub
        let dovecot: Dovecot
        let postfix: Postfix
    }

    private var task: Task<Running, any Error>?

    func start() async throws -> Running {
        if let task { return try await task.value }
        let task = Task {
            let stub = try await IntrospectionStub(answers: [
                Self.ownerToken: (username: Self.owner, sharedMailbox: Self.owner),
                Self.delegateToken: (username: Self.delegate, sharedMailbox: Self.sharedMailbox),
            ])
            let dovecot = try await Dovecot(introspectionURL: stub.url)
            let postfix = try await Postfix(dovecot: dovecot)
            return Running(stub: stub, dovecot: dovecot, postfix: postfix)
        }
        self.task = task
        return try await task.value
    }
}

/// A tiny RFC 7662 endpoint: `POST /introspect` with `token=…` (HTTP Basic client credentials) answers
/// `{"active":true,"username":…,"shared_mailbox":…}` for known tokens and `{"active":false}` otherwise.
/// Remembers the `X-Dovecot-Auth-Service` values it saw.
final class IntrospectionStub: Sendable {
    static let clientID = "dovecot"
    static let clientSecret = "introspection-secret"
    let port: Int
    private let seen = SeenServices()

    var url: String { "http://\(Self.clientID):\(Self.clientSecret)@127.0.0.1:\(port)/introspect" }
    var services: Set<String> { seen.values.withLock { $0 } }

    init(answers: [String: (username: String, sharedMailbox: String)]) async throws {
        port = try ProcessRunner.freePort()
        let seen = self.seen
        let expectedAuthorization = "Basic " + Data("\(Self.clientID):\(Self.clientSecret)".utf8).base64EncodedString()
        let known = answers.mapValues { [$0.username, $0.sharedMailbox] }
        let router = Router()
        router.post("/introspect") { request, _ -> Response in
            for field in request.headers where field.name.canonicalName == "x-dovecot-auth-service" {
                seen.values.withLock { _ = $0.insert(field.value) }
            }
            guard request.headers[.authorization] == expectedAuthorization else {
                return Response(status: .unauthorized)
            }
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
            let token = body.split(separator: "&").compactMap { pair -> String? in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0] == "token" else { return nil }
                return parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }.first
            var answer: [String: Any] = ["active": false]
            if let token, let names = known[token] {
                answer = ["active": true, "username": names[0], "shared_mailbox": names[1], "scope": "mail"]
            }
            let json = try JSONSerialization.data(withJSONObject: answer)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        var logger = Logger(label: "introspection-stub")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        Task { try await app.runService(gracefulShutdownSignals: []) }
        try await ProcessRunner.waitForPort(port)
    }
}

/// The `X-Dovecot-Auth-Service` values the stub has seen (`imap`, `smtp`).
final class SeenServices: Sendable {
    let values = Mutex<Set<String>>([])
}
