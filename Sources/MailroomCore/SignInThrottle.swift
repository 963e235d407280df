import Foundation

/// Slows password guessing, as a value: every attempt is reserved *before* its password is checked, so parallel
/// guesses count at once instead of after bcrypt has run for each of them. Two limits stand side by side: wrong
/// passwords for one address (a guesser aiming at one person) and from one client address (a guesser trying many
/// people). A right password clears its account's count but never its client's, so a guesser who owns one account
/// cannot reset their own limit by signing in to it.
public struct SignInThrottle: Sendable {
    public struct Limits: Sendable, Equatable {
        public var perAccount: Int
        public var perClient: Int
        public var window: TimeInterval

        public init(perAccount: Int = 5, perClient: Int = 30, window: TimeInterval = 900) {
            self.perAccount = perAccount
            self.perClient = perClient
            self.window = window
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

    /// An attempt in flight; settle it exactly once.
    public struct Reservation: Sendable, Hashable {
        let id: UInt64
        let account: String
        let client: String?
    }

    public let limits: Limits
    private var failures: [String: [Date]] = [:]
    private var pending: [String: Int] = [:]
    private var nextID: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Counts the attempt now, or refuses it when the address or the client has used up its tries.
    public mutating func reserve(account: String, client: String?, now: Date) -> Result<Reservation, Refusal> {
        // An address longer than any real one is cut, so a stranger cannot fill the table with huge keys.
        let accountKey = "account:" + String(account.lowercased().prefix(320))
        let clientKey = client.map { "client:" + $0 }
        if recent(accountKey, now: now).count >= limits.perAccount { return .failure(.account) }
        if let clientKey, recent(clientKey, now: now).count >= limits.perClient { return .failure(.client) }
        if attempts(accountKey, now: now) >= limits.perAccount { return .failure(.busy) }
        if let clientKey, attempts(clientKey, now: now) >= limits.perClient { return .failure(.busy) }
        nextID &+= 1
        pending[accountKey, default: 0] += 1
        if let clientKey { pending[clientKey, default: 0] += 1 }
        return .success(Reservation(id: nextID, account: accountKey, client: clientKey))
    }

    /// Releases an attempt whose password was never checked (the checker was busy, the database failed): it
    /// counts as nothing, so an overloaded server cannot lock anyone out.
    public mutating func release(_ reservation: Reservation) {
        for key in [reservation.account] + (reservation.client.map { [$0] } ?? []) {
            pending[key] = max(0, (pending[key] ?? 1) - 1)
            if pending[key] == 0 { pending[key] = nil }
        }
    }

    /// Records how the checked attempt went.
    public mutating func settle(_ reservation: Reservation, succeeded: Bool, now: Date) {
        release(reservation)
        if succeeded {
            failures[reservation.account] = nil
        } else {
            for key in [reservation.account] + (reservation.client.map { [$0] } ?? []) {
                failures[key] = recent(key, now: now) + [now]
            }
        }
        // Forget addresses nobody has tried lately, so a stranger cannot grow this without bound.
        if failures.count > 10_000 { failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < limits.window } } }
    }

    private func recent(_ key: String, now: Date) -> [Date] {
        (failures[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
    }

    private func attempts(_ key: String, now: Date) -> Int {
        recent(key, now: now).count + (pending[key] ?? 0)
    }
}
