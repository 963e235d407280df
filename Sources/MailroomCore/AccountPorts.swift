import Foundation

/// People who sign in and their browser sessions: the port the Web layer signs people in through, so it needs
/// no SQL. Passwords arrive already hashed (bcrypt, by the Web layer); a session token is handed out once and
/// never stored as such. It keeps the sign-in throttle's tallies too, so every node counts the same guesses.
public protocol AccountStore: SignInThrottleStore {
    /// Adds a person. - Throws: `StoreError.conflict` when the address is taken (compared without case).
    func createUser(email: String, name: String, role: UserRole, passwordHash: String, at: Date) async throws -> User
    /// Sets a new password hash and ends every session of that person; false when there is no such person.
    func setPassword(userEmail: String, passwordHash: String) async throws -> Bool
    func userCount() async throws -> Int
    /// Everyone who signs in, oldest first.
    func users() async throws -> [User]
    /// The user and their password hash, for checking a sign-in (the address compared without case).
    func credentials(email: String) async throws -> (user: User, passwordHash: String)?
    /// Starts a session for `user`, returning the token for the cookie; sessions expired at `at` go.
    func startSession(user: User, lifetime: TimeInterval, at: Date) async throws -> String
    /// The session a cookie token stands for, if it exists and has not expired at `at`.
    func session(token: String, at: Date) async throws -> WebSession?
    func endSession(token: String) async throws
}
