import Foundation
import Logging
import MailroomTestSupport
import MailroomCore
import SQLKit
@testable import Storage
import Testing

/// Filing reads its look-ups' rows straight from SQLite's own rows (`FilingRow`); they must read as SQLKit's did,
/// and a value of the wrong kind must be a corrupt store, not a conversion or a trap.
@Suite struct FilingRowTests {
    @Test("Text, integers and nulls read as stored; numeric text, a real, a real past Int64 and a missing column are errors")
    func readsAsSQLKitDid() async throws {
        let path = try TestPaths.temporaryDirectory("filing-row").appendingPathComponent("mailroom.sqlite").path
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try await Database.open(try DatabaseURL(parsing: path), logger: logger)
        do {
            try await Self.check(database)
        } catch {
            await database.close()
            throw error
        }
        await database.close()  // SQLiteNIO traps on a connection dropped unclosed
    }

    private static func check(_ database: Database) async throws {
        try await database.transactionWithDriver(.deferred) { sql, sqlite in
            #expect(sqlite != nil, "SQLite's own connection, so the direct path is the one tested")
            let rows = try await BoundStatement(
                "SELECT ? AS t, ? AS n, NULL AS z, '12' AS numeric, 3.7 AS real, 1e19 AS big", [.text("café"), .integer(-42)]
            ).rows(sql: sql, sqlite: sqlite)
            let row = try #require(rows.first)
            #expect(try row.string("t") == "café")
            #expect(try row.optionalString("t") == "café")
            #expect(try row.int64("n") == -42)
            #expect(try row.optionalInt64("n") == -42)
            #expect(try row.optionalString("z") == nil)
            #expect(try row.optionalInt64("z") == nil)
            #expect(try row.string("n") == "-42", "a number read as text, as SQLiteKit converts it")
            for column in ["numeric", "real", "big", "t", "z"] {
                #expect(throws: StoreError.self, "\(column) as an integer") { try row.int64(column) }
            }
            #expect(throws: StoreError.self) { try row.string("z") }
            #expect(throws: StoreError.self) { try row.string("absent") }
            #expect(throws: StoreError.self) { try row.optionalInt64("absent") }
        }
    }
}
