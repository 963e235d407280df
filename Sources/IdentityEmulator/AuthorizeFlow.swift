import Foundation

/// How the authorization response goes back to the client (`response_mode`).
enum ResponseMode: String, Sendable {
    case query
    case fragment
    case formPost = "form_post"
}

/// A redirect back to the client carrying either `code` or `error`.
struct AuthorizeRedirect: Sendable {
    let redirectURI: String
    let parameters: [(String, String)]
    let mode: ResponseMode
}

/// A syntactically valid authorize request, ready for the account picker.
struct ValidAuthorizeRequest: Sendable {
    let provider: EmulatorProviderKind
    let tenant: String?
    let client: EmulatorClient
    let redirectURI: String
    let scopes: [String]
    let state: String?
    let nonce: String?
    let codeChallenge: String?
    let codeChallengeMethod: String
    let loginHint: String?
    let mode: ResponseMode
    let offline: Bool
    let forceConsent: Bool
    let accounts: [EmulatorAccount]
    /// The original query parameters, carried through the picker as hidden fields.
    let parameters: [String: String]
}

/// What the authorize endpoint does with a request.
enum AuthorizeOutcome: Sendable {
    /// Show the account picker.
    case picker(ValidAuthorizeRequest)
    /// Show an error page and never redirect (unknown client, unregistered redirect URI: redirecting
    /// there would make the IdP an open redirector).
    case errorPage(title: String, message: String)
    /// Redirect back to the client.
    case redirect(AuthorizeRedirect)
}

/// The `/authorize` logic shared by the Microsoft and Google routes: validation in the provider's
/// order, the picker's submission, and code issuance.
extension IdentityEmulator {
    func validateAuthorize(provider: EmulatorProviderKind, tenant: String?, parameters: [String: String]) -> AuthorizeOutcome {
        func value(_ name: String) -> String? {
            guard let value = parameters[name], !value.isEmpty else { return nil }
            return value
        }
        let isMicrosoft = provider == .microsoft
        if isMicrosoft, let tenant, !isKnownTenant(tenant) {
            return .errorPage(
                title: "AADSTS90002",
                message: "AADSTS90002: Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
        }
        guard let clientID = value("client_id") else {
            return isMicrosoft
                ? .errorPage(title: "AADSTS900144", message: "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
                : .errorPage(title: "Error 400: invalid_request", message: "Missing required parameter: client_id")
        }
        guard let client = clientsByID[clientID], client.provider == provider else {
            return isMicrosoft
                ? .errorPage(
                    title: "AADSTS700016",
                    message: "AADSTS700016: Application with identifier '\(clientID)' was not found in the directory '\(tenant ?? "common")'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
                : .errorPage(title: "Error 401: invalid_client", message: "The OAuth client was not found.")
        }
        let redirectURI: String
        if let given = value("redirect_uri") {
            guard client.redirectURIs.contains(given) else {
                return isMicrosoft
                    ? .errorPage(
                        title: "AADSTS50011",
                        message: "AADSTS50011: The redirect URI '\(given)' specified in the request does not match the redirect URIs configured for the application '\(clientID)'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.")
                    : .errorPage(
                        title: "Error 400: redirect_uri_mismatch",
                        message: "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're the app developer, register the redirect URI in the Google Cloud Console. Request details: redirect_uri=\(given)")
            }
            redirectURI = given
        } else if isMicrosoft, client.redirectURIs.count == 1, let only = client.redirectURIs.first {
            redirectURI = only
        } else {
            return isMicrosoft
                ? .errorPage(title: "AADSTS900144", message: "AADSTS900144: The request body must contain the following parameter: 'redirect_uri'.")
                : .errorPage(title: "Error 400: invalid_request", message: "Missing required parameter: redirect_uri")
        }

        let state = value("state")
        let modeValue = value("response_mode") ?? "query"
        let mode = ResponseMode(rawValue: modeValue) ?? .query
        func fail(_ error: String, _ code: Int?, _ text: String) -> AuthorizeOutcome {
            .redirect(errorRedirect(redirectURI: redirectURI, mode: mode, error: error, code: code, text: text, state: state))
        }
        if isMicrosoft, ResponseMode(rawValue: modeValue) == nil {
            return fail("invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
        }
        guard let responseType = value("response_type") else {
            return isMicrosoft
                ? fail("invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.")
                : fail("unsupported_response_type", nil, "Required parameter is missing: response_type")
        }
        guard responseType == "code" else {
            return isMicrosoft
                ? fail("unsupported_response_type", 700054, "response_type '\(responseType)' is not enabled for the application.")
                : fail("unsupported_response_type", nil, "Invalid response_type: \(responseType)")
        }
        guard let scopeValue = value("scope") else {
            return isMicrosoft
                ? fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
                : .errorPage(title: "Error 400: invalid_request", message: "Missing required parameter: scope")
        }
        let scopes = scopeValue.split(separator: " ").map(String.init)
        let challenge = value("code_challenge")
        let method = value("code_challenge_method") ?? "plain"
        if challenge != nil || value("code_challenge_method") != nil {
            guard method == "S256" || method == "plain" else {
                return isMicrosoft
                    ? fail("invalid_request", 9002313, "Invalid request. Request is malformed or invalid. code_challenge_method '\(method)' is not supported.")
                    : .errorPage(title: "Error 400: invalid_request", message: "Invalid code_challenge_method value.")
            }
            guard let challenge, (43...128).contains(challenge.count) else {
                return isMicrosoft
                    ? fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
                    : .errorPage(title: "Error 400: invalid_request", message: "Invalid code_challenge length.")
            }
        }
        let accessType = value("access_type") ?? "online"
        if !isMicrosoft, accessType != "online", accessType != "offline" {
            return .errorPage(title: "Error 400: invalid_request", message: "Invalid access_type: \(accessType)")
        }
        let prompt = Set((value("prompt") ?? "").split(separator: " ").map(String.init))
        if prompt.contains("none") {
            return isMicrosoft
                ? fail("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
                : fail("login_required", nil, "")
        }
        return .picker(
            ValidAuthorizeRequest(
                provider: provider, tenant: tenant, client: client, redirectURI: redirectURI, scopes: scopes,
                state: state, nonce: value("nonce"), codeChallenge: challenge, codeChallengeMethod: method,
                loginHint: value("login_hint"), mode: mode, offline: accessType == "offline",
                forceConsent: prompt.contains("consent"),
                accounts: eligibleAccounts(provider: provider, tenant: tenant, loginHint: value("login_hint")),
                parameters: parameters))
    }

    /// The picker's POST: `account=<address>` signs in, `cancel` declines.
    func completeAuthorize(
        provider: EmulatorProviderKind, tenant: String?, parameters: [String: String], account address: String?, cancelled: Bool
    ) -> AuthorizeOutcome {
        let outcome = validateAuthorize(provider: provider, tenant: tenant, parameters: parameters)
        guard case .picker(let request) = outcome else { return outcome }
        if cancelled {
            return .redirect(
                errorRedirect(
                    redirectURI: request.redirectURI, mode: request.mode, error: "access_denied",
                    code: provider == .microsoft ? 65004 : nil,
                    text: provider == .microsoft ? "User declined to consent to access the app." : "",
                    state: request.state))
        }
        guard let address, let account = request.accounts.first(where: { $0.normalizedAddress == address.lowercased() }) else {
            return .errorPage(
                title: provider == .microsoft ? "AADSTS50020" : "Error 400: invalid_request",
                message: "The selected account is not available for this sign-in request.")
        }
        interactiveSignInCompleted(account: account.normalizedAddress)
        let code = newAuthorizationCode(for: account)
        store.codes[code] = AuthorizationCode(
            clientID: request.client.id, redirectURI: request.redirectURI, account: account.normalizedAddress,
            scopes: request.scopes, nonce: request.nonce, codeChallenge: request.codeChallenge,
            codeChallengeMethod: request.codeChallengeMethod, issuedAt: now(), offline: request.offline,
            forceConsent: request.forceConsent, tenant: tenant)
        var parameters: [(String, String)] = []
        switch provider {
        case .microsoft:
            parameters.append(("code", code))
            if let state = request.state { parameters.append(("state", state)) }
        case .google:
            if let state = request.state { parameters.append(("state", state)) }
            parameters.append(("code", code))
            parameters.append(("scope", request.scopes.joined(separator: " ")))
            parameters.append(("authuser", "0"))
            parameters.append(("prompt", "consent"))
        }
        logger.info("sign-in completed", metadata: ["provider": "\(provider.rawValue)", "account": "\(account.normalizedAddress)"])
        return .redirect(AuthorizeRedirect(redirectURI: request.redirectURI, parameters: parameters, mode: request.mode))
    }

    private func errorRedirect(
        redirectURI: String, mode: ResponseMode, error: String, code: Int?, text: String, state: String?
    ) -> AuthorizeRedirect {
        var parameters: [(String, String)] = [("error", error)]
        if let code {
            parameters.append(("error_description", "AADSTS\(code): \(text)"))
        } else if !text.isEmpty {
            parameters.append(("error_description", text))
        }
        if let state { parameters.append(("state", state)) }
        return AuthorizeRedirect(redirectURI: redirectURI, parameters: parameters, mode: mode)
    }
}
