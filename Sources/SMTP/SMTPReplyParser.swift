/// Turns bytes from the server into ``SMTPReply`` values. A pure value type: no I/O, fed any chunking.
///
/// Accepts lines ending in CRLF (and, leniently, a bare LF). A reply is one or more lines
/// `NNN-text` ended by `NNN text` or `NNN`; every line must carry the same code. Anything else is
/// a ``SMTPError/Kind/protocolViolation``; a line longer than ``maxLineLength`` fails with
/// ``SMTPError/Kind/lineTooLong`` before it is buffered in full.
public struct SMTPReplyParser: Sendable {
    /// RFC 5321 allows 512 octets per reply line; we accept far more from real servers, but not without bound.
    public static let defaultMaxLineLength = 8192
    /// Generous for EHLO (Postfix sends about a dozen lines; Exchange about twenty).
    public static let defaultMaxLines = 256

    /// Longest accepted line, CRLF included.
    public let maxLineLength: Int
    /// Most lines accepted in one reply.
    public let maxLines: Int

    private var line: [UInt8] = []
    private var code: Int?
    private var lines: [String] = []

    /// Creates a parser.
    public init(maxLineLength: Int = Self.defaultMaxLineLength, maxLines: Int = Self.defaultMaxLines) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
    }

    /// `true` while part of a reply (an unfinished line or the first lines of a multiline reply) is buffered.
    public var hasPartialReply: Bool { !self.line.isEmpty || self.code != nil }

    /// Feeds bytes; appends every reply they complete to `replies`.
    public mutating func feed(_ bytes: some Sequence<UInt8>, into replies: inout [SMTPReply]) throws(SMTPError) {
        for byte in bytes {
            if byte == 0x0A {
                if self.line.last == 0x0D { self.line.removeLast() }
                let line = self.line
                self.line.removeAll(keepingCapacity: true)
                if let reply = try self.complete(line) { replies.append(reply) }
            } else {
                // +1: the CR that may still come before the LF counts against the limit too.
                guard self.line.count + 1 < self.maxLineLength else {
                    throw SMTPError(.lineTooLong, detail: "reply line longer than \(self.maxLineLength) bytes")
                }
                self.line.append(byte)
            }
        }
    }

    /// Convenience: feeds bytes and returns the replies they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(SMTPError) -> [SMTPReply] {
        var replies: [SMTPReply] = []
        try self.feed(bytes, into: &replies)
        return replies
    }

    /// Call at end of input: throws if a reply was cut off.
    public func finish() throws(SMTPError) {
        if self.hasPartialReply {
            throw SMTPError(.connectionClosed, detail: "server closed the connection in the middle of a reply")
        }
    }

    private mutating func complete(_ line: [UInt8]) throws(SMTPError) -> SMTPReply? {
        guard line.count >= 3,
              (0x32...0x35).contains(line[0]), (0x30...0x35).contains(line[1]), (0x30...0x39).contains(line[2])
        else {
            throw SMTPError(.protocolViolation, detail: "malformed reply line (no reply code)")
        }
        let code = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
        let last: Bool
        if line.count == 3 {
            last = true
        } else if line[3] == 0x20 {
            last = true
        } else if line[3] == 0x2D {
            last = false
        } else {
            throw SMTPError(.protocolViolation, detail: "malformed reply line (code not followed by space or hyphen)")
        }
        if let expected = self.code, expected != code {
            throw SMTPError(.protocolViolation, detail: "multiline reply changed its code from \(expected) to \(code)")
        }
        guard self.lines.count < self.maxLines else {
            throw SMTPError(.protocolViolation, detail: "reply has more than \(self.maxLines) lines")
        }
        self.lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        guard last else {
            self.code = code
            return nil
        }
        let reply = SMTPReply(code: code, lines: self.lines)
        self.code = nil
        self.lines = []
        return reply
    }
}
