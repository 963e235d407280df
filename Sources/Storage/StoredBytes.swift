import Foundation
import NIOCore
import PostgresNIO
import SQLiteNIO

/// A message's raw bytes as a statement parameter, copied once into the driver's own buffer. Bound as `Data`, both
/// SQLiteKit and PostgresKit made a further copy, and filing a 25 MB message held five times its size.
struct StoredBytes: Encodable, Sendable, SQLiteDataConvertible, PostgresNonThrowingEncodable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    init?(sqliteData: SQLiteData) {
        guard case .blob(let buffer) = sqliteData else { return nil }
        bytes = Array(buffer: buffer)
    }

    var sqliteData: SQLiteData? { .blob(ByteBuffer(bytes: bytes)) }

    static var psqlType: PostgresDataType { .bytea }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeBytes(bytes)
    }

    /// Only for an encoder that knows neither driver.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Data(bytes))
    }
}
