import Engine
import Foundation
import Hummingbird
import MailroomCore
import OAuth
import Storage

/// «Sign in with Microsoft» / «Sign in with Google» for a new mailbox: start (remember the request, send the
/// browser to the provider) and callback (check state, exchange the code, verify the id_token, test the connection
/// with the new token, and only then store the mailbox with its grant).
struct SignInController: Sendable {
    let dependencies: WebDependencies
    let pages: PagesController
    /// Binds a sign-in to the browser that started it; only sent back to /oauth paths.
    static let cookie = "mailroom_signin"

    func register(on router: Router<BasicRequestContext>) {
        router.get("oauth/start", use: start)
        router.get("oauth/callback", use: callback)
    }

    /// The new mailbox's settings ride through the sign-in as the state's context.
    struct Setup: Codable {
        var provider: MailProvider
        var email: String
        var name: String
        var usage: MailboxUsage
        var deleteAfterFetch: Bool
        var imapHost: String?
        var imapPort: Int?
        var smtpHost: String?
        var smtpPort: Int?
    }

    @Sendable func start(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let oauth = dependencies.oauth, let publicURL = dependencies.publicURL else {
            return try failure("Sign-in is not set up", cause: "This Mailroom has no OAuth apps configured.", fix: "The operator must set the provider's client ID and secret (see the README, «Configuration»).", request: request, context: context)
        }
        guard let provider = query["provider"].flatMap({ MailProvider(rawValue: String($0)) }), oauth.configured.contains(provider.identityProviderKind) else {
            return try failure("Sign-in is not set up", cause: "Sign-in with «\(query["provider"] ?? "")» is not configured here.", fix: "Choose Microsoft Office 365 or Gmail, or ask the operator to register Mailroom with this provider.", request: request, context: context)
        }
        let setup = Setup(
            provider: provider, email: String(query["email"] ?? ""), name: String(query["name"] ?? "Support"),
            usage: query["usage"].flatMap { MailboxUsage(rawValue: String($0)) } ?? .both,
            deleteAfterFetch: query["delete_after_fetch"] == "true" || query["delete_after_fetch"] == "on",
            imapHost: query["imap_host"].map(String.init), imapPort: query["imap_port"].flatMap { Int($0) },
            smtpHost: query["smtp_host"].map(String.init), smtpPort: query["smtp_port"].flatMap { Int($0) })
        do {
            // An empty address means «the account I sign in with»; check the other settings now, the address later.
            var probe = setup
            if probe.email.isEmpty { probe.email = "account@example.com" }
            _ = try probe.draft(username: probe.email).validated()
        } catch {
            return try failure("Check the mailbox settings", cause: error.description, fix: "Go back, correct the settings and sign in again.", request: request, context: context)
        }
        let session = Randomness.sessionID()
        let client = try await oauth.client(for: provider.identityProviderKind)
        let setupJSON = String(decoding: try JSONEncoder().encode(setup), as: UTF8.self)
        let url = await client.startSignIn(
            redirectURI: "\(publicURL)/oauth/callback", session: session, loginHint: setup.email.isEmpty ? nil : setup.email, context: setupJSON)
        var headers = HTTPFields()
        headers[.location] = url.absoluteString
        headers[.setCookie] = "\(Self.cookie)=\(session); Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=900\(publicURL.hasPrefix("https:") ? "; Secure" : "")"
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func callback(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let oauth = dependencies.oauth else { return try failure("Sign-in is not set up", cause: "This Mailroom has no OAuth apps configured.", fix: "Ask the operator.", request: request, context: context) }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let session = request.cookies[Self.cookie]?.value ?? ""
        let completed: CompletedSignIn
        do {
            completed = try await oauth.finishSignIn(callback: query, session: session)
        } catch let error as OAuthFailure {
            context.logger.notice("OAuth sign-in failed", metadata: ["error": "\(error)"])
            return try failure(error, request: request, context: context)
        }
        guard let setup = try? JSONDecoder().decode(Setup.self, from: Data(completed.context.utf8)) else {
            return try failure("Sign-in failed", cause: "The sign-in lost its settings.", fix: "Start the sign-in again.", request: request, context: context)
        }
        // An empty support address means «the account I sign in with»; otherwise a different address is a shared mailbox.
        let email = setup.email.isEmpty ? completed.identity.address : setup.email
        var withEmail = setup
        withEmail.email = email
        let draft = withEmail.draft(username: email)
        let valid: ValidMailbox
        do {
            valid = try draft.validated()
        } catch {
            return try failure("Check the mailbox settings", cause: error.description, fix: "Start again with corrected settings.", request: request, context: context)
        }
        if let server = valid.incoming,
           let verdict = await dependencies.connectionTest.incoming(server, provider: setup.provider, credential: .accessToken(completed.grant.accessToken)) {
            return try failure("The connection test failed", cause: verdict.cause, fix: verdict.fix, detail: verdict.detail, request: request, context: context)
        }
        let mailbox: Mailbox
        do {
            mailbox = try await dependencies.mailboxes.add(draft, grant: completed.grant)
        } catch let error as StoreError {
            if case .conflict(let message) = error {
                return try failure("This mailbox already exists", cause: message, fix: "Open it in Email settings instead.", request: request, context: context)
            }
            throw error
        }
        await dependencies.inbound?.wake()
        var headers = HTTPFields()
        headers[.location] = "/admin/channels/email/\(mailbox.id)?added=1"
        headers[.setCookie] = "\(Self.cookie)=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0"
        return Response(status: .seeOther, headers: headers)
    }

    private func failure(_ failure: OAuthFailure, request: Request, context: BasicRequestContext) throws -> Response {
        let (cause, fix): (String, String) = switch failure.kind {
        case .signInRejected: (failure.detail ?? "The sign-in was not completed.", "Start the sign-in again.")
        case .transient: ("The identity provider could not be reached.", "Try again in a moment.")
        case .appRegistration: ("The identity provider refused Mailroom's app registration.", "The Mailroom operator must check the client ID and secret.")
        case .configuration: ("The identity provider refused Mailroom's request.", "The Mailroom operator must check the OAuth configuration.")
        case .actionNeededAtProvider: ("The identity provider does not allow this account to sign in to Mailroom.", "Ask your provider's administrator.")
        case .reauthorizationRequired: ("The sign-in was not accepted.", "Start the sign-in again.")
        }
        return try self.failure("Sign-in failed", cause: cause, fix: fix, detail: failure.kind == .signInRejected ? nil : failure.description, request: request, context: context)
    }

    private func failure(_ heading: String, cause: String, fix: String, detail: String? = nil, request: Request, context: BasicRequestContext) throws -> Response {
        var view: [String: Any] = ["heading": heading, "cause": cause, "fix": fix]
        if let detail { view["detail"] = detail }
        return try pages.page("signin_failed", title: heading, nav: "admin", view, status: .badRequest).response(from: request, context: context)
    }
}

extension SignInController.Setup {
    func draft(username: String) -> MailboxDraft {
        MailboxDraft(
            email: email, name: name, provider: provider, usage: usage, imapHost: imapHost, imapPort: imapPort,
            username: username, deleteAfterFetch: deleteAfterFetch, authentication: .oauth2, smtpHost: smtpHost, smtpPort: smtpPort)
    }
}

extension MailProvider {
    /// Which identity provider signs in for this mail provider.
    var identityProviderKind: IdentityProviderKind {
        switch self {
        case .microsoft: .microsoft
        case .google: .google
        case .other: .openIDConnect
        }
    }
}

enum Randomness {
    static func sessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}
