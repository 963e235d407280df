import ArgumentParser
import Foundation
import Logging
import Storage

/// Options every command shares, so the CLI always talks to the same database and key as the server.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite file path or postgres://user:pass@host:port/db (env MAILROOM_DATABASE).", valueName: "location"))
    var database: String = ProcessInfo.processInfo.environment["MAILROOM_DATABASE"] ?? "mailroom.sqlite"

    @Option(name: .long, help: ArgumentHelp("Where the secret key lives when MAILROOM_SECRET_KEY is not set (env MAILROOM_KEY_FILE; default: mailroom.key beside the SQLite file).", valueName: "path"))
    var keyFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (env LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "info"

    /// The level named by `--log-level` or `LOG_LEVEL` (also `warn` and `fatal`, as other programs sharing the
    /// variable spell them); nil for anything else, which ``validate()`` refuses.
    var level: Logger.Level? {
        switch logLevel.lowercased() {
        case "warn": .warning
        case "fatal": .critical
        case let name: Logger.Level(rawValue: name)
        }
    }

    func validate() throws {
        guard level != nil else {
            throw ValidationError("--log-level (or LOG_LEVEL) must be trace, debug, info, notice, warning, error or critical; got «\(logLevel)».")
        }
    }

    func makeLogger(label: String = "mailroom") -> Logger {
        LoggingBootstrap.once()
        var logger = Logger(label: label)
        logger.logLevel = level ?? .info
        return logger
    }

    func databaseURL() throws -> DatabaseURL {
        do {
            return try DatabaseURL(parsing: database)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// Opens the database, brings its schema up to date and runs `body`.
    func withStore<T: Sendable>(logger: Logger, _ body: @Sendable (SQLStore) async throws -> T) async throws -> T {
        let database = try await Database.open(try databaseURL(), logger: logger)
        return try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            return try await body(store)
        }
    }

    /// The key file in force: the option, else `MAILROOM_KEY_FILE`, else beside the SQLite file.
    func resolvedKeyFile() throws -> String {
        if let keyFile { return keyFile }
        if let path = ProcessInfo.processInfo.environment["MAILROOM_KEY_FILE"], !path.isEmpty { return path }
        return try KeyCheck.defaultKeyFile(for: databaseURL())
    }

    /// The secret key, checked against the database (which is migrated first): a missing or wrong key stops the
    /// command with what to do instead of making a new key.
    func loadVault(logger: Logger) async throws -> Vault {
        let keyFile = try resolvedKeyFile()
        let database = try await Database.open(try databaseURL(), logger: logger)
        do {
            return try await database.withRunning { database in
                let store = SQLStore(database: database)
                try await store.migrate()
                return try await KeyCheck.vault(store: store, environment: ProcessInfo.processInfo.environment, keyFile: keyFile, logger: logger)
            }
        } catch let error as VaultError {
            throw ValidationError(error.description)
        }
    }

    /// Secrets and mail cross the network to a database that is neither on this machine nor encrypted: say so.
    func warnIfDatabaseExposed(logger: Logger) throws {
        let url = try databaseURL()
        if url.crossesNetworkInTheClear, case .postgres(let host, _, _, _, _, _) = url {
            logger.warning("The PostgreSQL connection is not encrypted and not on this machine: mail, sessions and sealed secrets cross the network in the clear. Add ?sslmode=verify-full (or require) to the database URL.", metadata: ["host": "\(host)"])
        }
    }
}

/// Logs go to standard error, so `--json` output on standard output stays clean.
enum LoggingBootstrap {
    private static let done: Void = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }()
    static func once() { _ = done }
}
