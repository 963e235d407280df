import Foundation
import MailroomTestSupport
import Testing

@testable import IMAP

@Suite("ResponseParser")
struct ResponseParserTests {
    // MARK: helpers

    static func parseWhole(_ text: String, limit: Int = 64 << 20) throws -> [Response] {
        var parser = ResponseParser(maxLiteralSize: limit)
        let responses = try parser.feed(Array(text.utf8))
        try parser.finish()
        return responses
    }

    static func parseByteByByte(_ text: String) throws -> [Response] {
        var parser = ResponseParser()
        var responses: [Response] = []
        for byte in text.utf8 { responses += try parser.feed([byte]) }
        try parser.finish()
        return responses
    }

    static func parseRandomChunks(_ text: String, seed: UInt64) throws -> [Response] {
        var generator = SplitMix(seed: seed)
        var parser = ResponseParser()
        var responses: [Response] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let size = Int(generator.next() % 97) + 1
            let end = min(bytes.count, index + size)
            responses += try parser.feed(Array(bytes[index..<end]))
            index = end
        }
        try parser.finish()
        return responses
    }

    static func assertSameInAllChunkings(_ text: String) throws -> [Response] {
        let whole = try parseWhole(text)
        #expect(try parseByteByByte(text) == whole)
        for seed in 1...5 as ClosedRange<UInt64> {
            #expect(try parseRandomChunks(text, seed: seed) == whole)
        }
        return whole
    }

    // MARK: transcripts

    @Test func dovecotTranscript() throws {
        let responses = try Self.assertSameInAllChunkings(Transcripts.dovecot)
        #expect(responses.count == 19)
        guard case .untagged(.status(let greeting)) = responses[0], case .capability(let caps)? = greeting.code else {
            Issue.record("greeting")
            return
        }
        #expect(caps.contains("AUTH=PLAIN") && caps.contains("STARTTLS"))
        #expect(greeting.text == "Dovecot (Debian) ready.")
        guard case .tagged(let login) = responses[1], case .capability(let postCaps)? = login.status.code else {
            Issue.record("login")
            return
        }
        #expect(login.tag == "A1" && postCaps.contains("UIDPLUS"))
        #expect(responses[2] == .untagged(.flags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"])))
        #expect(responses[3] == .untagged(.status(StatusResponse(kind: .ok, code: .permanentFlags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*"]), text: "Flags permitted."))))
        #expect(responses[4] == .untagged(.exists(300)))
        #expect(responses[5] == .untagged(.recent(0)))
        #expect(responses[7] == .untagged(.status(StatusResponse(kind: .ok, code: .uidValidity(1_795_967_017), text: "UIDs valid"))))
        #expect(responses[8] == .untagged(.status(StatusResponse(kind: .ok, code: .uidNext(301), text: "Predicted next UID"))))
        #expect(responses[9] == .untagged(.status(StatusResponse(kind: .ok, code: .highestModSeq(2), text: "Highest"))))
        #expect(responses[10] == .tagged(TaggedResponse(tag: "A2", status: StatusResponse(kind: .ok, code: .readWrite, text: "Select completed (0.001 + 0.000 secs)."))))
        #expect(responses[11] == .untagged(.search([1, 2, 3, 299, 300])))
        guard case .untagged(.fetch(let seq, let message)) = responses[13] else {
            Issue.record("fetch")
            return
        }
        #expect(seq == 1 && message.uid == 1 && message.flags == ["\\Seen"])
        #expect(message.body == Array(Transcripts.body1.utf8))
        #expect(message.size == Transcripts.body1.utf8.count)
        #expect(message.internalDate == Date(timeIntervalSince1970: 837_596_665))
        #expect(responses[14] == .untagged(.exists(301)))
        guard case .untagged(.fetch(2, let second)) = responses[15] else {
            Issue.record("fetch 2")
            return
        }
        #expect(second.flags == [] && second.body == Array(Transcripts.body2.utf8))
        #expect(second.internalDate == Date(timeIntervalSince1970: 1_704_671_999))
        #expect(responses[17] == .untagged(.status(StatusResponse(kind: .bye, code: nil, text: "Logging out"))))
    }

    @Test func gmailTranscript() throws {
        let responses = try Self.assertSameInAllChunkings(Transcripts.gmail)
        #expect(responses.count == 17)
        guard case .untagged(.capability(let caps)) = responses[1] else {
            Issue.record("caps")
            return
        }
        #expect(caps.contains("X-GM-EXT-1") && caps.contains("AUTH=XOAUTH2"))
        #expect(responses[3] == .continuation("eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="))
        #expect(responses[4] == .tagged(TaggedResponse(tag: "A2", status: StatusResponse(kind: .no, code: .authenticationFailed, text: "Invalid credentials (Failure)"))))
        #expect(responses[13] == .untagged(.status(StatusResponse(kind: .ok, code: .highestModSeq(1_234_567), text: ""))))
        guard case .untagged(.fetch(12, let message)) = responses[15] else {
            Issue.record("fetch")
            return
        }
        #expect(message.uid == 4241 && message.modSeq == 1_234_567 && message.flags == ["\\Seen"])
        #expect(message.body == Array(Transcripts.body2.utf8))
    }

    @Test func exchangeTranscript() throws {
        let responses = try Self.assertSameInAllChunkings(Transcripts.exchange)
        #expect(responses.count == 7)
        guard case .untagged(.status(let greeting)) = responses[0] else {
            Issue.record("greeting")
            return
        }
        #expect(greeting.code == nil && greeting.text.hasPrefix("The Microsoft Exchange IMAP4 service is ready."))
        #expect(responses[3] == .tagged(TaggedResponse(tag: "A2", status: StatusResponse(kind: .no, code: nil, text: "AUTHENTICATE failed."))))
        #expect(responses[5] == .tagged(TaggedResponse(tag: "A4", status: StatusResponse(kind: .bad, code: nil, text: "User is authenticated but not connected."))))
        #expect(responses[6] == .untagged(.status(StatusResponse(kind: .bye, code: nil, text: "Connection closed. 14"))))
    }

    @Test func rfc5530CodesAndUnknownResponses() throws {
        let text = "A1 NO [UNAVAILABLE] Temporary authentication failure.\r\n"
            + "A2 NO [EXPIRED] Password expired\r\n"
            + "A3 NO [CONTACTADMIN] Account disabled\r\n"
            + "A4 NO [PRIVACYREQUIRED] TLS first\r\n"
            + "A5 OK [APPENDUID 38505 3955] APPEND completed\r\n"
            + "A6 OK [X-WEIRD some args] hi\r\n"
            + "* LIST (\\HasNoChildren) \"/\" {5}\r\nSent!\r\n"
            + "* ENABLED CONDSTORE\r\n"
            + "A7 OK\r\n"
            + "* 3 EXPUNGE\r\n"
            + "\r\n"
            + "+\r\n"
        let responses = try Self.assertSameInAllChunkings(text)
        let codes = responses.compactMap { response -> ResponseCode? in
            if case .tagged(let t) = response { return t.status.code }
            return nil
        }
        #expect(codes == [.unavailable, .expired, .contactAdmin, .privacyRequired, .appendUID(uidValidity: 38505, uid: "3955"), .other("X-WEIRD some args")])
        #expect(responses[6] == .untagged(.other(name: "LIST", text: "(\\HasNoChildren) \"/\" {5}")))
        #expect(responses[8] == .tagged(TaggedResponse(tag: "A7", status: StatusResponse(kind: .ok, code: nil, text: ""))))
        #expect(responses[9] == .untagged(.expunge(3)))
        #expect(responses[10] == .continuation(""))
    }

    @Test func fetchBodyLiteralIsReservedOnce() throws {
        let body = String(repeating: "x", count: 300_000)
        var parser = ResponseParser()
        let header = "* 1 FETCH (UID 9 BODY[] {\(body.utf8.count)}\r\n"
        _ = try parser.feed(Array(header.utf8))
        let responses = try parser.feed(Array((body + ")\r\n").utf8))
        guard case .untagged(.fetch(_, let message))? = responses.first, let received = message.body else {
            Issue.record("no body")
            return
        }
        #expect(received.count == 300_000)
        #expect(received.capacity < 330_000)  // reserved up front (malloc rounding aside), no doubling growth
    }

    // MARK: hostile input

    @Test func truncatedLiteralThenEOF() throws {
        var parser = ResponseParser()
        _ = try parser.feed(Array("* 1 FETCH (UID 1 BODY[] {100}\r\nonly a little".utf8))
        #expect(parser.hasPartialResponse)
        #expect { try parser.finish() } throws: { ($0 as? IMAPError)?.kind == .connectionClosed }
    }

    @Test func enormousLiteralIsRejectedBeforeAllocation() throws {
        #expect { try Self.parseWhole("* 1 FETCH (BODY[] {99999999999}\r\n") } throws: { ($0 as? IMAPError)?.kind == .literalTooLarge }
        #expect { try Self.parseWhole("* 1 FETCH (BODY[] {99999999999999999999999999999}\r\n") } throws: { ($0 as? IMAPError)?.kind == .literalTooLarge }
        #expect { try Self.parseWhole("* 1 FETCH (BODY[] {2049}\r\n", limit: 2048) } throws: { ($0 as? IMAPError)?.kind == .literalTooLarge }
    }

    @Test func longLineWithoutCRLF() throws {
        var parser = ResponseParser()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 10)
        _ = try parser.feed(Array("* OK ".utf8))
        var thrown: IMAPError?
        for _ in 0..<32 {  // 2 MiB
            do { _ = try parser.feed(chunk) } catch {
                thrown = error as? IMAPError
                break
            }
        }
        #expect(thrown?.kind == .lineTooLong)
        // Sticky: later input fails the same way.
        #expect { try parser.feed(Array("\r\n".utf8)) } throws: { ($0 as? IMAPError)?.kind == .lineTooLong }
        // One 2 MB chunk at once is refused before being copied.
        var fresh = ResponseParser()
        #expect { try fresh.feed([UInt8](repeating: 0x41, count: 2 << 20)) } throws: { ($0 as? IMAPError)?.kind == .lineTooLong }
    }

    @Test(arguments: [
        "hello world\r\n",
        "* 1 FETCH (UID 1 BODY[] NIL\r\n",  // unbalanced paren
        "* 1 FETCH (UID 1))\r\n",
        "* 1 FETCH (UID -5)\r\n",
        "* 99999999999 EXISTS\r\n",
        "* 1 FETCH (UID 99999999999999999999999)\r\n",
        "* OK [UIDVALIDITY 4294967296] too big\r\n",
        "* OK [UIDVALIDITY x] bad\r\n",
        "A1 MAYBE whatever\r\n",
        "* 1 FETCH (FLAGS (\\Seen (nested)))\r\n",
        "* 1 FETCH (BODY[] \"unterminated)\r\n",
        "*\r\n",
        "* 1 FETCH (BODY[HEADER {3}\r\nabc)\r\n",
        "A1 OK [UNCLOSED code\r\n",
    ])
    func garbageIsAProtocolViolation(_ text: String) throws {
        #expect { try Self.parseWhole(text) } throws: { ($0 as? IMAPError)?.kind == .protocolViolation }
    }

    @Test func nulBytesAreRejected() throws {
        var parser = ResponseParser()
        #expect { try parser.feed(Array("* OK hi\u{0}there\r\n".utf8)) } throws: { ($0 as? IMAPError)?.kind == .protocolViolation }
        // NUL inside a literal is data, not syntax.
        var literalParser = ResponseParser()
        let responses = try literalParser.feed([UInt8]("* 1 FETCH (UID 1 BODY[] {3}\r\n".utf8) + [0x61, 0x00, 0x62] + [UInt8](")\r\n".utf8))
        guard case .untagged(.fetch(_, let message))? = responses.first else {
            Issue.record("no fetch")
            return
        }
        #expect(message.body == [0x61, 0x00, 0x62])
    }

    @Test func skipsUnknownFetchItemsWithNestedListsAndLiterals() throws {
        let text = "* 5 FETCH (UID 7 ENVELOPE (\"date\" {4}\r\nsubj ((\"A\" NIL \"a\" \"x.org\")) NIL) BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) BODY[HEADER.FIELDS (FROM SUBJECT)] {2}\r\nhi BODY[]<0> {3}\r\nabc)\r\n"
        let responses = try Self.assertSameInAllChunkings(text)
        guard case .untagged(.fetch(5, let message))? = responses.first else {
            Issue.record("no fetch")
            return
        }
        #expect(message.uid == 7 && message.body == Array("abc".utf8))
    }
}
