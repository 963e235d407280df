import Foundation
import MailroomCore

/// People and their sessions, as `SQLStore+Accounts` keeps them (addresses compared without case, expired
/// sessions swept at each sign-in, a new password ends every session).
extension InMemoryStore: AccountStore {
    public func createUser(email: String, name: String, role: UserRole, passwordHash: String, at now: Date) async throws -> User {
        try transaction { state in
            if state.users.contains(where: { $0.user.email.lowercased() == email.lowercased() }) {
                throw StoreError.conflict("A user with the address «\(email)» already exists.")
            }
            let user = User(id: state.newID(), email: email, name: name, role: role, createdAt: Self.stored(now))
            state.users.append(UserRow(user: user, passwordHash: passwordHash))
            return user
        }
    }

    public func setPassword(userEmail: String, passwordHash: String) async throws -> Bool {
        transaction { state in
            guard let index = state.users.firstIndex(where: { $0.user.email.lowercased() == userEmail.lowercased() }) else { return false }
            state.users[index].passwordHash = passwordHash
            let id = state.users[index].user.id
            state.sessions = state.sessions.filter { $0.value.userID != id }
            return true
        }
    }

    public func userCount() async throws -> Int { state.users.count }

    public func users() async throws -> [User] { state.users.map(\.user) }

    public func admins() async throws -> [User] { state.users.map(\.user).filter(\.isAdmin) }

    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        state.users.first { $0.user.email.lowercased() == email.lowercased() }.map { ($0.user, $0.passwordHash) }
    }

    public func startSession(user: User, lifetime: TimeInterval, at now: Date) async throws -> String {
        let token = RandomToken.hex()
        let now = Self.stored(now)
        state.sessions = state.sessions.filter { $0.value.expiresAt >= now }
        state.sessions[token] = SessionRow(userID: user.id, csrfToken: RandomToken.hex(), expiresAt: Self.stored(now.addingTimeInterval(lifetime)))
        return token
    }

    public func session(token: String, at now: Date) async throws -> WebSession? {
        guard !token.isEmpty, token.count <= 128, let session = state.sessions[token], session.expiresAt > Self.stored(now),
              let user = state.users.first(where: { $0.user.id == session.userID })?.user else { return nil }
        return WebSession(user: user, csrfToken: session.csrfToken, expiresAt: session.expiresAt)
    }

    public func endSession(token: String) async throws {
        state.sessions[token] = nil
    }
}
