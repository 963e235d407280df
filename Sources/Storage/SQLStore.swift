import Foundation
import Logging
import MailroomCore
import SQLKit

/// The Store on SQL: the same queries on SQLite and PostgreSQL. The only module that writes SQL.
public struct SQLStore: MailroomStore, StoreProbe {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// A trivial query: proves the database answers (for `/healthz`).
    public func ping() async throws {
        try await database.withSQL { sql in _ = try await sql.raw("SELECT 1 AS one").first() }
    }

    /// Brings the schema up to date; returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [Int] { try await Migrations.run(on: database) }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Most emails have no Cc, attachments or defects: an empty list needs no encoder.
    static func json<T: Encodable>(_ value: [T]) -> String {
        value.isEmpty ? "[]" : json(value as any Encodable)
    }

    static func json(_ value: any Encodable) -> String {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

extension SQLRow {
    func int64(_ column: String) throws -> Int64 { try decode(column: column, as: Int64.self) }
    func optionalInt64(_ column: String) throws -> Int64? { try decode(column: column, as: Int64?.self) }
    func string(_ column: String) throws -> String { try decode(column: column, as: String.self) }
    func optionalString(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }
    func date(_ column: String) throws -> Date { Millis.date(try int64(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInt64(column).map(Millis.date) }
    func bytes(_ column: String) throws -> [UInt8] { Array(try decode(column: column, as: Data.self)) }
    func optionalBytes(_ column: String) throws -> [UInt8]? { try decode(column: column, as: Data?.self).map(Array.init) }
}
