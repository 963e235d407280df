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

    /// An email's To or Cc list, written by hand: `JSONEncoder` took 3.5% of the time spent preparing and filing
    /// mail. The text is what it writes with sorted keys (an absent name is left out), except that `/` is not escaped.
    static func json(_ people: [Person]) -> String {
        guard !people.isEmpty else { return "[]" }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, person) in people.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"email":"#.utf8
            appendJSONString(person.email, to: &out)
            if let name = person.name {
                out += #","name":"#.utf8
                appendJSONString(name, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped, the rest as UTF-8.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20:
                out += Array(#"\u00"#.utf8) + Array(Hex.lowercase([byte]).utf8)
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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
