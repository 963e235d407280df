import Foundation
import NIOCore

/// Incremental, byte-level IMAP response parser.
///
/// Feed it network chunks of any size; it returns every response completed by that chunk.
/// It is a pure value type (no I/O) so it can be tested with recorded transcripts, mirroring
/// swift-nio-imap's split between parser and channel handler.
///
/// Framing works on two kinds of input:
/// - *line text* (everything outside literals) is scanned with `memchr` for LF and kept until the
///   response is complete; each line segment is capped by `maxLineLength`;
/// - *literals* `{n}` are copied straight from the incoming chunk into an array reserved for
///   exactly `n` bytes (one copy, no regrowth); `n` is checked against `maxLiteralSize` before
///   anything is allocated.
///
/// One response's memory is bounded whatever the server sends: its line text *in total* (all segments
/// between literals) by `maxLineLength`, its literal count by `maxLiterals`, and its literal bytes by
/// `maxLiteralSize` plus `maxLineLength`; so a stream of `{0}` literals cannot grow a response forever.
///
/// Errors are sticky: after a throw, every later call throws the same error.
struct ResponseParser {
    /// Upper bound of a single literal.
    let maxLiteralSize: Int
    /// Upper bound of the line text of one response (everything but literal contents), CRLFs excluded.
    let maxLineLength: Int
    /// Upper bound of the number of literals in one response.
    let maxLiterals: Int

    private enum Mode {
        case line
        case literal(remaining: Int)
    }

    private var mode = Mode.line
    /// Non-literal bytes of the response being assembled, literal headers and CRLFs included.
    private var text: [UInt8] = []
    /// Start in `text` of the line segment currently being scanned.
    private var segmentStart = 0
    /// Completed literals of the current response, in order.
    private var literals: [[UInt8]] = []
    private var currentLiteral: [UInt8] = []
    /// Literal bytes accepted for the current response (bounds many-literal responses).
    private var literalBytesInResponse = 0
    private var failure: IMAPError?

    init(maxLiteralSize: Int = 64 << 20, maxLineLength: Int = 1 << 20, maxLiterals: Int = 1000) {
        self.maxLiteralSize = maxLiteralSize
        self.maxLineLength = maxLineLength
        self.maxLiterals = maxLiterals
    }

    /// `true` while part of a response has been received but not completed.
    var hasPartialResponse: Bool {
        if case .literal = self.mode { return true }
        return !self.text.isEmpty
    }

    /// Parses a chunk, appending completed responses to `responses`.
    mutating func feed(_ buffer: ByteBuffer, into responses: inout [Response]) throws {
        try buffer.withUnsafeReadableBytes { try self.feed(bytes: $0, into: &responses) }
    }

    /// Parses a chunk and returns the responses it completed.
    mutating func feed(_ bytes: [UInt8]) throws -> [Response] {
        var responses: [Response] = []
        try bytes.withUnsafeBytes { try self.feed(bytes: $0, into: &responses) }
        return responses
    }

    /// Signals end of input. Throws ``IMAPError/Kind/connectionClosed`` if a response was cut off.
    mutating func finish() throws {
        if let failure = self.failure { throw failure }
        if self.hasPartialResponse {
            let error = IMAPError(.connectionClosed, detail: "connection closed in the middle of a response")
            self.failure = error
            throw error
        }
    }

    private mutating func fail(_ error: IMAPError) -> IMAPError {
        self.failure = error
        self.text = []
        self.literals = []
        self.currentLiteral = []
        return error
    }

    mutating func feed(bytes: UnsafeRawBufferPointer, into responses: inout [Response]) throws {
        if let failure = self.failure { throw failure }
        guard let base = bytes.baseAddress else { return }
        var index = 0
        let count = bytes.count
        while index < count {
            switch self.mode {
            case .literal(let remaining):
                let take = min(remaining, count - index)
                self.currentLiteral.append(contentsOf: UnsafeRawBufferPointer(start: base + index, count: take))
                index += take
                if take == remaining {
                    self.literals.append(self.currentLiteral)
                    self.currentLiteral = []
                    self.mode = .line
                    self.segmentStart = self.text.count
                } else {
                    self.mode = .literal(remaining: remaining - take)
                }

            case .line:
                let start = base + index
                let available = count - index
                let lineFeed = memchr(start, 0x0A, available)
                let take = lineFeed.map { UnsafeRawPointer($0) - start + 1 } ?? available
                // Allow one CRLF per segment on top of the limit; check before copying so memory stays bounded.
                // A NUL is looked for only within the limit, so how the bytes were chunked never decides
                // which of the two errors a response gets.
                let room = max(0, self.maxLineLength + 2 * (self.literals.count + 1) - self.text.count)
                if memchr(start, 0, min(take, room)) != nil {
                    throw self.fail(IMAPError(.protocolViolation, detail: "NUL byte in response line"))
                }
                if take > room {
                    throw self.fail(IMAPError(.lineTooLong, detail: "response line longer than \(self.maxLineLength) bytes"))
                }
                self.text.append(contentsOf: UnsafeRawBufferPointer(start: start, count: take))
                index += take
                if lineFeed != nil {
                    do {
                        try self.lineCompleted(into: &responses)
                    } catch let error as IMAPError {
                        throw self.fail(error)
                    }
                }
            }
        }
    }

    /// Called with `text` ending in LF: either starts a literal or completes the response.
    private mutating func lineCompleted(into responses: inout [Response]) throws {
        var end = self.text.count - 1  // index of LF
        if end > self.segmentStart && self.text[end - 1] == 0x0D { end -= 1 }
        // Blank keep-alive lines between responses are ignored.
        if end == 0 {
            self.text.removeAll(keepingCapacity: true)
            self.segmentStart = 0
            return
        }
        if let length = try self.literalLength(endingBefore: end) {
            if self.literals.count >= self.maxLiterals {
                throw IMAPError(.protocolViolation, detail: "response with more than \(self.maxLiterals) literals")
            }
            if length > self.maxLiteralSize || self.literalBytesInResponse + length > self.maxLiteralSize + self.maxLineLength {
                throw IMAPError(.literalTooLarge, detail: "server announced a \(length)-byte literal (limit \(self.maxLiteralSize))")
            }
            self.literalBytesInResponse += length
            if length == 0 {
                self.literals.append([])
                self.segmentStart = self.text.count
            } else {
                self.currentLiteral = []
                self.currentLiteral.reserveCapacity(length)
                self.mode = .literal(remaining: length)
            }
            return
        }
        var grammar = ResponseGrammar(bytes: self.text, literals: self.literals)
        self.literals = []
        let response = try grammar.parseResponse()
        self.text.removeAll(keepingCapacity: self.text.count <= 64 << 10)
        self.segmentStart = 0
        self.literalBytesInResponse = 0
        responses.append(response)
    }

    /// If the segment ends with `{n}` or `{n+}`, returns `n`.
    private func literalLength(endingBefore end: Int) throws -> Int? {
        var i = end - 1
        guard i > self.segmentStart, self.text[i] == UInt8(ascii: "}") else { return nil }
        i -= 1
        if self.text[i] == UInt8(ascii: "+") { i -= 1 }
        let digitsEnd = i + 1
        while i >= self.segmentStart, self.text[i] >= UInt8(ascii: "0"), self.text[i] <= UInt8(ascii: "9") { i -= 1 }
        guard i >= self.segmentStart, self.text[i] == UInt8(ascii: "{"), digitsEnd > i + 1 else { return nil }
        var value = 0
        for digit in self.text[(i + 1)..<digitsEnd] {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if o1 || o2 || sum > self.maxLiteralSize {
                throw IMAPError(.literalTooLarge, detail: "server announced a literal larger than \(self.maxLiteralSize) bytes")
            }
            value = sum
        }
        return value
    }
}
