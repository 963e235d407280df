import MailroomCore
import NIOCore
import SQLKit
import SQLiteKit
import SQLiteNIO

/// A statement of filing's hot path: SQL written with `?` placeholders, and the values bound to them.
///
/// On SQLite's own connection the values go to the driver as they are. Through SQLKit each value is encoded
/// generically (dynamic casts and protocol look-ups per value): for the look-ups and ticket rows of every group that
/// was a quarter of the store's own work on SQLite. PostgreSQL still goes that way, each `?` becoming a bind.
struct BoundStatement {
    /// Our own SQL: its only `?` characters are the placeholders.
    var sql: String
    var values: [SQLStore.RowValue]

    init(_ sql: String, _ values: [SQLStore.RowValue]) {
        self.sql = sql
        self.values = values
    }

    /// `?, ?, …`: `count` placeholders for an `IN (…)` list or a row.
    static func placeholders(_ count: Int) -> String {
        count <= 0 ? "" : "?" + String(repeating: ", ?", count: count - 1)
    }

    /// Runs it on `sqlite` when filing has SQLite's connection, else through `sql`; returns the rows.
    func rows(sql database: any SQLDatabase, sqlite: SQLiteConnection?) async throws -> [any SQLRow] {
        if let sqlite {
            return try await sqlite.query(sql, values.map(\.sqliteData)).map { $0.sql() }
        }
        return try await database.raw(try query()).all()
    }

    /// Runs it for its effect.
    func run(sql database: any SQLDatabase, sqlite: SQLiteConnection?) async throws {
        if let sqlite {
            _ = try await sqlite.query(sql, values.map(\.sqliteData))
            return
        }
        try await database.raw(try query()).run()
    }

    /// The SQLKit form: each `?` replaced by its value's bind, a null by the literal `NULL` (PostgreSQL types a bound
    /// null by its Swift type, which an integer column refuses when it is a text null).
    func query() throws -> SQLQueryString {
        let pieces = sql.split(separator: "?", omittingEmptySubsequences: false)
        guard pieces.count == values.count + 1 else {
            throw StoreError.corrupt("A statement has \(pieces.count - 1) placeholders for \(values.count) values.")
        }
        var query = SQLQueryString(String(pieces[0]))
        for (value, piece) in zip(values, pieces.dropFirst()) {
            switch value {
            case .integer(let value): query.appendInterpolation(bind: value)
            case .text(let value): query.appendInterpolation(bind: value)
            case .blob(let value): query.appendInterpolation(bind: StoredBytes(value))
            case .null: query.appendLiteral("NULL")
            }
            query.appendLiteral(String(piece))
        }
        return query
    }
}

extension SQLStore.RowValue {
    /// The value as SQLite's driver takes it.
    var sqliteData: SQLiteData {
        switch self {
        case .integer(let value): .integer(SQLiteInt64(value))
        case .text(let value): .text(value)
        case .blob(let value): .blob(ByteBuffer(bytes: value))
        case .null: .null
        }
    }
}
