import Crypto
import Foundation
import MailroomCore
import SQLKit

/// People who sign in and their browser sessions. Passwords arrive already hashed (bcrypt, by the Web layer);
/// session tokens are stored only as SHA-256 hashes.
extension SQLStore: AccountStore {
    /// Adds a person. - Throws: `StoreError.conflict` when the address is taken.
    public func createUser(email: String, name: String, role: UserRole, passwordHash: String, at now: Date) async throws -> User {
        try await database.transaction { sql in
            if try await sql.raw("SELECT id FROM users WHERE lower(email) = lower(\(bind: email))").first() != nil {
                throw StoreError.conflict("A user with the address «\(email)» already exists.")
            }
            guard let row = try await sql.raw("""
                INSERT INTO users (email, name, role, password_hash, created_at)
                VALUES (\(bind: email), \(bind: name), \(bind: role.rawValue), \(bind: passwordHash), \(bind: Millis.from(now)))
                RETURNING id
                """).first()
            else { throw StoreError.corrupt("The new user got no id.") }
            return User(id: try row.int64("id"), email: email, name: name, role: role, createdAt: Millis.date(Millis.from(now)))
        }
    }

    /// Sets a new password hash and signs the person out everywhere.
    public func setPassword(userEmail: String, passwordHash: String) async throws -> Bool {
        try await database.transaction { sql in
            guard let row = try await sql.raw("SELECT id FROM users WHERE lower(email) = lower(\(bind: userEmail))").first() else { return false }
            let id = try row.int64("id")
            try await sql.raw("UPDATE users SET password_hash = \(bind: passwordHash) WHERE id = \(bind: id)").run()
            try await sql.raw("DELETE FROM web_sessions WHERE user_id = \(bind: id)").run()
            return true
        }
    }

    public func userCount() async throws -> Int {
        try await database.withSQL { sql in
            Int(try await sql.raw("SELECT COUNT(*) AS n FROM users").first()?.int64("n") ?? 0)
        }
    }

    public func users() async throws -> [User] {
        try await database.withSQL { sql in
            try await sql.raw("SELECT id, email, name, role, created_at FROM users ORDER BY id").all().map(Self.user(from:))
        }
    }

    public func admins() async throws -> [User] {
        try await users().filter(\.isAdmin)
    }

    /// The user and their password hash, for checking a sign-in.
    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        try await database.withSQL { sql in
            guard let row = try await sql.raw("""
                SELECT id, email, name, role, created_at, password_hash FROM users WHERE lower(email) = lower(\(bind: email))
                """).first() else { return nil }
            return (try Self.user(from: row), try row.string("password_hash"))
        }
    }

    /// Starts a session for `user`, returning the token for the cookie (never stored as such).
    public func startSession(user: User, lifetime: TimeInterval, at now: Date) async throws -> String {
        let token = RandomToken.hex()
        try await database.transaction { sql in
            // Expired sessions go whenever someone signs in: no separate sweeper needed.
            try await sql.raw("DELETE FROM web_sessions WHERE expires_at < \(bind: Millis.from(now))").run()
            try await sql.raw("""
                INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at)
                VALUES (\(bind: Self.hash(token)), \(bind: user.id), \(bind: Millis.from(now)), \(bind: Millis.from(now.addingTimeInterval(lifetime))))
                """).run()
        }
        return token
    }

    /// The session a cookie token stands for, if it exists and has not expired.
    public func session(token: String, at now: Date) async throws -> WebSession? {
        guard !token.isEmpty, token.count <= 128 else { return nil }
        return try await database.withSQL { sql in
            guard let row = try await sql.raw("""
                SELECT u.id, u.email, u.name, u.role, u.created_at, s.expires_at FROM web_sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = \(bind: Self.hash(token)) AND s.expires_at > \(bind: Millis.from(now))
                """).first() else { return nil }
            return WebSession(user: try Self.user(from: row), csrfToken: Self.csrfToken(for: token), expiresAt: try row.date("expires_at"))
        }
    }

    public func endSession(token: String) async throws {
        try await database.withSQL { sql in
            try await sql.raw("DELETE FROM web_sessions WHERE token_hash = \(bind: Self.hash(token))").run()
        }
    }

    /// The CSRF token of a session: derived from the session token, so it needs no storage and cannot be
    /// guessed by a page that only knows the session exists.
    static func csrfToken(for sessionToken: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data("mailroom-csrf:\(sessionToken)".utf8)))
    }

    static func hash(_ token: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data(token.utf8)))
    }


    static func user(from row: any SQLRow) throws -> User {
        User(
            id: try row.int64("id"), email: try row.string("email"), name: try row.string("name"),
            role: UserRole(rawValue: try row.string("role")) ?? .agent, createdAt: try row.date("created_at"))
    }
}
