import Foundation

/// Where Mailroom keeps its data: an SQLite file (the default) or a PostgreSQL server.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(host: String, port: Int, username: String, password: String?, database: String, tls: PostgresTLSMode = .disable)

    /// A PostgreSQL server elsewhere, reached without TLS: mail and sealed secrets would cross the network in the clear.
    public var crossesNetworkInTheClear: Bool {
        guard case .postgres(let host, _, _, _, _, let tls) = self, tls == .disable else { return false }
        let lowered = host.lowercased()
        return !(lowered == "localhost" || lowered == "::1" || lowered == "[::1]" || lowered.hasPrefix("127.") || lowered.hasPrefix("/"))
    }

    /// Reads `--database`: a file path, `sqlite:PATH`, or `postgres://user:pass@host:port/db`.
    public init(parsing text: String) throws(DatabaseURLError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw DatabaseURLError(message: "The database location is empty. Use a file path like mailroom.sqlite or postgres://user:password@host:5432/mailroom.") }
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            guard let components = URLComponents(string: trimmed), let host = components.host, !host.isEmpty else {
                throw DatabaseURLError(message: "«\(Self.redacted(trimmed))» is not a valid PostgreSQL URL. Use postgres://user:password@host:5432/mailroom.")
            }
            let database = String(components.path.drop(while: { $0 == "/" }))
            guard !database.isEmpty else {
                throw DatabaseURLError(message: "The PostgreSQL URL names no database. Add it at the end: postgres://user:password@\(host):\(components.port ?? 5432)/mailroom.")
            }
            guard let user = components.user, !user.isEmpty else {
                throw DatabaseURLError(message: "The PostgreSQL URL names no user. Use postgres://user:password@\(host):\(components.port ?? 5432)/\(database).")
            }
            let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
            guard let tls = PostgresTLSMode(rawValue: sslmode) else {
                throw DatabaseURLError(message: "sslmode=\(sslmode) is not supported. Use disable, prefer, require or verify-full.")
            }
            self = .postgres(
                host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database, tls: tls)
        } else if trimmed.hasPrefix("sqlite:") {
            self = .sqlite(path: String(trimmed.dropFirst("sqlite:".count)).replacingOccurrences(of: "//", with: "", options: .anchored))
        } else if trimmed.contains("://") {
            throw DatabaseURLError(message: "Unsupported database «\(Self.redacted(trimmed))». Use an SQLite file path or a postgres:// URL.")
        } else {
            self = .sqlite(path: trimmed)
        }
    }

    /// Safe to log: never shows the password.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let host, let port, let username, _, let database, let tls):
            "postgres://\(username)@\(host):\(port)/\(database)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
        }
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unreadable URL)" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "(unreadable URL)"
    }
}

/// libpq's `sslmode` words, the ones that mean something here. `require` encrypts without checking the
/// certificate (as libpq does); `verify-full` checks the chain and the host name.
public enum PostgresTLSMode: String, Sendable, Equatable {
    case disable, prefer, require
    case verifyFull = "verify-full"
}

public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
