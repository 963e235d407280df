import Foundation
import MailroomCore
@testable import Storage
import Testing

/// The hand-written JSON of a message's lists reads back as the lists, and is the text `JSONEncoder` wrote before it
/// (sorted keys, `/` left unescaped), so rows filed by either read alike.
@Suite struct JSONTextTests {
    static func encoded<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("Attachments, people and defects: the encoder's text, and back")
    func sameAsTheEncoder() throws {
        let attachments = [
            AttachmentInfo(index: 0, filename: #"a "b" \ c/d 北京 😀.pdf"#, contentType: "application/pdf", size: 9_876_543, isInline: false, contentID: nil),
            AttachmentInfo(index: 12, filename: "", contentType: "image/png", size: 0, isInline: true, contentID: "<x@y>"),
        ]
        let people = [Person(name: nil, email: "a@b.example"), Person(name: #"Q "u" \ o"#, email: "q@b.example")]
        let defects = ["Missing boundary", #"Bad "charset" \ x"#, ""]
        #expect(SQLStore.json(attachments) == (try Self.encoded(attachments)))
        #expect(SQLStore.json(people) == (try Self.encoded(people)))
        #expect(SQLStore.json(defects) == (try Self.encoded(defects)))
        #expect(try JSONDecoder().decode([AttachmentInfo].self, from: Data(SQLStore.json(attachments).utf8)) == attachments)
        #expect(try JSONDecoder().decode([String].self, from: Data(SQLStore.json(defects).utf8)) == defects)
        #expect(SQLStore.json([AttachmentInfo]()) == "[]" && SQLStore.json([String]()) == "[]")
    }

    @Test("Control characters are escaped, and read back")
    func controlCharacters() throws {
        let text = (0..<32).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\u{7F}"
        let json = SQLStore.json([text])
        #expect(!json.utf8.contains { $0 < 0x20 })
        #expect(try JSONDecoder().decode([String].self, from: Data(json.utf8)) == [text])
    }
}
