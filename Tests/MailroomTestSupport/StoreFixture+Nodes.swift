import Foundation
import Storage

extension StoreFixture {
    /// Another `mailroom serve` on the same database: its own connections and Store, the same key. On PostgreSQL,
    /// what two nodes behind one load balancer share.
    public func anotherNode() async throws -> StoreFixture {
        let database = try await Database.open(try DatabaseURL(parsing: databaseURL), logger: logger)
        Task { try? await database.run() }
        return StoreFixture(store: SQLStore(database: database), vault: vault, databaseURL: databaseURL, logger: logger)
    }
}
