import Foundation
import Testing
@testable import MIME

/// Input built to make the parser burn CPU or memory must cost time and space linear in its size.
@Suite struct HostileInputTests {
    static func multipart(boundary: String, body: String) -> [UInt8] {
        crlf("Content-Type: multipart/mixed; boundary=\"\(boundary)\"\n\n" + body)
    }

    @Test func boundaryOfSeventyCharactersSplits() {
        let b = String(repeating: "b", count: 70)
        let m = MessageParser.parse(Self.multipart(boundary: b, body: "--\(b)\nContent-Type: text/plain\n\nhello\n--\(b)--\n"))
        #expect(m.textBody == "hello")
        #expect(m.defects.isEmpty, "\(m.defects)")
    }

    @Test func boundaryLongerThanSeventyCharactersIsNoBoundary() {
        let b = String(repeating: "b", count: 71)
        let m = MessageParser.parse(Self.multipart(boundary: b, body: "--\(b)\nContent-Type: text/plain\n\nhello\n--\(b)--\n"))
        #expect(m.textBody?.hasPrefix("--\(b)") == true)
        #expect(m.defects.contains { $0.contains("longer than 70 characters") })
    }

    @Test func delimiterMatchesOnlyAtLineStart() {
        let m = MessageParser.parse(Self.multipart(boundary: "b", body: "--b\n\nfirst x--b\n --b\nstill first\n--b\n\nsecond\n--b--\n"))
        #expect(m.textBody == "first x--b\n --b\nstill first")
        #expect(m.attachments.map { String(decoding: $0.data, as: UTF8.self) } == ["second"])
    }

    @Test func hugeBoundaryOverBodyOfDashesIsQuick() {
        // Before the 70-character rule, every '-' of the body started a comparison as long as the boundary.
        let boundary = String(repeating: "-", count: 200_000)
        let body = String(repeating: String(repeating: "-", count: 1000) + "\n", count: 1000)
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = MessageParser.parse(Self.multipart(boundary: boundary, body: body)) }
        #expect(elapsed < .seconds(2))
    }

    @Test func nearMissDelimiterLinesAreQuick() {
        let b = String(repeating: "x", count: 70)
        let nearMiss = "--" + String(repeating: "x", count: 69) + "y\n"
        let body = String(repeating: nearMiss, count: 50_000) + "--\(b)--\n"
        let clock = ContinuousClock()
        var m = ParsedMessage()
        let elapsed = clock.measure { m = MessageParser.parse(Self.multipart(boundary: b, body: body)) }
        #expect(elapsed < .seconds(2))
        #expect(m.defects.contains { $0.contains("not found") } == false)
    }

    @Test func delimiterFloodKeepsOnlyTheAllowedParts() {
        let body = String(repeating: "--b\n", count: 100_000) + "--b--\n"
        let m = MessageParser.parse(Self.multipart(boundary: "b", body: body), limits: ParseLimits(maxParts: 50))
        #expect(m.attachments.count + (m.textBody == nil ? 0 : 1) <= 50)
        #expect(m.defects.contains("more than 50 MIME parts; remaining parts skipped"))
    }

    @Test func referencesAreDeduplicatedAndCapped() {
        let ids = (0..<5000).map { "<id\($0)@example.com>" }
        let raw = crlf("References: <root@example.com> " + ids.joined(separator: " ") + " <root@example.com> <id4999@example.com>\nSubject: x\n\nbody\n")
        let m = MessageParser.parse(raw)
        #expect(m.references.count == 100)
        #expect(m.references.first == "root@example.com")
        #expect(m.references.last == "id4999@example.com")
        #expect(m.references[1] == "id4901@example.com")
        #expect(Set(m.references).count == m.references.count)
        #expect(m.defects.contains { $0.contains("message ids in References") })
    }

    @Test func duplicateReferencesAcrossHeadersAreRemoved() {
        let m = MessageParser.parse(crlf("References: <a@x> <b@x>\nReferences: <b@x> <c@x> <a@x>\n\nbody\n"))
        #expect(m.references == ["a@x", "b@x", "c@x"])
        #expect(m.defects.isEmpty, "\(m.defects)")
    }

    @Test func inReplyToIsCappedToTheLatest() {
        let ids = (0..<1000).map { "<r\($0)@x>" }.joined(separator: "")
        let m = MessageParser.parse(crlf("In-Reply-To: \(ids)\n\nbody\n"), limits: ParseLimits(maxReferences: 10))
        #expect(m.inReplyTo == (990..<1000).map { "r\($0)@x" })
    }

    @Test func megabyteOfTinyIDsIsQuick() {
        let raw = crlf("References: " + String(repeating: "<a", count: 200_000) + "\nIn-Reply-To: " + String(repeating: "<b>", count: 150_000) + "\n\nx\n")
        let clock = ContinuousClock()
        var m = ParsedMessage()
        let elapsed = clock.measure { m = MessageParser.parse(raw) }
        #expect(elapsed < .seconds(3))
        #expect(m.inReplyTo == ["b"])
    }
}
