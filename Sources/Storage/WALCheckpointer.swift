import Foundation
import Logging
import SQLiteKit

/// Copies SQLite's write-ahead log into the database file on a connection of its own, so that a commit never
/// waits for it: left to itself, SQLite checkpoints inside the commit that crosses the threshold, and filing mail
/// then spends a third of its time copying pages it has just written. Passive checkpoints neither block writers
/// nor readers; the writing connection keeps a far higher threshold of its own as a backstop.
actor WALCheckpointer {
    private let path: String
    private let logger: Logger
    private var connection: SQLiteConnection?
    private var running: Task<Void, Never>?
    private var again = false
    private var closed = false

    /// The log size past which a checkpoint is worth its syncs (SQLite's own default threshold: 1,000 pages).
    static let threshold = 4 << 20
    /// The writing connection's own threshold, for when this one falls behind (SQLite counts it in pages).
    static let backstopBytes = 64 << 20

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Called after a commit: starts a checkpoint when the log has grown past ``threshold``, unless one is running
    /// (which then looks again when it is done).
    func nudge() {
        guard !closed else { return }
        if running != nil {
            again = true
            return
        }
        running = Task { await self.work() }
    }

    private func work() async {
        repeat {
            again = false
            guard !closed, logSize() >= Self.threshold else { continue }
            do {
                let connection = try await open()
                _ = try await connection.sql(queryLogLevel: nil).raw("PRAGMA wal_checkpoint(PASSIVE)").first()
            } catch {
                // The writer's own threshold takes over; nothing is lost, the log only stays longer.
                logger.debug("Background WAL checkpoint failed", metadata: ["error": "\(error)"])
            }
        } while again && !closed
        running = nil
    }

    private func logSize() -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private func open() async throws -> SQLiteConnection {
        if let connection { return connection }
        let opened = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            try await opened.sql(queryLogLevel: nil).raw("PRAGMA busy_timeout = 5000").run()
        } catch {
            try? await opened.close()
            throw error
        }
        connection = opened
        return opened
    }

    /// Waits for a running checkpoint and closes the connection (SQLiteNIO traps on one dropped unclosed).
    func close() async {
        closed = true
        await running?.value
        try? await connection?.close()
        connection = nil
    }
}
