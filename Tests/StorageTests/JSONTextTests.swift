import Foundation
import MailroomCore
import MailroomTestSupport
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

    /// Filing reads the addresses of To and Cc lists without the decoder where the text is plainly ours; whatever the
    /// text, the addresses must be the decoder's.
    @Test("Addresses read from people's JSON are the decoder's, for any text")
    func addressesAsTheDecoderReadsThem() throws {
        var random = SplitMix(seed: 0x5EED)
        let pieces = ["a", "b@c.example", "Ann", " ", "\"", "\\", "/", "é", "北京", "😀", "\u{1}", "\t", ",", "{", "}", "[", "]", ":"]
        func text() -> String { (0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "" }.joined() }
        var plain = 0
        for _ in 0..<3_000 {
            let people = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                Person(name: Bool.random(using: &random) ? nil : text(), email: text())
            }
            let expected = people.map(\.email)
            // Ours, and the encoder's (which escapes `/`).
            for json in [SQLStore.json(people), String(decoding: try JSONEncoder().encode(people), as: UTF8.self)] {
                #expect(SQLStore.addresses(inPeopleJSON: json) == expected, "\(json)")
                if let fast = SQLStore.plainAddresses(json) {
                    plain += 1
                    #expect(fast == expected, "\(json)")
                }
            }
        }
        #expect(plain > 1_000, "the plain path must carry most lists")
        // Other spellings of people's JSON, and text that is not: the fast path answers as the decoder or not at all.
        let odd = [
            "[]", " []", "[] ", "[{}]", #"[{"email":"a@b"}]"#, #"[ {"email":"a@b"} ]"#, #"[{"email": "a@b"}]"#, #"[{"name":"N","email":"a@b"}]"#,
            #"[{"email":"a@b","name":null}]"#, #"[{"email":"a@b","name":"N","extra":1}]"#, #"[{"email":"a@b"},]"#, #"[{"email":"a@b"}"#,
            #"[{"email":"a@b"}]x"#, #"[{"email":"a\u0040b"}]"#, #"[{"email":"a@b","name":"x\"y"}]"#, #"{"email":"a@b"}"#, "", "[",
            #"[{"email":"a@b"}{"email":"c@d"}]"#, #"[{"email":"a@b"},{"email":"c@d","name":""}]"#, #"[{"email":""}]"#,
        ]
        for json in odd {
            let decoded = (try? JSONDecoder().decode([Person].self, from: Data(json.utf8)))?.map(\.email)
            #expect(SQLStore.addresses(inPeopleJSON: json) == decoded ?? [], "\(json)")
            if let fast = SQLStore.plainAddresses(json) { #expect(fast == decoded, "\(json)") }
        }
    }
}
