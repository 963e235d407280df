import Foundation
import Logging

/// An in-memory stand-in for Microsoft's identity platform and Google's OAuth endpoints.
///
/// Mailroom's tests and demo cannot reach the real providers, yet Mailroom must prove it handles their
/// behaviour exactly: form-encoded token requests, provider-shaped error bodies, refresh-token rotation,
/// revoked grants, outages, and Dovecot validating the resulting access tokens. The actor owns all
/// state (accounts, clients, issued codes and tokens, faults, audit list); the HTTP routes built by
/// ``makeRouter()`` only translate HTTP to calls on it.
public actor IdentityEmulator {
    var accountsByAddress: [String: EmulatorAccount] = [:]
    var accountOrder: [String] = []
    var clientsByID: [String: EmulatorClient] = [:]
    var clientOrder: [String] = []
    var store = TokenStore()
    var audit: [TokenRequestRecord] = []

    var mfaRequired: Set<String> = []
    var accountFaults: [String: EmulatorFault] = [:]
    var expiredSecrets: Set<String> = []
    var tokenOutage: TokenEndpointOutage?
    var networkDown: NetworkOutage?
    /// The front door of a gated emulator (see ``start(host:port:emulator:gated:)``).
    var gate: ConnectionGate?
    var introspectionDown = false
    var disabledProtocols: Set<String> = []
    var accessTokenLifetimeSeconds: Int
    var clockOffset: TimeInterval = 0
    /// The demo's mail server, when one is attached (see ``EmulatorMailServer``).
    var mailServer: (any EmulatorMailServer)?

    /// Base URL used in issuers and discovery documents; when nil, taken from the request's Host.
    var configuredBaseURL: String?
    public let introspectionCredentials: IntrospectionCredentials
    nonisolated let logger: Logger
    nonisolated let keys: EmulatorKeys

    /// Creates an emulator.
    /// - Parameters:
    ///   - accounts: Accounts that can sign in (empty for tests that add their own).
    ///   - clients: Client registrations.
    ///   - introspectionCredentials: Basic credentials Dovecot uses at `/introspect`.
    ///   - accessTokenLifetime: `expires_in` of new access tokens, seconds.
    ///   - baseURL: Public base URL (e.g. `http://127.0.0.1:9400`) for issuers; nil = from the Host header
    ///     (``start(host:port:emulator:logger:)`` fills it with the bound address).
    ///   - logger: Receives one line per request and per control action; never tokens, codes or secrets.
    public init(
        accounts: [EmulatorAccount] = [],
        clients: [EmulatorClient] = [],
        introspectionCredentials: IntrospectionCredentials = EmulatorDemoData.introspectionCredentials,
        accessTokenLifetime: Int = 3600,
        baseURL: String? = nil,
        logger: Logger = Logger(label: "identity-emulator")
    ) {
        self.introspectionCredentials = introspectionCredentials
        self.accessTokenLifetimeSeconds = accessTokenLifetime
        self.configuredBaseURL = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.logger = logger
        self.keys = EmulatorKeys.shared
        for account in accounts {
            let key = account.normalizedAddress
            if accountsByAddress[key] == nil { accountOrder.append(key) }
            accountsByAddress[key] = account
        }
        for client in clients {
            if clientsByID[client.id] == nil { clientOrder.append(client.id) }
            clientsByID[client.id] = client
        }
    }

    private func insert(_ account: EmulatorAccount) {
        let key = account.normalizedAddress
        if accountsByAddress[key] == nil { accountOrder.append(key) }
        accountsByAddress[key] = account
    }

    private func insert(_ client: EmulatorClient) {
        if clientsByID[client.id] == nil { clientOrder.append(client.id) }
        clientsByID[client.id] = client
    }

    // MARK: Accounts and clients

    /// Adds (or replaces, by address) an account.
    public func addAccount(_ account: EmulatorAccount) { insert(account) }

    /// Adds (or replaces, by id) a client registration.
    public func addClient(_ client: EmulatorClient) { insert(client) }

    public func accounts() -> [EmulatorAccount] { accountOrder.compactMap { accountsByAddress[$0] } }

    public func clients() -> [EmulatorClient] { clientOrder.compactMap { clientsByID[$0] } }

    func account(_ address: String) -> EmulatorAccount? { accountsByAddress[address.lowercased()] }

    /// Sets the base URL used in issuers (normally done by ``start(host:port:emulator:logger:)``).
    public func setBaseURL(_ url: String) {
        configuredBaseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    public func baseURL() -> String? { configuredBaseURL }

    func baseURL(requestHost: String?) -> String {
        if let configuredBaseURL { return configuredBaseURL }
        if let requestHost, !requestHost.isEmpty { return "http://\(requestHost)" }
        return "http://127.0.0.1:9400"
    }

    /// The emulator's clock: real time plus whatever ``advanceClock(by:)`` added.
    func now() -> Date { Date().addingTimeInterval(clockOffset) }

    // MARK: Audit

    /// Every token-endpoint request so far, oldest first.
    public func tokenRequests() -> [TokenRequestRecord] { audit }

    /// How often `token` was presented as a refresh token and how often it was accepted/rejected;
    /// nil if the emulator never issued it.
    public func refreshTokenUsage(_ token: String) -> RefreshTokenUsage? {
        store.refreshTokens[token].map { RefreshTokenUsage(accepted: $0.accepted, rejected: $0.rejected) }
    }

    /// Number of live (usable) refresh tokens of an account.
    public func liveRefreshTokenCount(account: String) -> Int {
        let key = account.lowercased()
        return store.refreshTokens.values.filter { $0.account == key && $0.death == nil }.count
    }

    /// Whether an access token is currently valid (what `/introspect` would say, ignoring protocols).
    public func isAccessTokenActive(_ token: String) -> Bool {
        guard let grant = store.accessTokens[token] else { return false }
        return grant.expiresAt > now()
    }

    func record(_ entry: TokenRequestRecord) {
        audit.append(entry)
        if audit.count > 10_000 { audit.removeFirst(audit.count - 10_000) }
    }
}
