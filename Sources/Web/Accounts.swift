import Foundation
import HTTPTypes
import HummingbirdBcrypt
import NIOCore
import NIOPosix
import MailroomCore

/// A refused account request, in words for the person who made it.
public struct AccountError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// People who sign in: created by `mailroom admin create` (or an admin), checked at sign-in. Passwords are
/// stored only as bcrypt hashes.
public struct Accounts: Sendable {
    let store: any AccountStore
    /// bcrypt's work factor: 12 takes about a quarter of a second, slow for a guesser and fine for a person.
    let cost: UInt8
    /// Shared by the sign-in form and HTTP Basic on the API, so neither door lets a guesser past the other's limit;
    /// kept by the store, so neither does another node behind the same load balancer.
    let throttle: ThrottleKeeper
    public static let minimumPasswordLength = 10

    public init(store: any AccountStore, cost: UInt8 = 12, limits: SignInThrottle.Limits = SignInThrottle.Limits()) {
        self.store = store
        self.cost = cost
        self.throttle = ThrottleKeeper(store: store, limits: limits)
    }

    /// What a password check found.
    public enum Verdict: Sendable {
        case accepted(User)
        case refused
        /// The password was not even checked: too many wrong ones lately, or too many checks at once.
        case throttled(Throttled)
    }

    /// A refusal before any check, as the person asking is told it.
    public struct Throttled: Sendable, Equatable {
        public var status: HTTPResponse.Status
        public var message: String
        public var retryAfterSeconds: Int

        static let account = Throttled(status: .tooManyRequests, message: "Too many wrong passwords for this address. Wait 15 minutes and try again.", retryAfterSeconds: 900)
        static let client = Throttled(status: .tooManyRequests, message: "Too many wrong passwords from your network. Wait 15 minutes and try again.", retryAfterSeconds: 900)
        static let busy = Throttled(status: .tooManyRequests, message: "Too many sign-ins at once. Try again in a moment.", retryAfterSeconds: 1)
        static let overloaded = Throttled(status: .serviceUnavailable, message: "Mailroom is busy checking passwords. Try again in a moment.", retryAfterSeconds: 1)
    }

    /// Checks a password, counting the attempt before bcrypt runs (see ``SignInThrottle``): the one check every
    /// way of signing in goes through. `client` is the caller's network address, when known.
    public func authenticate(email: String, password: String, client: String? = nil) async throws -> Verdict {
        let reservation: SignInThrottle.Reservation
        switch try await throttle.reserve(account: email, client: client) {
        case .success(let reserved): reservation = reserved
        case .failure(.account): return .throttled(.account)
        case .failure(.client): return .throttled(.client)
        case .failure(.busy): return .throttled(.busy)
        }
        let user: User?
        do {
            user = try await verify(email: email, password: password)
        } catch {
            try? await throttle.release(reservation)
            if error is PasswordChecker.Overloaded { return .throttled(.overloaded) }
            throw error
        }
        try await throttle.settle(reservation, succeeded: user != nil)
        return user.map { .accepted($0) } ?? .refused
    }

    public func create(email: String, name: String, role: UserRole, password: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard EmailAddressSyntax.isPlausible(email) else { throw AccountError("«\(email)» is not an email address.") }
        try Self.check(password)
        let name = name.trimmingCharacters(in: .whitespaces)
        do {
            return try await store.createUser(
                email: email, name: name.isEmpty ? email : name, role: role, passwordHash: try await hash(password), at: Date())
        } catch let error as StoreError {
            if case .conflict(let message) = error { throw AccountError(message) }
            throw error
        }
    }

    /// Sets a new password and ends every session of that person.
    public func resetPassword(email: String, password: String) async throws {
        try Self.check(password)
        guard try await store.setPassword(userEmail: email, passwordHash: try await hash(password)) else {
            throw AccountError("There is no user «\(email)».")
        }
    }

    /// The user whose password this is, or nil. Takes as long for an unknown address as for a wrong password,
    /// so sign-in does not reveal who has an account; off the request threads, as bcrypt is slow on purpose.
    func verify(email: String, password: String) async throws -> User? {
        guard let found = try await store.credentials(email: email) else {
            _ = try await PasswordChecker.shared.run { Bcrypt.verify(password, hash: Self.decoyHash) }
            return nil
        }
        let hash = found.passwordHash
        let matches = try await PasswordChecker.shared.run { Bcrypt.verify(password, hash: hash) }
        return matches ? found.user : nil
    }

    private func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await PasswordChecker.shared.run { Bcrypt.hash(password, cost: cost) }
    }

    static func check(_ password: String) throws {
        guard password.count >= minimumPasswordLength else {
            throw AccountError("The password must have at least \(minimumPasswordLength) characters.")
        }
        guard password.utf8.count <= 72 else {
            throw AccountError("The password must be at most 72 bytes long (bcrypt ignores anything beyond that).")
        }
    }

    /// A hash of nothing anyone knows, checked for unknown addresses so they cost the same time.
    static let decoyHash = Bcrypt.hash("mailroom-no-such-user", cost: 12)
}

/// Applies ``SignInThrottle``'s rules to the tallies the store keeps: the store makes each change atomic across
/// nodes, the rules stay pure.
struct ThrottleKeeper: Sendable {
    let store: any SignInThrottleStore
    let limits: SignInThrottle.Limits

    func reserve(account: String, client: String?) async throws -> Result<SignInThrottle.Reservation, SignInThrottle.Refusal> {
        let (accountKey, clientKey) = SignInThrottle.keys(account: account, client: client)
        let limits = limits
        return try await store.updateSignInThrottle(keys: [accountKey] + (clientKey.map { [$0] } ?? []), now: Date()) { tallies in
            var throttle = SignInThrottle(limits: limits, tallies: tallies)
            defer { tallies = throttle.tallies }
            return throttle.reserve(account: account, client: client, now: Date())
        }
    }

    func settle(_ reservation: SignInThrottle.Reservation, succeeded: Bool) async throws {
        try await change(reservation) { $0.settle(reservation, succeeded: succeeded, now: Date()) }
    }

    func release(_ reservation: SignInThrottle.Reservation) async throws {
        try await change(reservation) { $0.release(reservation) }
    }

    private func change(_ reservation: SignInThrottle.Reservation, _ rule: @escaping @Sendable (inout SignInThrottle) -> Void) async throws {
        let limits = limits
        try await store.updateSignInThrottle(keys: reservation.keys, now: Date()) { tallies in
            var throttle = SignInThrottle(limits: limits, tallies: tallies)
            rule(&throttle)
            tallies = throttle.tallies
        }
    }
}

/// bcrypt is slow on purpose, so it runs on a small thread pool of its own with a cap on the checks waiting for
/// it: strangers sending passwords can keep this pool busy, but never the threads that serve pages, the mail
/// workers or the database. Past the cap a check is refused at once (503) instead of queueing without end.
final class PasswordChecker: Sendable {
    struct Overloaded: Error {}

    static let shared = PasswordChecker(threads: max(1, min(4, System.coreCount / 2)), cap: 32)

    private let pool: NIOThreadPool
    private let slots: Slots
    let cap: Int

    init(threads: Int, cap: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.cap = cap
        slots = Slots()
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        guard await slots.take(cap: cap) else { throw Overloaded() }
        do {
            let value = try await pool.runIfActive(work)
            await slots.give()
            return value
        } catch {
            await slots.give()
            throw error
        }
    }

    /// Checks waiting for or running on the pool.
    actor Slots {
        private var used = 0
        func take(cap: Int) -> Bool {
            guard used < cap else { return false }
            used += 1
            return true
        }
        func give() { used -= 1 }
    }
}
