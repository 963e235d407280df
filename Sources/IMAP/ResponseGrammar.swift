import Foundation

/// Parses one complete, already framed response (line text plus its literals).
///
/// Lenient where servers differ in harmless ways (missing status text, unknown response names,
/// unknown FETCH items), strict where structure matters (tags, numbers, strings, parentheses).
struct ResponseGrammar {
    private let bytes: [UInt8]
    private var position = 0
    private var literals: [[UInt8]]
    private var literalIndex = 0

    init(bytes: [UInt8], literals: [[UInt8]]) {
        self.bytes = bytes
        self.literals = literals
    }

    // MARK: - Entry point

    mutating func parseResponse() throws -> Response {
        guard let first = self.peek() else { throw self.violation("empty response") }
        switch first {
        case UInt8(ascii: "+"):
            self.position += 1
            if self.peek() == UInt8(ascii: " ") { self.position += 1 }
            return .continuation(self.restOfLine())
        case UInt8(ascii: "*"):
            self.position += 1
            try self.expect(UInt8(ascii: " "))
            return .untagged(try self.parseUntagged())
        default:
            let tag = self.readToken(stoppingAt: Self.spaceOrEOL)
            guard !tag.isEmpty, tag.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "+") }) else {
                throw self.violation("invalid tag")
            }
            try self.expect(UInt8(ascii: " "))
            let name = self.readToken(stoppingAt: Self.spaceOrEOL).uppercased()
            guard let kind = StatusResponse.Kind(rawValue: name), kind != .preauth, kind != .bye else {
                throw self.violation("tagged response with unknown status")
            }
            return .tagged(TaggedResponse(tag: tag, status: try self.parseStatusTail(kind)))
        }
    }

    // MARK: - Untagged

    private mutating func parseUntagged() throws -> UntaggedResponse {
        if let byte = self.peek(), Self.isDigit(byte) {
            let number = try self.readNumber()
            try self.expect(UInt8(ascii: " "))
            let name = self.readToken(stoppingAt: Self.spaceOrEOL).uppercased()
            switch name {
            case "EXISTS": return .exists(try Self.int(number))
            case "RECENT": return .recent(try Self.int(number))
            case "EXPUNGE": return .expunge(try self.uint32(number))
            case "FETCH":
                try self.expect(UInt8(ascii: " "))
                let attributes = try self.parseMessageAttributes()
                try self.expectEndOfLine()
                return .fetch(sequence: try self.uint32(number), attributes)
            default:
                self.skipSpaces()
                return .other(name: name, text: "\(number) " + self.restOfLine())
            }
        }
        let name = self.readToken(stoppingAt: Self.spaceOrEOL).uppercased()
        guard !name.isEmpty else { throw self.violation("missing untagged response name") }
        if let kind = StatusResponse.Kind(rawValue: name) {
            return .status(try self.parseStatusTail(kind))
        }
        switch name {
        case "CAPABILITY":
            return .capability(self.readAtomsToEndOfLine())
        case "FLAGS":
            try self.expect(UInt8(ascii: " "))
            let flags = try self.readParenthesizedList()
            return .flags(flags)
        case "SEARCH":
            var uids: [UInt32] = []
            while self.peek() == UInt8(ascii: " ") {
                self.skipSpaces()
                guard let byte = self.peek(), Self.isDigit(byte) else { break }  // e.g. "(MODSEQ n)" trailer
                uids.append(try self.uint32(try self.readNumber()))
            }
            _ = self.restOfLine()
            return .search(uids)
        default:
            self.skipSpaces()
            return .other(name: name, text: self.restOfLine())
        }
    }

    // MARK: - Status responses

    private mutating func parseStatusTail(_ kind: StatusResponse.Kind) throws -> StatusResponse {
        self.skipSpaces()
        var code: ResponseCode?
        if self.peek() == UInt8(ascii: "[") {
            self.position += 1
            code = try self.parseResponseCode()
            self.skipSpaces()
        }
        return StatusResponse(kind: kind, code: code, text: self.restOfLine())
    }

    private mutating func parseResponseCode() throws -> ResponseCode {
        let name = self.readToken(stoppingAt: Self.codeNameStop).uppercased()
        guard !name.isEmpty else { throw self.violation("empty response code") }
        if self.peek() == UInt8(ascii: " ") { self.position += 1 }
        let code: ResponseCode
        switch name {
        case "UIDNEXT": code = .uidNext(try self.uint32(try self.readNumber()))
        case "UIDVALIDITY": code = .uidValidity(try self.uint32(try self.readNumber()))
        case "UNSEEN": code = .unseen(try self.uint32(try self.readNumber()))
        case "HIGHESTMODSEQ": code = .highestModSeq(try self.readNumber())
        case "PERMANENTFLAGS": code = .permanentFlags(try self.readParenthesizedList())
        case "CAPABILITY":
            var caps: [String] = []
            while let byte = self.peek(), byte != UInt8(ascii: "]"), !Self.isEOL(byte) {
                if byte == UInt8(ascii: " ") {
                    self.position += 1
                    continue
                }
                caps.append(self.readToken(stoppingAt: Self.codeNameStop))
            }
            code = .capability(caps)
        case "APPENDUID":
            let validity = try self.uint32(try self.readNumber())
            self.skipSpaces()
            code = .appendUID(uidValidity: validity, uid: self.readToken(stoppingAt: Self.codeNameStop))
        case "COPYUID":
            let validity = try self.uint32(try self.readNumber())
            self.skipSpaces()
            let source = self.readToken(stoppingAt: Self.codeNameStop)
            self.skipSpaces()
            code = .copyUID(uidValidity: validity, source: source, destination: self.readToken(stoppingAt: Self.codeNameStop))
        default:
            if let simple = ResponseCode.simpleCodes[name] {
                code = simple
            } else {
                let start = self.position
                while let byte = self.peek(), byte != UInt8(ascii: "]"), !Self.isEOL(byte) { self.position += 1 }
                let arguments = self.string(start..<self.position)
                code = .other(arguments.isEmpty ? name : "\(name) \(arguments)")
            }
        }
        // Skip anything unexpected up to the closing bracket (lenient about extra arguments).
        while let byte = self.peek(), byte != UInt8(ascii: "]"), !Self.isEOL(byte) { self.position += 1 }
        try self.expect(UInt8(ascii: "]"))
        return code
    }

    // MARK: - FETCH

    private mutating func parseMessageAttributes() throws -> MessageAttributes {
        try self.expect(UInt8(ascii: "("))
        var attributes = MessageAttributes()
        while true {
            self.skipSpaces()
            guard let byte = self.peek() else { throw self.violation("unterminated FETCH attribute list") }
            if byte == UInt8(ascii: ")") {
                self.position += 1
                return attributes
            }
            let name = self.readToken(stoppingAt: Self.fetchNameStop).uppercased()
            guard !name.isEmpty else { throw self.violation("malformed FETCH attribute") }
            switch name {
            case "UID":
                try self.expect(UInt8(ascii: " "))
                attributes.uid = try self.uint32(try self.readNumber())
            case "RFC822.SIZE":
                try self.expect(UInt8(ascii: " "))
                attributes.size = try Self.int(try self.readNumber())
            case "INTERNALDATE":
                try self.expect(UInt8(ascii: " "))
                if let raw = try self.readNString() {
                    attributes.internalDate = InternalDate.parse(raw)
                }
            case "FLAGS":
                try self.expect(UInt8(ascii: " "))
                attributes.flags = try self.readParenthesizedList()
            case "MODSEQ":
                try self.expect(UInt8(ascii: " "))
                try self.expect(UInt8(ascii: "("))
                attributes.modSeq = try self.readNumber()
                try self.expect(UInt8(ascii: ")"))
            case "BODY", "BINARY":
                guard self.peek() == UInt8(ascii: "[") else {
                    // BODY without a section is the non-extensible BODYSTRUCTURE.
                    try self.expect(UInt8(ascii: " "))
                    try self.skipValue(depth: 0)
                    break
                }
                let section = try self.readSection()
                if self.peek() == UInt8(ascii: "<") {
                    while let b = self.peek(), b != UInt8(ascii: ">") {
                        guard !Self.isEOL(b) else { throw self.violation("unterminated body origin") }
                        self.position += 1
                    }
                    self.position += 1
                }
                try self.expect(UInt8(ascii: " "))
                let content = try self.readNStringBytes()
                if section.isEmpty { attributes.body = content }
            case "RFC822":
                try self.expect(UInt8(ascii: " "))
                attributes.body = try self.readNStringBytes()
            default:
                try self.expect(UInt8(ascii: " "))
                try self.skipValue(depth: 0)
            }
        }
    }

    /// Reads `[section]` and returns its (possibly empty) contents.
    private mutating func readSection() throws -> String {
        try self.expect(UInt8(ascii: "["))
        let start = self.position
        var depth = 0
        while let byte = self.peek() {
            if Self.isEOL(byte) { break }
            if byte == UInt8(ascii: "(") { depth += 1 }
            if byte == UInt8(ascii: ")") { depth -= 1 }
            if byte == UInt8(ascii: "]") && depth <= 0 {
                let section = self.string(start..<self.position)
                self.position += 1
                return section
            }
            self.position += 1
        }
        throw self.violation("unterminated body section")
    }

    /// Skips any value: atom, number, NIL, quoted string, literal or nested list.
    private mutating func skipValue(depth: Int) throws {
        guard depth < 64 else { throw self.violation("nesting too deep") }
        guard let byte = self.peek() else { throw self.violation("missing value") }
        switch byte {
        case UInt8(ascii: "("):
            self.position += 1
            while true {
                self.skipSpaces()
                guard let next = self.peek(), !Self.isEOL(next) else { throw self.violation("unbalanced parenthesis") }
                if next == UInt8(ascii: ")") {
                    self.position += 1
                    return
                }
                try self.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "\""), UInt8(ascii: "{"):
            _ = try self.readNStringBytes()
        default:
            let start = self.position
            while let b = self.peek(), b != UInt8(ascii: " "), b != UInt8(ascii: ")"), !Self.isEOL(b) {
                if b == UInt8(ascii: "[") {
                    _ = try self.readSection()
                    continue
                }
                self.position += 1
            }
            if self.position == start { throw self.violation("unexpected character") }
        }
    }

    // MARK: - Strings and lists

    /// `nstring` as text (lossy UTF-8), `nil` for `NIL`.
    private mutating func readNString() throws -> String? {
        try self.readNStringBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// `nstring` as bytes; literals are moved out of the literal list without copying.
    private mutating func readNStringBytes() throws -> [UInt8]? {
        guard let byte = self.peek() else { throw self.violation("missing string") }
        switch byte {
        case UInt8(ascii: "\""):
            return try self.readQuoted()
        case UInt8(ascii: "{"):
            return try self.readLiteral()
        default:
            let token = self.readToken(stoppingAt: Self.listItemStop)
            if token.uppercased() == "NIL" { return nil }
            throw self.violation("expected string")
        }
    }

    private mutating func readQuoted() throws -> [UInt8] {
        try self.expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while let byte = self.peek() {
            self.position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return out
            case UInt8(ascii: "\\"):
                guard let escaped = self.peek(), !Self.isEOL(escaped) else { throw self.violation("bad escape in quoted string") }
                out.append(escaped)
                self.position += 1
            case 0x0D, 0x0A:
                throw self.violation("line break in quoted string")
            default:
                out.append(byte)
            }
        }
        throw self.violation("unterminated quoted string")
    }

    private mutating func readLiteral() throws -> [UInt8] {
        try self.expect(UInt8(ascii: "{"))
        while let byte = self.peek(), byte != UInt8(ascii: "}") {
            guard Self.isDigit(byte) || byte == UInt8(ascii: "+") else { throw self.violation("malformed literal header") }
            self.position += 1
        }
        try self.expect(UInt8(ascii: "}"))
        if self.peek() == 0x0D { self.position += 1 }
        try self.expect(0x0A)
        guard self.literalIndex < self.literals.count else { throw self.violation("literal missing") }
        let literal = self.literals[self.literalIndex]
        self.literals[self.literalIndex] = []
        self.literalIndex += 1
        return literal
    }

    /// `( item item … )` of atoms/flags/strings, as used by FLAGS and PERMANENTFLAGS.
    private mutating func readParenthesizedList() throws -> [String] {
        try self.expect(UInt8(ascii: "("))
        var items: [String] = []
        while true {
            self.skipSpaces()
            guard let byte = self.peek(), !Self.isEOL(byte) else { throw self.violation("unbalanced parenthesis") }
            if byte == UInt8(ascii: ")") {
                self.position += 1
                return items
            }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "{") {
                items.append(String(decoding: try self.readNStringBytes() ?? [], as: UTF8.self))
            } else if byte == UInt8(ascii: "(") {
                throw self.violation("unexpected nested list")
            } else {
                items.append(self.readToken(stoppingAt: Self.listItemStop))
            }
        }
    }

    private mutating func readAtomsToEndOfLine() -> [String] {
        var atoms: [String] = []
        while let byte = self.peek(), !Self.isEOL(byte) {
            if byte == UInt8(ascii: " ") {
                self.position += 1
                continue
            }
            atoms.append(self.readToken(stoppingAt: Self.spaceOrEOL))
        }
        return atoms
    }

    // MARK: - Primitives

    private static let spaceOrEOL: Set<UInt8> = [0x20, 0x0D, 0x0A]
    private static let codeNameStop: Set<UInt8> = [0x20, 0x0D, 0x0A, UInt8(ascii: "]")]
    private static let listItemStop: Set<UInt8> = [0x20, 0x0D, 0x0A, UInt8(ascii: ")"), UInt8(ascii: "(")]
    private static let fetchNameStop: Set<UInt8> = [0x20, 0x0D, 0x0A, UInt8(ascii: "["), UInt8(ascii: ")"), UInt8(ascii: "(")]

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isEOL(_ byte: UInt8) -> Bool { byte == 0x0D || byte == 0x0A }

    private func peek() -> UInt8? {
        self.position < self.bytes.count ? self.bytes[self.position] : nil
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard self.peek() == byte else {
            throw self.violation("expected '\(Unicode.Scalar(byte).escaped(asASCII: true))'")
        }
        self.position += 1
    }

    private mutating func expectEndOfLine() throws {
        self.skipSpaces()
        if self.peek() == 0x0D { self.position += 1 }
        guard self.peek() == 0x0A else { throw self.violation("trailing garbage") }
        self.position += 1
    }

    private mutating func skipSpaces() {
        while self.peek() == UInt8(ascii: " ") { self.position += 1 }
    }

    private mutating func readToken(stoppingAt stops: Set<UInt8>) -> String {
        let start = self.position
        while let byte = self.peek(), !stops.contains(byte) { self.position += 1 }
        return self.string(start..<self.position)
    }

    /// Reads 1–20 digits into a UInt64; rejects signs and overflow.
    private mutating func readNumber() throws -> UInt64 {
        var value: UInt64 = 0
        var digits = 0
        while let byte = self.peek(), Self.isDigit(byte) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw self.violation("number overflow") }
            value = sum
            digits += 1
            self.position += 1
        }
        guard digits > 0 else { throw self.violation("expected number") }
        return value
    }

    private func uint32(_ value: UInt64) throws -> UInt32 {
        guard let result = UInt32(exactly: value) else { throw self.violation("number out of range") }
        return result
    }

    private static func int(_ value: UInt64) throws -> Int {
        // IMAP `number` is 32-bit unsigned (RFC 3501 §4.2).
        guard value <= UInt64(UInt32.max), let result = Int(exactly: value) else {
            throw IMAPError(.protocolViolation, detail: "number out of range")
        }
        return result
    }

    /// Remainder of the current line (without CRLF), lossy UTF-8. Leaves position at end of line.
    private mutating func restOfLine() -> String {
        let start = self.position
        while let byte = self.peek(), !Self.isEOL(byte) { self.position += 1 }
        return self.string(start..<self.position)
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: self.bytes[range], as: UTF8.self)
    }

    private func violation(_ what: String) -> IMAPError {
        IMAPError(.protocolViolation, detail: "\(what) at byte \(self.position)")
    }
}
