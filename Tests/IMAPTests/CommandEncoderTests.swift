import NIOCore
import Testing

@testable import IMAP

@Suite("CommandEncoder, UIDSet, ModifiedUTF7")
struct CommandEncoderTests {
    static func wire(_ command: EncodedCommand) -> [String] {
        command.parts.map { String(buffer: $0) }
    }

    @Test func tagsIncrement() throws {
        var encoder = CommandEncoder()
        #expect(try encoder.encode("NOOP").tag == "A1")
        #expect(Self.wire(try encoder.encode("CAPABILITY")) == ["A2 CAPABILITY\r\n"])
        #expect(encoder.nextTag == "A3")
    }

    @Test func quotingAndLiterals() throws {
        var encoder = CommandEncoder()
        let login = try encoder.encode("LOGIN", [.string("bench1"), .string("pa\"ss\\word")], sensitive: true)
        #expect(Self.wire(login) == ["A1 LOGIN \"bench1\" \"pa\\\"ss\\\\word\"\r\n"])
        #expect(!login.logDescription.contains("pa"))
        #expect(login.logDescription == "A1 LOGIN <redacted> <redacted>")

        // Non-ASCII or CR/LF in a string → synchronizing literal (two parts).
        let nonASCII = try encoder.encode("LOGIN", [.string("jürgen"), .string("a\r\nA9 DELETE INBOX")], sensitive: true)
        #expect(Self.wire(nonASCII) == ["A2 LOGIN {7}\r\n", "jürgen {18}\r\n", "a\r\nA9 DELETE INBOX\r\n"])

        encoder.literalPlus = true
        let plus = try encoder.encode("LOGIN", [.string("jürgen"), .string("pw")])
        #expect(Self.wire(plus) == ["A3 LOGIN {7+}\r\njürgen \"pw\"\r\n"])
        encoder.literalPlus = false
        encoder.literalMinus = true
        let minus = try encoder.encode("X", [.literal([UInt8](repeating: 0x41, count: 5000)), .literal([0x42])])
        #expect(minus.parts.count == 2)
        #expect(Self.wire(minus)[1].hasSuffix(" {1+}\r\nB\r\n"))
    }

    @Test func injectionRefused() throws {
        var encoder = CommandEncoder()
        #expect { try encoder.encode("UID SEARCH", [.raw("ALL\r\nA2 DELETE INBOX")]) } throws: { ($0 as? IMAPError)?.kind == .unsupported }
        #expect { try encoder.encode("NOOP\r\nX") } throws: { ($0 as? IMAPError)?.kind == .unsupported }
        #expect { try encoder.encode("LOGIN", [.string("a\0b")]) } throws: { ($0 as? IMAPError)?.kind == .unsupported }
        #expect(throws: IMAPError.self) { try CommandEncoder.line("abc\r\nA1 LOGOUT") }
        #expect(!IMAPClient.isValidFlag("\\Seen) (X"))
        #expect(IMAPClient.isValidFlag("\\Seen") && IMAPClient.isValidFlag("$Label1"))
    }

    @Test func uidSets() {
        #expect(UIDSet(uids: [7, 1, 2, 3, 4, 5, 9, 10, 3, 0]).description == "1:5,7,9:10")
        #expect(UIDSet([UIDRange(1...5), UIDRange(7), UIDRange(from: 9)]).description == "1:5,7,9:*")
        #expect(UIDSet.all.description == "1:*")
        #expect(UIDSet(uids: []).isEmpty)
        #expect(UIDSet(uids: [UInt32.max, UInt32.max - 1]).description == "4294967294:4294967295")
        let open = UIDSet(UIDRange(from: 101))
        #expect(open.contains(101) && open.contains(5000) && !open.contains(100))
        let literal: UIDSet = [3, 1, 2]
        #expect(literal.description == "1:3")
    }

    @Test(arguments: [
        ("INBOX", "INBOX"), ("Entwürfe", "Entw&APw-rfe"), ("A&B", "A&-B"), ("日本語", "&ZeVnLIqe-"),
        ("Support/Tickets ✓", "Support/Tickets &JxM-"), ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ])
    func modifiedUTF7(_ pair: (String, String)) {
        #expect(ModifiedUTF7.encode(pair.0) == pair.1)
        #expect(ModifiedUTF7.decode(pair.1) == pair.0)
    }

    @Test func errorDescriptionsCarryNoArguments() {
        let error = IMAPError(.authenticationFailed, code: .authenticationFailed, serverText: "Authentication failed.", command: "LOGIN")
        #expect(error.description == "IMAP authenticationFailed (LOGIN) [AUTHENTICATIONFAILED]: Authentication failed.")
    }
}
