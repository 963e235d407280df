import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
@testable import Web

/// The JSON API behind sign-in, against a real Dovecot: who may call, create (tested first), health, the
/// connection test, Case 2 reauthorization, and the OpenAPI document. No password ever comes back.
@Suite("JSON API", .serialized)
struct APITests {
    /// An admin and an agent, a Dovecot user with a password, and the router with a connection test that trusts
    /// the test Dovecot's certificate.
    struct World {
        let fixture: StoreFixture
        let dovecot: Dovecot
        let dependencies: WebDependencies
        let admin: User
        let agent: User
        let adminPassword: String
        let agentPassword: String
        let user: String
        let mailPassword: String

        static func make(_ name: String) async throws -> World {
            let fixture = try await StoreFixture.make(.sqlite, name: name)
            let dovecot = try await TestServers.shared.dovecot()
            let user = uniqueUser("api")
            let mailPassword = "mail-\(UUID().uuidString)"
            try dovecot.setUser(user, password: mailPassword)
            try dovecot.ensureMaildir(user, folder: nil)
            var logger = Logger(label: "api-test")
            logger.logLevel = .warning
            let dependencies = WebDependencies(
                store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil,
                connectionTest: ConnectionTest(settings: SyncSettings(trustedCertificatesPEMFile: dovecot.caFile), logger: logger))
            let accounts = Accounts(store: fixture.store, cost: 4)
            let suffix = UInt32.random(in: 0...UInt32.max)
            let adminPassword = "admin-\(UUID().uuidString)"
            let agentPassword = "agent-\(UUID().uuidString)"
            let admin = try await accounts.create(email: "admin\(suffix)@helpdesk.example", name: "Ada Admin", role: .admin, password: adminPassword)
            let agent = try await accounts.create(email: "agent\(suffix)@helpdesk.example", name: "Aggie Agent", role: .agent, password: agentPassword)
            return World(fixture: fixture, dovecot: dovecot, dependencies: dependencies, admin: admin, agent: agent, adminPassword: adminPassword, agentPassword: agentPassword, user: user, mailPassword: mailPassword)
        }

        init(fixture: StoreFixture, dovecot: Dovecot, dependencies: WebDependencies, admin: User, agent: User, adminPassword: String, agentPassword: String, user: String, mailPassword: String) {
            self.fixture = fixture
            self.dovecot = dovecot
            self.dependencies = dependencies
            self.admin = admin
            self.agent = agent
            self.adminPassword = adminPassword
            self.agentPassword = agentPassword
            self.user = user
            self.mailPassword = mailPassword
        }

        var adminBasic: HTTPFields { Self.basic(admin.email, adminPassword) }
        var agentBasic: HTTPFields { Self.basic(agent.email, agentPassword) }

        static func basic(_ email: String, _ password: String) -> HTTPFields {
            [.authorization: "Basic " + Data("\(email):\(password)".utf8).base64EncodedString()]
        }

        /// The body of `POST /api/v1/mailboxes` for the Dovecot user.
        func mailboxBody(password: String?, email: String? = nil) -> ByteBuffer {
            var object: [String: Any] = [
                "email": email ?? "\(user)@helpdesk.example", "name": "API Support", "provider": "other", "usage": "incoming",
                "imap_host": "localhost", "imap_port": dovecot.imapsPort, "imap_security": "tls", "username": user,
            ]
            if let password { object["password"] = password }
            return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
        }

        /// Every secret of this world, none of which may appear in any response.
        var secrets: [String] { [adminPassword, agentPassword, mailPassword] }
    }

    /// Sends requests and remembers every response body, so the test can check none carries a secret.
    final class Client: @unchecked Sendable {
        let client: any TestClientProtocol
        private(set) var bodies: [String] = []
        /// Every exchange, for checking the OpenAPI document against what the API really answers.
        private(set) var exchanges: [[String: Any]] = []
        init(_ client: any TestClientProtocol) { self.client = client }

        func send(_ uri: String, _ method: HTTPRequest.Method = .get, headers: HTTPFields = [:], json: ByteBuffer? = nil) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String, json: [String: Any]) {
            var headers = headers
            if json != nil { headers[.contentType] = "application/json" }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: json)
            let body = String(buffer: response.body)
            bodies.append(body)
            exchanges.append([
                "method": method.rawValue, "path": uri, "status": response.status.code,
                "content_type": response.headers[.contentType] ?? "", "body": body,
            ])
            let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
            return (response.status, response.headers, body, object)
        }

        /// Checks every response of this test against the OpenAPI document: each status documented for its
        /// operation, each JSON body valid under the documented schema (scripts/check-openapi-responses.py, with
        /// the validator scripts/test installs).
        func expectMatchesDocument(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let python = TestPaths.repoRoot.appendingPathComponent(".build/test-tools/bin/python").path
            guard FileManager.default.isExecutableFile(atPath: python) else {
                Issue.record("The OpenAPI validator is not installed at \(python): run scripts/test, which installs it.", sourceLocation: sourceLocation)
                return
            }
            let folder = try TestPaths.temporaryDirectory("openapi-responses")
            let document = folder.appendingPathComponent("openapi.yaml")
            let records = folder.appendingPathComponent("responses.json")
            try OpenAPIDocument.yaml.write(to: document, atomically: true, encoding: .utf8)
            try JSONSerialization.data(withJSONObject: exchanges).write(to: records)
            let script = TestPaths.repoRoot.appendingPathComponent("scripts/check-openapi-responses.py").path
            let output = try ProcessRunner.run([python, script, document.path, records.path], allowFailure: true)
            #expect(output.contains("responses match the document, 0 problems"), "\(output)", sourceLocation: sourceLocation)
            #expect(!exchanges.isEmpty, sourceLocation: sourceLocation)
        }

        func expectNoSecret(_ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            for body in bodies {
                for secret in secrets {
                    #expect(!body.contains(secret), "a response carried a secret: \(body.prefix(300))", sourceLocation: sourceLocation)
                }
            }
        }
    }

    static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("Guessing passwords over HTTP Basic is throttled as on the sign-in page: five wrong ones lock the address for 15 minutes, even for the right password; other addresses go on")
    func basicGuessingThrottled() async throws {
        let world = try await World.make("api-throttle")
        let app = Application(router: try buildRouter(world.dependencies))
        try await app.test(.router) { raw in
            let client = Client(raw)
            for attempt in 1...5 {
                let wrong = try await client.send("/api/v1/me", headers: World.basic(world.agent.email, "guess-\(attempt)-wrong"))
                #expect(wrong.status == .unauthorized)
            }
            let locked = try await client.send("/api/v1/me", headers: world.agentBasic)
            #expect(locked.status == .tooManyRequests, "even the right password waits once the address is locked")
            #expect(locked.json["error"] as? String == "Too many wrong passwords for this address. Wait 15 minutes and try again.")
            #expect(try await client.send("/api/v1/me", headers: world.adminBasic).status == .ok, "other addresses are not affected")
        }
    }

    @Test("Who may call: 401 with WWW-Authenticate without credentials, 403 for agents on mailboxes, Basic works, cookie sessions need X-CSRF-Token for POST")
    func access() async throws {
        let world = try await World.make("api-access")
        let app = Application(router: try buildRouter(world.dependencies))
        try await app.test(.router) { raw in
            let client = Client(raw)
            let anonymous = try await client.send("/api/v1/mailboxes")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            #expect(anonymous.json["error"] is String)
            #expect(try await client.send("/api/v1/tickets").status == .unauthorized)
            #expect(try await client.send("/api/v1/me").status == .unauthorized)
            let wrong = try await client.send("/api/v1/me", headers: World.basic(world.admin.email, "not-the-password-at-all"))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.wwwAuthenticate] != nil)

            // An agent works tickets but sees no mailbox settings.
            let agentMailboxes = try await client.send("/api/v1/mailboxes", headers: world.agentBasic)
            #expect(agentMailboxes.status == .forbidden)
            #expect(agentMailboxes.json["error"] is String)
            #expect(try await client.send("/api/v1/mailboxes/test", .post, headers: world.agentBasic, json: world.mailboxBody(password: world.mailPassword)).status == .forbidden)
            #expect(try await client.send("/api/v1/mailboxes/1/health", headers: world.agentBasic).status == .forbidden)
            #expect(try await client.send("/api/v1/tickets", headers: world.agentBasic).status == .ok)
            let agentMe = try await client.send("/api/v1/me", headers: world.agentBasic)
            #expect(agentMe.status == .ok)
            #expect(agentMe.json["role"] as? String == "agent")
            #expect(agentMe.json["csrf_token"] == nil)

            // HTTP Basic: no CSRF token needed, and none given.
            let list = try await client.send("/api/v1/mailboxes", headers: world.adminBasic)
            #expect(list.status == .ok)
            #expect((list.json["mailboxes"] as? [Any])?.isEmpty == true)
            let me = try await client.send("/api/v1/me", headers: world.adminBasic)
            #expect(me.json["email"] as? String == world.admin.email)
            #expect(me.json["name"] as? String == "Ada Admin")
            #expect(me.json["role"] as? String == "admin")
            #expect(me.json["authentication"] as? String == "basic")
            #expect(me.json["csrf_token"] == nil)
            // A page on another site can post text/plain with cached Basic credentials, but never application/json.
            var plain = world.adminBasic
            plain[.contentType] = "text/plain"
            let crossSite = try await client.client.execute(
                uri: "/api/v1/mailboxes/test", method: .post, headers: plain, body: ByteBuffer(string: String(buffer: world.mailboxBody(password: world.mailPassword))))
            #expect(crossSite.status == .unsupportedMediaType)
            let invalid = try await client.send("/api/v1/mailboxes/test", .post, headers: world.adminBasic, json: Self.json("{\"name\": \"x\"}"))
            #expect(invalid.status == .unprocessableContent)

            // A cookie session: GET works, POST without the CSRF token is refused, with it accepted.
            let token = try await world.fixture.store.startSession(user: world.admin, lifetime: 3600, at: Date())
            let cookie: HTTPFields = [.cookie: "mailroom_session=\(token)"]
            let cookieMe = try await client.send("/api/v1/me", headers: cookie)
            #expect(cookieMe.status == .ok)
            #expect(cookieMe.json["authentication"] as? String == "session")
            let csrf = try #require(cookieMe.json["csrf_token"] as? String)
            #expect(!csrf.isEmpty)
            let session = try #require(try await world.fixture.store.session(token: token, at: Date()))
            #expect(csrf == session.csrfToken)
            let noToken = try await client.send("/api/v1/mailboxes", .post, headers: cookie, json: world.mailboxBody(password: world.mailPassword))
            #expect(noToken.status == .forbidden)
            var badToken = cookie
            // One character changed; not always to "0", which is a token's first character one time in sixteen.
            badToken[HTTPField.Name("X-CSRF-Token")!] = (csrf.first == "0" ? "1" : "0") + csrf.dropFirst()
            #expect(try await client.send("/api/v1/mailboxes/test", .post, headers: badToken, json: world.mailboxBody(password: world.mailPassword)).status == .forbidden)
            #expect(try await world.fixture.store.mailboxes().isEmpty)
            var withToken = cookie
            withToken[HTTPField.Name("X-CSRF-Token")!] = csrf
            let tested = try await client.send("/api/v1/mailboxes/test", .post, headers: withToken, json: world.mailboxBody(password: world.mailPassword))
            #expect(tested.status == .ok)
            #expect(tested.json["ok"] as? Bool == true)
            client.expectNoSecret(world.secrets + [token])
            try client.expectMatchesDocument()
        }
    }

    @Test("Mailboxes: a wrong password is refused with the server's verdict and nothing stored; the right one creates it; health, test, password and delete")
    func mailboxes() async throws {
        let world = try await World.make("api-mailboxes")
        let app = Application(router: try buildRouter(world.dependencies))
        let wrongPassword = "wrong-\(UUID().uuidString)"
        let newPassword = "new-\(UUID().uuidString)"
        try await app.test(.router) { raw in
            let client = Client(raw)
            let auth = world.adminBasic

            // Bad input: not JSON, wrong types, missing fields — clear errors, nothing stored.
            let notJSON = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: Self.json("email=x"))
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.json["error"] is String)
            let wrongType = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: Self.json("{\"email\": \"a@b.example\", \"name\": \"S\", \"imap_port\": \"many\"}"))
            #expect(wrongType.status == .badRequest)
            #expect(((wrongType.json["problems"] as? [[String: Any]])?.first?["field"] as? String) == "imap_port")
            let missing = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: Self.json("{\"usage\": \"sideways\"}"))
            #expect(missing.status == .unprocessableContent)
            let fields = Set(((missing.json["problems"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
            #expect(fields.isSuperset(of: ["email", "name", "usage", "password"]))

            // The test endpoint stores nothing either way.
            let testWrong = try await client.send("/api/v1/mailboxes/test", .post, headers: auth, json: world.mailboxBody(password: wrongPassword))
            #expect(testWrong.status == .ok)
            #expect(testWrong.json["ok"] as? Bool == false)
            #expect(testWrong.json["state"] as? String == HealthState.reauthorizationRequired.rawValue)
            #expect(testWrong.json["cause"] is String)
            #expect(testWrong.json["fix"] is String)
            #expect(testWrong.json["detail"] is String)
            let testRight = try await client.send("/api/v1/mailboxes/test", .post, headers: auth, json: world.mailboxBody(password: world.mailPassword))
            #expect(testRight.status == .ok)
            #expect(testRight.json["ok"] as? Bool == true)
            #expect(testRight.json["tested"] as? [String] == ["incoming"])
            #expect(try await world.fixture.store.mailboxes().isEmpty)

            // Create: a wrong password → 422 with cause/fix/detail, nothing stored.
            let refused = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: world.mailboxBody(password: wrongPassword))
            #expect(refused.status == .unprocessableContent)
            #expect((refused.json["error"] as? String)?.contains("connection test failed") == true)
            #expect(refused.json["state"] as? String == HealthState.reauthorizationRequired.rawValue)
            #expect(refused.json["cause"] is String)
            #expect(refused.json["fix"] is String)
            #expect(refused.json["detail"] is String)
            #expect(refused.json["problems"] is [Any])
            #expect(try await world.fixture.store.mailboxes().isEmpty)

            // The right password → 201, stored, password sealed.
            let created = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: world.mailboxBody(password: world.mailPassword))
            #expect(created.status == .created, "\(created.body)")
            let id = try #require(created.json["id"] as? Int)
            #expect(created.headers[.location] == "/api/v1/mailboxes/\(id)")
            #expect((created.json["imap"] as? [String: Any])?["authentication"] as? String == "password")
            #expect(((created.json["health"] as? [String: Any])?["incoming"] as? [String: Any])?["state"] as? String == "pending")
            let stored = try await world.fixture.store.mailboxes()
            #expect(stored.count == 1)
            let mailboxID = MailboxID(Int64(id))
            #expect(try world.fixture.vault.open(try #require(try await world.fixture.store.incomingSecret(mailboxID)), for: .password(of: try #require(try await world.fixture.store.mailbox(mailboxID)).email)) == world.mailPassword)

            let duplicate = try await client.send("/api/v1/mailboxes", .post, headers: auth, json: world.mailboxBody(password: world.mailPassword))
            #expect(duplicate.status == .conflict)
            #expect((duplicate.json["problems"] as? [[String: Any]])?.first?["field"] as? String == "email")

            let shown = try await client.send("/api/v1/mailboxes/\(id)", headers: auth)
            #expect(shown.status == .ok)
            #expect(shown.json["email"] as? String == "\(world.user)@helpdesk.example")
            #expect(try await client.send("/api/v1/mailboxes/999999", headers: auth).status == .notFound)

            // Health: per direction, raw state and label.
            let health = try await client.send("/api/v1/mailboxes/\(id)/health", headers: auth)
            #expect(health.status == .ok)
            #expect(health.json["mailbox_id"] as? Int == id)
            let incoming = try #require(health.json["incoming"] as? [String: Any])
            #expect(incoming["state"] as? String == "pending")
            #expect(incoming["state_label"] as? String == HealthState.pending.displayName)
            #expect(incoming["consecutive_failures"] as? Int == 0)
            #expect(health.json["outgoing"] == nil)
            #expect(try await client.send("/api/v1/mailboxes/999999/health", headers: auth).status == .notFound)

            // The password changed on the server: record it, as the syncer would.
            try world.dovecot.setUser(world.user, password: newPassword)
            let mailbox = try #require(try await world.fixture.store.mailbox(mailboxID))
            let server = try #require(mailbox.incoming)
            let failure = await world.dependencies.connectionTest.incoming(server, provider: mailbox.provider, credential: .password(world.mailPassword))
            let verdict = try #require(failure)
            #expect(verdict.state == .reauthorizationRequired)
            try await world.fixture.store.setHealth(mailboxID, .incoming, ConnectionHealth().failed(verdict, at: Date()))
            let broken = try await client.send("/api/v1/mailboxes/\(id)/health", headers: auth)
            let brokenIncoming = try #require(broken.json["incoming"] as? [String: Any])
            #expect(brokenIncoming["state"] as? String == "reauthorization_required")
            #expect(brokenIncoming["state_label"] as? String == "Reauthorization required")
            #expect(brokenIncoming["cause"] as? String == verdict.cause)
            #expect(brokenIncoming["fix"] as? String == verdict.fix)
            #expect(brokenIncoming["detail"] as? String == verdict.detail)
            #expect(brokenIncoming["consecutive_failures"] as? Int == 1)
            #expect(brokenIncoming["last_attempt_at"] is String)
            #expect(brokenIncoming["since"] is String)
            #expect(broken.json["needs_admin"] as? Bool == true)

            // Case 2: a wrong new password → 422, nothing changes; empty → 422; the right one → 200.
            let stillWrong = try await client.send("/api/v1/mailboxes/\(id)/password", .post, headers: auth, json: Self.json("{\"password\": \"\(wrongPassword)\"}"))
            #expect(stillWrong.status == .unprocessableContent)
            #expect(stillWrong.json["state"] as? String == "reauthorization_required")
            #expect(stillWrong.json["cause"] is String)
            #expect(stillWrong.json["fix"] is String)
            #expect(try world.fixture.vault.open(try #require(try await world.fixture.store.incomingSecret(mailboxID)), for: .password(of: try #require(try await world.fixture.store.mailbox(mailboxID)).email)) == world.mailPassword)
            #expect(try await world.fixture.store.mailbox(mailboxID) == mailbox)
            let empty = try await client.send("/api/v1/mailboxes/\(id)/password", .post, headers: auth, json: Self.json("{\"password\": \"\"}"))
            #expect(empty.status == .unprocessableContent)
            #expect((empty.json["problems"] as? [[String: Any]])?.first?["field"] as? String == "password")
            #expect(try await client.send("/api/v1/mailboxes/\(id)/password", .post, headers: auth, json: Self.json("[1]")).status == .badRequest)
            #expect(try await client.send("/api/v1/mailboxes/999999/password", .post, headers: auth, json: Self.json("{\"password\": \"x\"}")).status == .notFound)

            let fixed = try await client.send("/api/v1/mailboxes/\(id)/password", .post, headers: auth, json: Self.json("{\"password\": \"\(newPassword)\"}"))
            #expect(fixed.status == .ok, "\(fixed.body)")
            #expect(fixed.json["id"] as? Int == id)
            #expect(((fixed.json["health"] as? [String: Any])?["incoming"] as? [String: Any])?["state"] as? String == "connected")
            #expect(try world.fixture.vault.open(try #require(try await world.fixture.store.incomingSecret(mailboxID)), for: .password(of: try #require(try await world.fixture.store.mailbox(mailboxID)).email)) == newPassword)
            let healed = try await client.send("/api/v1/mailboxes/\(id)/health", headers: auth)
            #expect((healed.json["incoming"] as? [String: Any])?["state"] as? String == "connected")
            #expect(healed.json["needs_admin"] as? Bool == false)

            let list = try await client.send("/api/v1/mailboxes", headers: auth)
            #expect((list.json["mailboxes"] as? [[String: Any]])?.count == 1)

            #expect(try await client.send("/api/v1/mailboxes/\(id)", .delete, headers: auth).status == .noContent)
            #expect(try await client.send("/api/v1/mailboxes/\(id)", headers: auth).status == .notFound)
            #expect(try await client.send("/api/v1/mailboxes/\(id)", .delete, headers: auth).status == .notFound)

            client.expectNoSecret(world.secrets + [wrongPassword, newPassword])
            try client.expectMatchesDocument()
        }
    }

    @Test("A Microsoft mailbox still on Basic Auth shows «Migration to OAuth required» in its health")
    func migrationShows() async throws {
        let world = try await World.make("api-migration")
        let draft = MailboxDraft(
            email: "\(world.user)@contoso.example", name: "Contoso", provider: .microsoft, usage: .incoming, imapHost: "localhost",
            imapPort: world.dovecot.imapsPort, imapSecurity: .tls, username: world.user)
        let mailbox = try await world.dependencies.mailboxes.add(draft, password: world.mailPassword)
        let app = Application(router: try buildRouter(world.dependencies))
        try await app.test(.router) { raw in
            let client = Client(raw)
            let health = try await client.send("/api/v1/mailboxes/\(mailbox.id.rawValue)/health", headers: world.adminBasic)
            #expect(health.status == .ok)
            #expect((health.json["incoming"] as? [String: Any])?["state"] as? String == "migration_required")
            #expect(health.json["needs_admin"] as? Bool == true)
            let shown = try await client.send("/api/v1/mailboxes/\(mailbox.id.rawValue)", headers: world.adminBasic)
            #expect(((shown.json["health"] as? [String: Any])?["incoming"] as? [String: Any])?["state"] as? String == "migration_required")
            client.expectNoSecret(world.secrets)
            try client.expectMatchesDocument()
        }
    }

    /// Paths and methods the document must describe.
    static let documentedPaths = [
        "/api/v1/me:", "/api/v1/mailboxes:", "/api/v1/mailboxes/test:", "/api/v1/mailboxes/{id}:", "/api/v1/mailboxes/{id}/health:",
        "/api/v1/mailboxes/{id}/password:", "/api/v1/tickets:", "/api/v1/tickets/{number}:", "/oauth/start:", "/api/openapi.yaml:",
    ]

    static func checkDocument(_ text: String) {
        #expect(text.hasPrefix("openapi: 3.1"))
        for path in documentedPaths {
            #expect(text.contains("\n  \(path)\n"), "the document does not describe \(path)")
        }
        for word in ["basicAuth:", "type: http", "scheme: basic", "name: mailroom_session", "in: cookie", "name: X-CSRF-Token", "in: header",
                     "application/x-www-form-urlencoded", "\"303\":", "\"422\":", "\"409\":", "\"404\":", "\"401\":", "\"403\":", "\"400\":",
                     "reauthorize, migrate, switch", "microsoft, google"] {
            #expect(text.contains(word), "the document does not mention \(word)")
        }
        // YAML-ish: no tabs, every line indented by an even number of spaces, every key line is `key:` or `- …`.
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            #expect(!line.contains("\t"), "tab on line \(number + 1)")
            let indent = line.prefix { $0 == " " }.count
            #expect(indent % 2 == 0, "odd indentation on line \(number + 1): \(line)")
        }
    }

    @Test("GET /api/openapi.yaml serves an OpenAPI 3.1 document describing every endpoint, without signing in")
    func openAPIDocument() async throws {
        Self.checkDocument(OpenAPIDocument.yaml)
        let world = try await World.make("api-openapi")
        // Served by the route APIController registers (WebApp.swift's router calls it too).
        let router = Router(context: AppRequestContext.self)
        APIController.registerDocument(on: router)
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/api/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
            Self.checkDocument(String(buffer: response.body))
        }
        // And by the application's router, to anyone.
        try await Application(router: try buildRouter(world.dependencies)).test(.router) { client in
            let response = try await client.execute(uri: "/api/openapi.yaml", method: .get)
            #expect(response.status == .ok, "WebApp.swift's buildRouter must call APIController.registerDocument(on: router)")
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
            #expect(String(buffer: response.body).hasPrefix("openapi: 3.1"))
        }
    }
}
