import Foundation
import HummingbirdBcrypt
import MailroomCore
import Storage

/// A refused account request, in words for the person who made it.
public struct AccountError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// People who sign in: created by `mailroom admin create` (or an admin), checked at sign-in. Passwords are
/// stored only as bcrypt hashes.
public struct Accounts: Sendable {
    let store: SQLStore
    /// bcrypt's work factor: 12 takes about a quarter of a second, slow for a guesser and fine for a person.
    let cost: UInt8
    /// Shared by the sign-in form and HTTP Basic on the API, so neither door lets a guesser past the other's limit.
    let throttle: SignInThrottle
    public static let minimumPasswordLength = 10

    public init(store: SQLStore, cost: UInt8 = 12) {
        self.store = store
        self.cost = cost
        self.throttle = SignInThrottle()
    }

    /// What a password check found.
    public enum Verdict: Sendable {
        case accepted(User)
        case refused
        /// Too many wrong passwords for this address lately; the password was not even checked.
        case throttled
    }

    /// Checks a password, counting wrong ones per address (see ``SignInThrottle``): the one check every way of
    /// signing in goes through.
    public func authenticate(email: String, password: String) async throws -> Verdict {
        if await throttle.isLocked(email) { return .throttled }
        guard let user = try await verify(email: email, password: password) else {
            await throttle.failed(email)
            return .refused
        }
        await throttle.succeeded(email)
        return .accepted(user)
    }

    public func create(email: String, name: String, role: UserRole, password: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard EmailAddressSyntax.isPlausible(email) else { throw AccountError("«\(email)» is not an email address.") }
        try Self.check(password)
        let name = name.trimmingCharacters(in: .whitespaces)
        do {
            return try await store.createUser(
                email: email, name: name.isEmpty ? email : name, role: role, passwordHash: hash(password), at: Date())
        } catch let error as StoreError {
            if case .conflict(let message) = error { throw AccountError(message) }
            throw error
        }
    }

    /// Sets a new password and ends every session of that person.
    public func resetPassword(email: String, password: String) async throws {
        try Self.check(password)
        guard try await store.setPassword(userEmail: email, passwordHash: hash(password)) else {
            throw AccountError("There is no user «\(email)».")
        }
    }

    /// The user whose password this is, or nil. Takes as long for an unknown address as for a wrong password,
    /// so sign-in does not reveal who has an account; off the request threads, as bcrypt is slow on purpose.
    func verify(email: String, password: String) async throws -> User? {
        guard let found = try await store.credentials(email: email) else {
            _ = await Task.detached { Bcrypt.verify(password, hash: Self.decoyHash) }.value
            return nil
        }
        let hash = found.passwordHash
        let matches = await Task.detached { Bcrypt.verify(password, hash: hash) }.value
        return matches ? found.user : nil
    }

    private func hash(_ password: String) async -> String {
        let cost = cost
        return await Task.detached { Bcrypt.hash(password, cost: cost) }.value
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
