import Engine
import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
@testable import Web

/// The smaller doors of the web app: guessing in parallel, guessing from one network, where sign-in may send a
/// browser, the headers every answer carries, and the cookie and HSTS under https.
@Suite("Web doors")
struct WebDoorsTests {
    static func dependencies(_ fixture: StoreFixture, publicURL: String? = nil, limits: SignInThrottle.Limits = .init()) -> WebDependencies {
        var dependencies = WebDependencies(
            store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil, publicURL: publicURL)
        dependencies.signInLimits = limits
        return dependencies
    }

    static func basic(_ email: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(email):\(password)".utf8).base64EncodedString()]
    }

    @Test("Twenty wrong passwords sent at once: at most five are checked, the rest get 429, and then even the right password waits")
    func parallelGuessesCount() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "doors-parallel")
        _ = try await Accounts(store: fixture.store, cost: 4).create(email: "lead@doors.test", name: "Lead", role: .admin, password: "the right password")
        try await Application(router: try buildRouter(Self.dependencies(fixture))).test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for attempt in 0..<20 {
                    group.addTask {
                        try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("lead@doors.test", "wrong \(attempt)")).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            let checked = statuses.filter { $0 == .unauthorized }.count
            #expect(checked <= 5, "only five guesses may reach bcrypt: \(statuses)")
            #expect(checked >= 1)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 20 - checked, "\(statuses)")
            let right = try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("lead@doors.test", "the right password"))
            if checked == 5 {
                #expect(right.status == .tooManyRequests, "five wrong passwords lock the address")
                #expect(right.headers[.retryAfter] == "900")
            }
        }
    }

    @Test("Parallel sign-ins with the right password are not locked out: those over the limit are told to retry in a second")
    func parallelRightPasswords() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "doors-right")
        _ = try await Accounts(store: fixture.store, cost: 4).create(email: "bot@doors.test", name: "Bot", role: .agent, password: "the right password")
        try await Application(router: try buildRouter(Self.dependencies(fixture))).test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let answer = try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("bot@doors.test", "the right password"))
                        return (answer.status, answer.headers[.retryAfter])
                    }
                }
                return try await group.reduce(into: [(HTTPResponse.Status, String?)]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == .ok || ($0.0 == .tooManyRequests && $0.1 == "1") }, "\(answers)")
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("bot@doors.test", "the right password")).status == .ok)
        }
    }

    @Test("One client guessing many addresses is stopped by the per-client limit, whatever address it tries next; another client is not")
    func perClientLimit() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "doors-client")
        let accounts = Accounts(store: fixture.store, cost: 4)
        for n in 0..<6 { _ = try await accounts.create(email: "user\(n)@doors.test", name: "User \(n)", role: .agent, password: "password of user \(n)") }
        let app = Application(router: try buildRouter(Self.dependencies(fixture, limits: .init(perAccount: 5, perClient: 4, window: 900))))
        try await app.test(.live) { client in
            for n in 0..<4 {
                #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("user\(n)@doors.test", "wrong")).status == .unauthorized)
            }
            let blocked = try await client.execute(uri: "/api/v1/me", method: .get, headers: Self.basic("user5@doors.test", "password of user 5"))
            #expect(blocked.status == .tooManyRequests)
            #expect(String(buffer: blocked.body).contains("Too many wrong passwords from your network"))
        }
        // The throttle as a value: the client's count is its own.
        var throttle = SignInThrottle(limits: .init(perAccount: 5, perClient: 2, window: 900))
        let now = Date()
        for n in 0..<2 {
            guard case .success(let reservation) = throttle.reserve(account: "a\(n)", client: "192.0.2.1", now: now) else { Issue.record("refused"); return }
            throttle.settle(reservation, succeeded: false, now: now)
        }
        #expect(throttle.reserve(account: "a9", client: "192.0.2.1", now: now) == .failure(.client))
        #expect((try? throttle.reserve(account: "a9", client: "192.0.2.2", now: now).get()) != nil)
        #expect((try? throttle.reserve(account: "a9", client: "192.0.2.1", now: now.addingTimeInterval(901)).get()) != nil, "the window passes")
        // Attempts never checked (the bcrypt pool was full, the database failed) count as nothing.
        var busy = SignInThrottle(limits: .init(perAccount: 2, perClient: 2, window: 900))
        for _ in 0..<10 {
            guard case .success(let reservation) = busy.reserve(account: "lead", client: "192.0.2.9", now: now) else { Issue.record("locked by unchecked attempts"); return }
            busy.release(reservation)
        }
    }

    @Test("bcrypt has a pool of its own with a cap: checks beyond it are refused at once instead of queueing, and the pool recovers")
    func passwordCheckerCap() async throws {
        let checker = PasswordChecker(threads: 1, cap: 2)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask { (try? await checker.run { Thread.sleep(forTimeInterval: 0.3); return true }) ?? false }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 2, "only the capped number ran: \(results)")
        #expect(try await checker.run { 42 } == 42, "slots are given back")
    }

    @Test("Sign-in's next= stays on Mailroom: tabs, line breaks, backslashes, schemes and hosts all become /tickets")
    func nextStaysHere() async throws {
        for hostile in ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example", "https://evil.example/", "/%09/evil.example".removingPercentEncoding ?? "",
                        "javascript:alert(1)", "/ /evil.example", "\\\\evil.example", "/\u{7F}/x", "evil.example"] {
            #expect(SessionMiddleware.safeNext(hostile) == "/tickets", "\(hostile.debugDescription)")
        }
        #expect(SessionMiddleware.safeNext("/tickets/4?page=2") == "/tickets/4?page=2")
        let fixture = try await StoreFixture.make(.sqlite, name: "doors-next")
        try await Application(router: try buildRouter(Self.dependencies(fixture))).test(.router) { client in
            let page = String(buffer: try await client.execute(uri: "/signin?next=/%09/evil.example", method: .get).body)
            #expect(!page.contains("evil.example"), "the sign-in form does not carry the hostile target")
        }
    }

    @Test("Every answer carries the security headers — pages, JSON, redirects, 400, 403 and 404 alike; https adds HSTS and the __Host- session cookie")
    func headersEverywhere() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "doors-headers")
        _ = try await Accounts(store: fixture.store, cost: 4).create(email: "agent@doors.test", name: "Agent", role: .agent, password: "agent password 1")
        @Sendable func check(_ response: TestResponse, https: Bool, _ label: String) {
            #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(label)")
            #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(label)")
            #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(label)")
            #expect(response.headers[.contentSecurityPolicy] != nil, "\(label)")
            #expect((response.headers[.strictTransportSecurity] != nil) == https, "\(label)")
        }
        for https in [false, true] {
            let dependencies = Self.dependencies(fixture, publicURL: https ? "https://help.example.com" : nil)
            try await Application(router: try buildRouter(dependencies)).test(.router) { client in
                check(try await client.execute(uri: "/signin", method: .get), https: https, "page")
                check(try await client.execute(uri: "/healthz", method: .get), https: https, "json")
                check(try await client.execute(uri: "/tickets", method: .get), https: https, "redirect")
                check(try await client.execute(uri: "/no/such/page", method: .get), https: https, "404")
                check(try await client.execute(uri: "/tickets%2F1", method: .get), https: https, "400")
                let agent = Self.basic("agent@doors.test", "agent password 1")
                let forbidden = try await client.execute(uri: "/api/v1/mailboxes", method: .get, headers: agent)
                #expect(forbidden.status == .forbidden)
                check(forbidden, https: https, "403")
            }
        }
        // Under https the session cookie is __Host- prefixed: Secure, Path=/, no Domain.
        let accounts = Accounts(store: fixture.store, cost: 4)
        _ = try await accounts.create(email: "lead@doors.test", name: "Lead", role: .admin, password: "lead password 1")
        try await Application(router: try buildRouter(Self.dependencies(fixture, publicURL: "https://help.example.com"))).test(.router) { client in
            let form = try await client.execute(uri: "/signin", method: .get)
            let formCookie = try #require(form.headers[.setCookie]).components(separatedBy: ";")[0]
            let token = String(formCookie.dropFirst("mailroom_signin_form=".count))
            let body = "email=lead%40doors.test&password=lead+password+1&form_token=\(token)&next=%2Ftickets"
            let signedIn = try await client.execute(
                uri: "/signin", method: .post, headers: [.cookie: formCookie, .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body))
            #expect(signedIn.status == .seeOther)
            let session = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("__Host-mailroom_session=") })
            #expect(session.contains("; Secure") && session.contains("Path=/;") && !session.lowercased().contains("domain="))
            let value = session.components(separatedBy: ";")[0]
            #expect(try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: value]).status == .ok)
            let plainName = "mailroom_session=" + value.dropFirst("__Host-mailroom_session=".count)
            #expect(try await client.execute(uri: "/tickets", method: .get, headers: [.cookie: plainName]).status == .seeOther,
                    "under https only the __Host- cookie signs in")
        }
    }
}
