import ArgumentParser
import Storage

/// `mailroom migrate`: brings the schema up to date without starting the server.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or update the database schema.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let logger = global.makeLogger()
        let url = try global.databaseURL()
        let database = try await Database.open(url, logger: logger)
        let applied = try await database.withRunning { database in try await SQLStore(database: database).migrate() }
        print(applied.isEmpty ? "The database at \(url) is up to date." : "Applied migrations \(applied.map(String.init).joined(separator: ", ")) to \(url).")
    }
}
