import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailroomCore
import MailroomTestSupport
import Storage
import Testing
import Web

/// Every registered route, for a stranger, an agent and an admin, in every spelling an attacker would try: who may
/// call it is decided by its route group, never by how its path is written.
@Suite("Authorization by route, not by spelling")
struct RouteAuthorizationTests {
    enum Role: String, CaseIterable, Sendable { case stranger, agent, admin }

    /// Who each route is for, by its registered path.
    enum Audience: Equatable { case everyone, signedIn, admins }

    static func audience(_ path: String) -> Audience {
        if ["/signin", "/healthz", "/api/openapi.yaml", "/help/reauthorize", "/favicon.ico"].contains(path) || path.hasPrefix("/static/") { return .everyone }
        if path.hasPrefix("/admin") || path.hasPrefix("/oauth") || path.hasPrefix("/api/v1/mailboxes") { return .admins }
        return .signedIn
    }

    /// The route's path with each parameter filled in.
    static func concrete(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { $0.hasPrefix("{") ? ($0 == "{index}" ? "0" : "1") : String($0) }
            .joined(separator: "/")
    }

    /// Other spellings of the same path: each must be refused or redirected to the plain one, never answered.
    static func spellings(_ path: String) -> [(name: String, path: String)] {
        let inner = path.dropFirst()
        var result: [(String, String)] = [
            ("//x", "/" + path), ("/x/", path + "/"), ("/./x", "/." + path), ("/a/../x", "/a/.." + path),
        ]
        if let slash = inner.firstIndex(of: "/") {
            let head = inner[..<slash], tail = inner[inner.index(after: slash)...]
            result.append(("/x//y", "/\(head)//\(tail)"))
            result.append(("%2F", "/\(head)%2F\(tail)"))
            result.append(("%2e%2e", "/\(head)/%2e%2e/\(head)/\(tail)"))
        }
        if path.uppercased() != path { result.append(("upper case", path.uppercased())) }
        return result
    }

    @Test("Every route × stranger/agent/admin × //x, /x//y, /x/, /./x, /a/../x, %2F, upper case: only the route's own audience gets past its group")
    func everyRouteEveryRoleEverySpelling() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "route-table")
        let router = try buildRouter(WebDependencies(
            store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil))
        let routes = router.routes.map { (method: $0.method, path: "/" + $0.path.description.split(separator: "/").joined(separator: "/")) }
        #expect(routes.count >= 25, "the table covers every route: \(routes.map { "\($0.method) \($0.path)" })")
        let accounts = Accounts(store: fixture.store, cost: 4)
        let agent = try await accounts.create(email: "agent@route.test", name: "Agent", role: .agent, password: "agent password 1")
        let admin = try await accounts.create(email: "admin@route.test", name: "Admin", role: .admin, password: "admin password 1")
        let checked = try await Application(router: router).test(.router) { client in
            var checked = 0
            func headers(_ role: Role, api: Bool) async throws -> HTTPFields {
                var fields: HTTPFields = [.contentType: api ? "application/json" : "application/x-www-form-urlencoded"]
                let user: User
                switch role {
                case .stranger: return fields
                case .agent: user = agent
                case .admin: user = admin
                }
                // A fresh session each time, so signing out on one route ends nothing the next one needs.
                let token = try await fixture.store.startSession(user: user, lifetime: 3600, at: Date())
                let session = try #require(try await fixture.store.session(token: token, at: Date()))
                fields[.cookie] = "mailroom_session=\(token)"
                fields[HTTPField.Name("X-CSRF-Token")!] = session.csrfToken
                return fields
            }
            for route in routes {
                let path = Self.concrete(route.path)
                let api = path.hasPrefix("/api/v1")
                let audience = Self.audience(route.path)
                let body = ByteBuffer(string: api ? "{}" : "")
                for role in Role.allCases {
                    let plain = try await client.execute(uri: path, method: route.method, headers: try await headers(role, api: api), body: body)
                    let label = "\(route.method) \(path) as \(role)"
                    let allowed = audience == .everyone || (audience == .signedIn && role != .stranger) || (audience == .admins && role == .admin)
                    if allowed {
                        #expect(![.unauthorized, .forbidden].contains(plain.status), "\(label) is for them: \(plain.status)")
                        #expect(plain.headers[.location]?.hasPrefix("/signin") != true || route.path == "/signout", "\(label) was sent to sign in")
                    } else if role == .stranger {
                        if api {
                            #expect(plain.status == .unauthorized, "\(label): \(plain.status)")
                        } else {
                            #expect(plain.status == .seeOther && plain.headers[.location]?.hasPrefix("/signin") == true, "\(label): \(plain.status)")
                        }
                    } else {
                        #expect(plain.status == .forbidden, "\(label): \(plain.status)")
                    }
                    checked += 1

                    for spelling in Self.spellings(path) {
                        let answer = try await client.execute(uri: spelling.path, method: route.method, headers: try await headers(role, api: api), body: body)
                        let label = "\(route.method) \(spelling.path) (\(spelling.name)) as \(role)"
                        switch spelling.name {
                        case "upper case":
                            #expect(answer.status == .notFound, "\(label): \(answer.status)")
                        case "%2F", "%2e%2e":
                            #expect(answer.status == .badRequest, "\(label): \(answer.status)")
                        default:
                            if route.method == .get || route.method == .head {
                                #expect(answer.status == .permanentRedirect, "\(label): \(answer.status)")
                                let target = try #require(answer.headers[.location])
                                #expect(CanonicalPath.judge(target) == .canonical && !target.hasPrefix("//"), "\(label) redirects to \(target)")
                            } else {
                                #expect(answer.status == .badRequest, "\(label): \(answer.status)")
                            }
                        }
                        checked += 1
                    }
                }
            }
            return checked
        }
        #expect(checked > 500)
    }

    @Test("The issue's attack: an agent with HTTP Basic gets 403 on the mailbox list and the connection test however the path is written, never 200 or 422")
    func agentCannotReachMailboxes() async throws {
        let fixture = try await StoreFixture.make(.sqlite, name: "route-agent")
        _ = try await Accounts(store: fixture.store, cost: 4).create(email: "agent@route.test", name: "Agent", role: .agent, password: "agent password 1")
        let basic = "Basic " + Data("agent@route.test:agent password 1".utf8).base64EncodedString()
        try await Application(router: try buildRouter(WebDependencies(
            store: fixture.store, mailboxes: MailboxService(store: fixture.store, vault: fixture.vault), inbound: nil))).test(.router) { client in
            for path in ["/api/v1/mailboxes", "/api/v1//mailboxes", "/api//v1/mailboxes", "/api/v1/mailboxes/", "/api/v1/./mailboxes"] {
                let list = try await client.execute(uri: path, method: .get, headers: [.authorization: basic])
                #expect(list.status == .forbidden || list.status == .permanentRedirect, "GET \(path): \(list.status)")
                #expect(!String(buffer: list.body).contains("\"email\""), "GET \(path) lists no mailbox")
            }
            for path in ["/api/v1/mailboxes/test", "/api/v1//mailboxes/test", "/api//v1/mailboxes/test", "/api/v1/mailboxes//test"] {
                let test = try await client.execute(
                    uri: path, method: .post, headers: [.authorization: basic, .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"email":"x@example.com","imapHost":"127.0.0.1","imapPort":1,"password":"p"}"#))
                #expect(test.status == .forbidden || test.status == .badRequest, "POST \(path): \(test.status)")
            }
        }
    }

    @Test("CanonicalPath: plain paths pass, empty and dot segments redirect to the plain path, encoded slashes, dots, backslashes and controls are refused")
    func canonicalPathRule() {
        #expect(CanonicalPath.judge("/") == .canonical)
        #expect(CanonicalPath.judge("/api/v1/mailboxes") == .canonical)
        #expect(CanonicalPath.judge("//api/v1/mailboxes") == .redirect("/api/v1/mailboxes"))
        #expect(CanonicalPath.judge("/api//v1/mailboxes") == .redirect("/api/v1/mailboxes"))
        #expect(CanonicalPath.judge("/tickets/") == .redirect("/tickets"))
        #expect(CanonicalPath.judge("/./tickets") == .redirect("/tickets"))
        #expect(CanonicalPath.judge("/a/../tickets") == .redirect("/tickets"))
        #expect(CanonicalPath.judge("/../../etc/passwd") == .redirect("/etc/passwd"))
        #expect(CanonicalPath.judge("//") == .redirect("/"))
        for refused in ["/api/v1%2Fmailboxes", "/api/v1%2fmailboxes", "/a%2e%2e/x", "/a\\b", "/a%5Cb", "/a%00", "/a\tb", "api/v1"] {
            #expect(CanonicalPath.judge(refused) == .refuse, "\(refused)")
        }
    }
}
