import Foundation
import Logging
import MailroomTestSupport
import Testing

@testable import IMAP

/// A server cannot make the client hold more and more memory: every response, and everything one
/// command collects, is bounded.
@Suite("IMAP memory bounds", .timeLimit(.minutes(1)))
struct BoundedMemoryTests {
    @Test func endlessEmptyLiteralsFailTheResponse() throws {
        var parser = ResponseParser()
        let flood = [UInt8](String(repeating: "{0}\r\n", count: 10_000).utf8)
        var thrown: IMAPError?
        do {
            _ = try parser.feed(Array("* 1 FETCH (BODY[] ".utf8))
            for _ in 0..<100 { _ = try parser.feed(flood) }
        } catch {
            thrown = error as? IMAPError
        }
        #expect(thrown?.kind == .protocolViolation)
        #expect(thrown?.detail == "response with more than 1000 literals")
    }

    @Test func lineTextIsBoundedAcrossLiterals() throws {
        // Each segment is short, but together they exceed the response's line limit.
        var parser = ResponseParser(maxLineLength: 1000, maxLiterals: .max)
        let segment = [UInt8](("x " + String(repeating: "a", count: 90) + " {1}\r\nz").utf8)
        var thrown: IMAPError?
        do {
            _ = try parser.feed(Array("* 1 FETCH (".utf8))
            for _ in 0..<100 { _ = try parser.feed(segment) }
        } catch {
            thrown = error as? IMAPError
        }
        #expect(thrown?.kind == .lineTooLong)
    }

    @Test func literalsWithinTheLimitsStillParse() throws {
        var parser = ResponseParser(maxLineLength: 100, maxLiterals: 3)
        let responses = try parser.feed(Array("* 1 FETCH (BODY[1] {0}\r\n BODY[2] {0}\r\n BODY[] {2}\r\nhi UID 5)\r\n".utf8))
        guard case .untagged(.fetch(1, let attributes)) = responses.first else {
            Issue.record("not a FETCH: \(responses)")
            return
        }
        #expect(attributes.body == Array("hi".utf8))
        #expect(attributes.uid == 5)
    }

    @Test func bodiesWithoutUIDsAreRefusedAfterAFew() throws {
        let stream = FetchStream(set: UIDSet(UIDRange(from: 1)))
        var attributes = MessageAttributes()
        attributes.body = [UInt8](repeating: 0x41, count: 1000)
        for sequence in 1...UInt32(FetchStream.maxBodiesWithoutUID) {
            #expect(try stream.absorb(sequence: sequence, attributes) == nil)
        }
        #expect(throws: IMAPError.self) { try stream.absorb(sequence: 100, attributes) }
        // The UID for a held body completes it and frees its slot.
        var uid = MessageAttributes()
        uid.uid = 7
        #expect(try stream.absorb(sequence: 1, uid)?.uid == 7)
        #expect(try stream.absorb(sequence: 101, attributes) == nil)
    }

    @Test func aRepeatedUIDIsDeliveredOnce() throws {
        let stream = FetchStream(set: UIDSet(UIDRange(from: 1)))
        var attributes = MessageAttributes()
        attributes.uid = 3
        attributes.body = Array("x".utf8)
        #expect(try stream.absorb(sequence: 1, attributes)?.uid == 3)
        #expect(try stream.absorb(sequence: 1, attributes) == nil)
        #expect(try stream.absorb(sequence: 2, attributes) == nil)
    }

    @Test func endlessUntaggedLinesFailTheCommand() async throws {
        let flood = String(repeating: "* OK still thinking\r\n", count: 2000)
        let fake = try ScriptedLineServer.imap(script: { line in
            let (tag, rest) = splitTag(line)
            if rest.uppercased().hasPrefix("LOGOUT") { return [.send("\(tag) OK bye\r\n"), .close] }
            return Array(repeating: .send(flood), count: 5) + [.send("\(tag) OK done\r\n")]
        })
        let client = try await IMAPClient.connect(to: IMAPClientTests.server(fake), logger: IMAPClientTests.logger)
        await client.limitUntaggedData(toBytes: 64 << 10)
        let error = await #expect(throws: IMAPError.self) { try await client.noop() }
        #expect(error?.kind == .protocolViolation)
        #expect(error?.command == "NOOP")
        #expect(error?.detail == "more than 65536 bytes of untagged responses to one command")
    }
}

/// Found by the FuzzIMAP fuzzer: a NUL in an over-long line gave `.protocolViolation` when the bytes
/// came in small chunks but `.lineTooLong` when they came at once.
@Suite("IMAP errors do not depend on chunking")
struct ChunkingIndependenceTests {
    static func kind(_ bytes: [UInt8], chunk: Int) -> IMAPError.Kind? {
        var parser = ResponseParser(maxLineLength: 100)
        do {
            var start = 0
            while start < bytes.count {
                _ = try parser.feed(Array(bytes[start..<min(start + chunk, bytes.count)]))
                start += chunk
            }
            try parser.finish()
            return nil
        } catch {
            return (error as? IMAPError)?.kind
        }
    }

    @Test(arguments: [10, 150])
    func nulInAnOverlongLine(at position: Int) {
        var line = [UInt8](repeating: UInt8(ascii: "a"), count: 300)
        line.replaceSubrange(0..<5, with: Array("* OK ".utf8))
        line[position] = 0
        line += Array("\r\n".utf8)
        let expected: IMAPError.Kind = position < 100 ? .protocolViolation : .lineTooLong
        for chunk in [1, 7, 64, line.count] {
            #expect(Self.kind(line, chunk: chunk) == expected, "chunk \(chunk)")
        }
    }
}
