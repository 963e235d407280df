import Foundation

/// What a signed-in person may do: admins manage channels; agents work tickets and never see channel settings.
public enum UserRole: String, Sendable, Codable, CaseIterable {
    case admin, agent

    public var displayName: String {
        switch self {
        case .admin: "Admin"
        case .agent: "Agent"
        }
    }
}

/// A person who signs in to Mailroom's pages. The password hash never leaves the Store.
public struct User: Sendable, Codable, Equatable, Identifiable {
    public var id: Int64
    public var email: String
    public var name: String
    public var role: UserRole
    public var createdAt: Date

    public init(id: Int64, email: String, name: String, role: UserRole, createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    public var isAdmin: Bool { role == .admin }
}

/// A signed-in browser: who it is and the token its forms must carry (CSRF synchronizer token).
public struct WebSession: Sendable, Equatable {
    public var user: User
    public var csrfToken: String
    public var expiresAt: Date

    public init(user: User, csrfToken: String, expiresAt: Date) {
        self.user = user
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
    }
}
