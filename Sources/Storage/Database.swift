import Foundation
import Logging
import MailroomCore
import NIOCore
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import ServiceLifecycle

/// The SQL dialects Mailroom speaks; migrations differ only in a few column types.
public enum SQLDialectKind: String, Sendable {
    case sqlite, postgres
}

/// A connection source for the Store: one serialized SQLite connection, or a PostgreSQL pool.
///
/// It is a `Service`: for PostgreSQL its `run()` drives the pool, so it belongs in the server's ServiceGroup
/// (CLI commands use ``withRunning(_:)``).
public final class Database: Service, Sendable {
    public let url: DatabaseURL
    public let dialect: SQLDialectKind
    /// SQLite's raw mail beside the database file (see ``RawArchive``); PostgreSQL keeps raw bytes in its rows,
    /// because the nodes that share it share no folder.
    public let rawArchive: RawArchive?
    private let backend: Backend
    /// The database's own logger, which the store's static helpers also write to.
    let logger: Logger

    private enum Backend: Sendable {
        case sqlite(SQLiteConnection, AsyncMutex, WALCheckpointer)
        case postgres(PostgresClient)
    }

    /// Opens the database. For SQLite the file is created if missing and put in WAL mode so the CLI can work
    /// beside a running server.
    public static func open(_ url: DatabaseURL, logger: Logger) async throws -> Database {
        switch url {
        case .sqlite(let path):
            let connection: SQLiteConnection
            do {
                connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            } catch {
                throw StoreError.unavailable("Cannot open the SQLite database at «\(path)»: \(error). Check that the folder exists and is writable.")
            }
            do {
                try await configure(connection)
            } catch {
                // Never leave an open connection behind: SQLiteNIO traps on one that is dropped unclosed.
                try? await connection.close()
                throw StoreError.unavailable("Cannot set up the SQLite database at «\(path)»: \(error).")
            }
            return Database(url: url, dialect: .sqlite, backend: .sqlite(connection, AsyncMutex(), WALCheckpointer(path: path, logger: logger)), logger: logger)
        case .postgres(let host, let port, let username, let password, let database, let tlsMode):
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: Self.tls(tlsMode))
            configuration.options.maximumConnections = 8
            configuration.options.connectionIdleTimeout = .seconds(60)
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            return Database(url: url, dialect: .postgres, backend: .postgres(client), logger: logger)
        }
    }

    static func tls(_ mode: PostgresTLSMode) -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(unverified)
        case .require: return .require(unverified)
        case .verifyFull: return .require(.makeClientConfiguration())
        }
    }

    private init(url: DatabaseURL, dialect: SQLDialectKind, backend: Backend, logger: Logger) {
        self.url = url
        self.dialect = dialect
        self.backend = backend
        self.logger = logger
        if case .sqlite(let path) = url {
            rawArchive = RawArchive(folder: RawArchive.folder(forDatabase: path))
        } else {
            rawArchive = nil
        }
    }

    /// Drives the PostgreSQL pool until cancelled or shut down gracefully; closes SQLite at the end.
    /// The connection settings every SQLite connection gets.
    ///
    /// Turning a new database to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at once (without the
    /// busy handler) when two processes open a new database together — `mailroom serve` and `mailroom admin create`
    /// on a first start — so that one step is retried for a while.
    private static func configure(_ connection: SQLiteConnection) async throws {
        let sql = connection.sql(queryLogLevel: nil)
        // busy_timeout replaces SQLiteNIO's spinning busy handler with a sleeping one.
        try await sql.raw("PRAGMA busy_timeout = 30000").run()
        // Pages of 16 KB for a new database (an existing one keeps its own; a database in WAL mode cannot change it):
        // a message row with its bodies mostly fits one page instead of spilling into overflow pages, and every page
        // costs the log and the checkpoint a write of its own: at 4 KB those writes were about half the writer's time.
        try await sql.raw("PRAGMA page_size = \(unsafeRaw: String(Self.pageSize))").run()
        var attempt = 0
        while true {
            do {
                try await sql.raw("PRAGMA journal_mode = WAL").run()
                break
            } catch where attempt < 100 && "\(error)".lowercased().contains("lock") {
                attempt += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        // FULL: a committed ticket survives power loss, which delete-after-fetch relies on.
        try await sql.raw("PRAGMA synchronous = FULL").run()
        try await sql.raw("PRAGMA foreign_keys = ON").run()
        // Statement journals (every multi-row INSERT into a table with a unique index keeps one) in memory: on file
        // they spilled past 64 KB into a temporary file, created, written and closed again for each group filed. They
        // hold only pages that existed before the statement, and every sort Mailroom asks for is indexed, bounded by a
        // LIMIT or small, so this holds no large temporary data in memory.
        try await sql.raw("PRAGMA temp_store = MEMORY").run()
        // Checkpoints run beside the writer (WALCheckpointer); this is only its backstop.
        let pageSize = try await sql.raw("PRAGMA page_size").first().map { try $0.decode(column: "page_size", as: Int.self) } ?? Self.pageSize
        try await sql.raw("PRAGMA wal_autocheckpoint = \(unsafeRaw: String(WALCheckpointer.backstopBytes / max(512, pageSize)))").run()
    }

    /// The page size of a new SQLite database.
    static let pageSize = 16 << 10

    public func run() async throws {
        switch backend {
        case .sqlite:
            try? await gracefulShutdown()
            await close()
        case .postgres(let client):
            await cancelWhenGracefulShutdown { await client.run() }
        }
    }

    /// Closes SQLite's connection, its checkpointer and its mail archive: at the end of `run()` or ``withRunning(_:)``,
    /// or for a database that will not be run after all (start-up stopped between opening and running it).
    public func close() async {
        if case .sqlite(let connection, _, let checkpointer) = backend {
            await checkpointer.close()
            try? await connection.close()
            rawArchive?.close()
        }
    }

    /// Runs `body` while the database is usable: for one-shot commands outside a ServiceGroup.
    public func withRunning<T: Sendable>(_ body: @Sendable (Database) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite:
            do {
                let result = try await body(self)
                await close()
                return result
            } catch {
                await close()
                throw error
            }
        case .postgres(let client):
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(self)
            }
        }
    }

    /// Runs `body` on one connection, outside a transaction.
    public func withSQL<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let connection, let mutex, _):
            return try await mutex.withLock { try await body(connection.sql(queryLogLevel: nil)) }
        case .postgres(let client):
            return try await mapConnectionErrors {
                try await client.withConnection { connection in try await body(connection.sql(queryLogLevel: nil)) }
            }
        }
    }

    /// When a commit reaches the disk.
    public enum Durability: Sendable {
        /// Before the commit returns (SQLite `synchronous = FULL`, PostgreSQL `synchronous_commit = on`): every write
        /// whose loss someone would notice — an SMTP `250`, a reply marked sent, a setting, an account.
        case durable
        /// Atomic and written, but synced later (SQLite `synchronous = NORMAL` in WAL mode, PostgreSQL
        /// `synchronous_commit = off`): only mail fetched from a server that still holds it, which a power failure
        /// merely makes Mailroom fetch again. A process crash loses nothing either way; ``makeDurable()`` makes it
        /// durable before a destructive step, and so does any later durable commit (both logs are append-only).
        case deferred
    }

    /// Runs `body` in one transaction: all of it is committed, or none of it.
    public func transaction<T: Sendable>(
        _ durability: Durability = .durable, _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await transactionWithDriver(durability) { sql, _ in try await body(sql) }
    }

    /// ``transaction(_:_:)`` that also hands over SQLite's connection (nil on PostgreSQL), for the one statement
    /// whose binds are worth giving the driver directly: SQLKit's `Encodable` path for a group's message rows was
    /// a tenth of the time spent filing mail.
    func transactionWithDriver<T: Sendable>(
        _ durability: Durability, _ body: @Sendable (any SQLDatabase, SQLiteConnection?) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite(let connection, let mutex, let checkpointer):
            defer { Task { await checkpointer.nudge() } }
            return try await mutex.withLock {
                let sql = connection.sql(queryLogLevel: nil)
                // The connection's setting stays FULL for everything else: NORMAL only around a deferred commit.
                if durability == .deferred { try await sql.raw("PRAGMA synchronous = NORMAL").run() }
                do {
                    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    do {
                        let result = try await body(sql, connection)
                        try await sql.raw("COMMIT").run()
                        // Committed: what follows must not turn it into a reported failure.
                        if durability == .deferred { try? await sql.raw("PRAGMA synchronous = FULL").run() }
                        return result
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                } catch {
                    if durability == .deferred { try? await sql.raw("PRAGMA synchronous = FULL").run() }
                    throw Self.valueRefusal(error) ?? error
                }
            }
        case .postgres(let client):
            return try await mapConnectionErrors {
                try await client.withConnection { connection in
                    let sql = connection.sql(queryLogLevel: nil)
                    try await sql.raw("BEGIN").run()
                    do {
                        if durability == .deferred { try await sql.raw("SET LOCAL synchronous_commit = off").run() }
                        let result = try await body(sql, nil)
                        try await sql.raw("COMMIT").run()
                        return result
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            }
        }
    }

    /// The durable point: returns once every commit so far is on disk.
    ///
    /// SQLite: a full checkpoint, which syncs the write-ahead log (then copies it into the database and syncs
    /// that); it waits for readers, and reports — never silently skips — when it could not finish. PostgreSQL: a
    /// transaction that takes an id commits synchronously, and the log is flushed up to its commit record, which
    /// lies after every earlier asynchronous commit.
    public func makeDurable() async throws {
        switch backend {
        case .sqlite(let connection, let mutex, _):
            try await mutex.withLock {
                // SQLite runs one checkpoint at a time and answers busy at once while another runs (the background
                // one, or another process's): that is tried again for two seconds. A reader that holds the log waits
                // out the busy timeout inside one attempt, so that case is not multiplied.
                let deadline = ContinuousClock.now + .seconds(2)
                while true {
                    let row = try await connection.sql(queryLogLevel: nil).raw("PRAGMA wal_checkpoint(FULL)").first()
                    guard let row, try row.int64("busy") != 0 else { return }
                    guard ContinuousClock.now < deadline else {
                        throw StoreError.unavailable("The database is busy; its latest commits could not be written to disk yet. Nothing is deleted from the mail server until they are.")
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        case .postgres(let client):
            try await mapConnectionErrors {
                try await client.withConnection { connection in
                    let sql = connection.sql(queryLogLevel: nil)
                    try await sql.raw("BEGIN").run()
                    _ = try await sql.raw("SELECT pg_current_xact_id()").first()
                    try await sql.raw("COMMIT").run()
                }
            }
        }
    }

    private func mapConnectionErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.code == .connectionError || error.code == .serverClosedConnection || error.code == .clientClosedConnection {
            throw StoreError.unavailable("Cannot reach the PostgreSQL database at \(url): \(error.underlying.map { "\($0)" } ?? "\(error.code)"). Check that it is running and the URL is right.")
        } catch let error as PSQLError where error.code == .server {
            // PostgresNIO hides the server's words from `description`; the operator needs them (never a secret:
            // values are bound, not part of the statement).
            let message = error.serverInfo?[.message] ?? "no message"
            let code = error.serverInfo?[.sqlState] ?? ""
            let text = "PostgreSQL refused the statement: \(message)" + (code.isEmpty ? "" : " (SQLSTATE \(code))")
            // Classes 22 (data exception) and 23 (integrity constraint), and a check raised by a trigger (P0001),
            // are about the values written; anything else (deadlock, disk full, shutdown, failover) is the database's.
            if code.hasPrefix("22") || code.hasPrefix("23") || code == "P0001" { throw StoreError.valueRefused(text) }
            throw StoreError.refused(text)
        }
    }

    /// SQLite's refusals of a value (a constraint, too big, a type mismatch), apart from its own trouble.
    private static func valueRefusal(_ error: any Error) -> StoreError? {
        guard let error = error as? SQLiteError else { return nil }
        switch error.reason {
        case .constraint, .tooBig, .mismatch, .range, .constraintCheckFailed, .constraintNotNullFailed, .constraintPrimaryKeyFailed,
             .constraintTriggerFailed, .constraintUniqueFailed, .constraintForeignKeyFailed, .constraintStrictDataTypeFailed:
            return .valueRefused("SQLite refused the statement: \(error.message)")
        default:
            return nil
        }
    }
}
