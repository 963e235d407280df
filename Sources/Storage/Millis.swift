import Foundation

/// Timestamps as stored: milliseconds since 1970 in a BIGINT, identical on SQLite and PostgreSQL.
enum Millis {
    static var now: Int64 { from(Date()) }
    static func from(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}
