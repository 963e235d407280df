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
    func rows(sql database: any SQLDatabase, sqlite: SQLiteConnection?) async throws -> [FilingRow] {
        if let sqlite {
            return try await sqlite.query(sql, values.map(\.sqliteData)).map(FilingRow.init)
        }
        return try await database.raw(try query()).all().map(FilingRow.init)
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

/// A row of one of filing's statements. SQLite's own rows are read directly: SQLKit decodes each column through
/// `Decodable`, which was most of reading the look-ups' rows on the task threads. Other rows go through SQLKit.
struct FilingRow {
    private enum Backing {
        case sqlite(SQLiteRow)
        case sqlKit(any SQLRow)
    }

    private let backing: Backing

    init(_ row: SQLiteRow) { backing = .sqlite(row) }
    init(_ row: any SQLRow) { backing = .sqlKit(row) }

    /// As SQLKit reads them: text from text (or a number, as SQLiteKit converts it), an integer only from an integer.
    func string(_ column: String) throws -> String {
        switch backing {
        case .sqlite(let row): return try Self.required(try Self.data(row, column).string, column, "text")
        case .sqlKit(let row): return try row.string(column)
        }
    }

    func optionalString(_ column: String) throws -> String? {
        switch backing {
        case .sqlite(let row):
            let data = try Self.data(row, column)
            return data == .null ? nil : try Self.required(data.string, column, "text")
        case .sqlKit(let row): return try row.optionalString(column)
        }
    }

    func int64(_ column: String) throws -> Int64 {
        switch backing {
        case .sqlite(let row): return try Self.integer(try Self.data(row, column), column)
        case .sqlKit(let row): return try row.int64(column)
        }
    }

    func optionalInt64(_ column: String) throws -> Int64? {
        switch backing {
        case .sqlite(let row):
            let data = try Self.data(row, column)
            return data == .null ? nil : try Self.integer(data, column)
        case .sqlKit(let row): return try row.optionalInt64(column)
        }
    }

    private static func data(_ row: SQLiteRow, _ column: String) throws -> SQLiteData {
        guard let data = row.column(column) else { throw StoreError.corrupt("A row has no column «\(column)».") }
        return data
    }

    /// Never converted from text or a real, which SQLKit refuses too (and a real out of range would trap).
    private static func integer(_ data: SQLiteData, _ column: String) throws -> Int64 {
        guard case .integer(let value) = data else { throw StoreError.corrupt("The column «\(column)» does not hold an integer.") }
        return Int64(value)
    }

    private static func required<T>(_ value: T?, _ column: String, _ kind: String) throws -> T {
        guard let value else { throw StoreError.corrupt("The column «\(column)» does not hold \(kind).") }
        return value
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
