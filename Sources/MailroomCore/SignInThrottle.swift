import Foundation

/// Slows password guessing, as a value: every attempt is reserved *before* its password is checked, so parallel
/// guesses count at once instead of after bcrypt has run for each of them. Two limits stand side by side: wrong
/// passwords for one address (a guesser aiming at one person) and from one client address (a guesser trying many
/// people). A right password clears its account's count but never its client's, so a guesser who owns one account
/// cannot reset their own limit by signing in to it.
///
/// The state is a ``Tally`` per key, so a store shared by several nodes can hold it: it loads the tallies of one
/// attempt's keys, lets these rules change them, and saves them atomically (``SignInThrottleStore``).
public struct SignInThrottle: Sendable {
    public struct Limits: Sendable, Equatable {
        public var perAccount: Int
        public var perClient: Int
        public var window: TimeInterval
        /// How long an attempt counts while its password is being checked. A check takes a fraction of a second;
        /// a reservation older than this belongs to a node that stopped mid-check and must not lock anyone out.
        public var pendingLifetime: TimeInterval

        public init(perAccount: Int = 5, perClient: Int = 30, window: TimeInterval = 900, pendingLifetime: TimeInterval = 60) {
            self.perAccount = perAccount
            self.perClient = perClient
            self.window = window
            self.pendingLifetime = pendingLifetime
        }
    }

    /// Why an attempt was not even checked.
    public enum Refusal: Error, Sendable, Equatable {
        /// Too many wrong passwords for this address lately.
        case account
        /// Too many wrong passwords from this client lately.
        case client
        /// The attempts already being checked would use up the tries: wait for them (a second), not the window.
        case busy
    }

    /// What one key (an address or a client) has used: recent wrong passwords and attempts being checked.
    public struct Tally: Sendable, Equatable, Codable {
        public var failures: [Date]
        /// Attempts in flight by reservation id, with when they were reserved.
        public var pending: [String: Date]

        public init(failures: [Date] = [], pending: [String: Date] = [:]) {
            self.failures = failures
            self.pending = pending
        }

        /// Nothing in it counts any more: the store may forget the key.
        public var isEmpty: Bool { failures.isEmpty && pending.isEmpty }

        /// Without what has aged out.
        func pruned(now: Date, limits: Limits) -> Tally {
            Tally(failures: failures.filter { now.timeIntervalSince($0) < limits.window },
                  pending: pending.filter { now.timeIntervalSince($0.value) < limits.pendingLifetime })
        }
    }

    /// An attempt in flight; settle it exactly once.
    public struct Reservation: Sendable, Hashable {
        public let id: String
        public let account: String
        public let client: String?

        /// The keys whose tallies this attempt touches.
        public var keys: [String] { [account] + (client.map { [$0] } ?? []) }
    }

    public let limits: Limits
    /// The tallies these rules read and change: all of them in memory, or only one attempt's from a store.
    public private(set) var tallies: [String: Tally]

    public init(limits: Limits = Limits(), tallies: [String: Tally] = [:]) {
        self.limits = limits
        self.tallies = tallies
    }

    /// The keys an attempt for `account` from `client` is counted under.
    public static func keys(account: String, client: String?) -> (account: String, client: String?) {
        // An address longer than any real one is cut, so a stranger cannot fill the table with huge keys.
        ("account:" + String(account.lowercased().prefix(320)), client.map { "client:" + String($0.prefix(64)) })
    }

    /// Counts the attempt now, or refuses it when the address or the client has used up its tries.
    ///
    /// - Parameter id: the reservation's id, unique among every node's (random by default).
    public mutating func reserve(account: String, client: String?, now: Date, id: String = UUID().uuidString) -> Result<Reservation, Refusal> {
        let (accountKey, clientKey) = Self.keys(account: account, client: client)
        if recent(accountKey, now: now) >= limits.perAccount { return .failure(.account) }
        if let clientKey, recent(clientKey, now: now) >= limits.perClient { return .failure(.client) }
        if attempts(accountKey, now: now) >= limits.perAccount { return .failure(.busy) }
        if let clientKey, attempts(clientKey, now: now) >= limits.perClient { return .failure(.busy) }
        let reservation = Reservation(id: id, account: accountKey, client: clientKey)
        for key in reservation.keys {
            var tally = tally(key, now: now)
            tally.pending[id] = now
            tallies[key] = tally
        }
        return .success(reservation)
    }

    /// Releases an attempt whose password was never checked (the checker was busy, the database failed): it
    /// counts as nothing, so an overloaded server cannot lock anyone out.
    public mutating func release(_ reservation: Reservation) {
        for key in reservation.keys {
            tallies[key]?.pending[reservation.id] = nil
            if tallies[key]?.isEmpty == true { tallies[key] = nil }
        }
    }

    /// Records how the checked attempt went.
    public mutating func settle(_ reservation: Reservation, succeeded: Bool, now: Date) {
        release(reservation)
        if succeeded {
            tallies[reservation.account]?.failures = []
            if tallies[reservation.account]?.isEmpty == true { tallies[reservation.account] = nil }
        } else {
            for key in reservation.keys {
                var tally = tally(key, now: now)
                tally.failures.append(now)
                tallies[key] = tally
            }
        }
        // Forget addresses nobody has tried lately, so a stranger cannot grow this without bound.
        if tallies.count > 10_000 { tallies = tallies.mapValues { $0.pruned(now: now, limits: limits) }.filter { !$0.value.isEmpty } }
    }

    private func tally(_ key: String, now: Date) -> Tally {
        (tallies[key] ?? Tally()).pruned(now: now, limits: limits)
    }

    private func recent(_ key: String, now: Date) -> Int {
        tally(key, now: now).failures.count
    }

    private func attempts(_ key: String, now: Date) -> Int {
        let tally = tally(key, now: now)
        return tally.failures.count + tally.pending.count
    }
}

/// Where the throttle's tallies live when several nodes must count together: the store only persists; the rules
/// stay in ``SignInThrottle``.
public protocol SignInThrottleStore: Sendable {
    /// Loads the tallies of `keys` (absent ones as empty), lets `change` apply the rules, and saves what it left —
    /// atomically with respect to every other node: no two changes of one key interleave. Keys `change` removes
    /// or leaves empty are forgotten.
    func updateSignInThrottle<T: Sendable>(
        keys: [String], now: Date, _ change: @Sendable (inout [String: SignInThrottle.Tally]) -> T) async throws -> T
}
