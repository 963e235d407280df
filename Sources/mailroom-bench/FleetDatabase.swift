import Foundation
import LocalMailServers
import Logging
import Storage

/// Where a fleet's nodes keep their state: a SQLite file for one node, a private PostgreSQL cluster for several
/// (as the integration tests start it). Each has a second, empty database for the node that measures the
/// process's memory with zero mailboxes.
struct FleetDatabase {
    let url: String
    let emptyURL: String
    private let cluster: PostgresCluster?

    static func make(nodes: Int, folder: String) async throws -> FleetDatabase {
        guard nodes > 1 else {
            return FleetDatabase(url: "\(folder)/mailroom.sqlite", emptyURL: "\(folder)/empty.sqlite", cluster: nil)
        }
        let root = "\(folder)/postgres"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let cluster = try await PostgresCluster.start(in: root, port: try LoopbackPort.free())
        return FleetDatabase(url: try cluster.createDatabase("mailroom"), emptyURL: try cluster.createDatabase("empty"), cluster: cluster)
    }

    var kind: String { cluster == nil ? "SQLite" : "PostgreSQL" }

    /// Opens the fleet's database on the bench's own connection (or pool) and runs `body` with it.
    func withStore<T: Sendable>(logger: Logger, _ body: @Sendable (SQLStore) async throws -> T) async throws -> T {
        let database = try await Database.open(try DatabaseURL(parsing: url), logger: logger)
        return try await database.withRunning { database in
            let store = SQLStore(database: database)
            try await store.migrate()
            return try await body(store)
        }
    }

    func stop() { cluster?.stop() }
}
