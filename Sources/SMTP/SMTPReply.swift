/// One complete SMTP reply: a three-digit code and one or more text lines (RFC 5321 §4.2).
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    /// The reply code, 200…599.
    public var code: Int
    /// The text of each line, after `NNN-`/`NNN `, enhanced status code included.
    public var lines: [String]

    /// Creates a reply.
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// The RFC 3463 enhanced status code that starts the first line (e.g. `5.7.8`), when the
    /// server sent one whose class matches the reply code's first digit.
    public var enhancedStatusCode: EnhancedStatusCode? {
        guard self.code >= 200, let first = self.lines.first else { return nil }
        guard let (status, _) = EnhancedStatusCode.prefix(of: first), status.statusClass == self.code / 100 else { return nil }
        return status
    }

    /// The text of the first line without its enhanced status code.
    public var message: String {
        self.lines.map { line in
            if self.enhancedStatusCode != nil, let (_, rest) = EnhancedStatusCode.prefix(of: line) { return rest }
            return line
        }.joined(separator: "\n")
    }

    /// `2yz`: the command succeeded.
    public var isPositiveCompletion: Bool { self.code / 100 == 2 }
    /// `3yz`: the server wants more (354 for DATA, 334 for AUTH).
    public var isPositiveIntermediate: Bool { self.code / 100 == 3 }
    /// `4yz`: temporary failure; the same command may succeed later.
    public var isTransientNegative: Bool { self.code / 100 == 4 }
    /// `5yz`: permanent failure; repeating the command as is will fail again.
    public var isPermanentNegative: Bool { self.code / 100 == 5 }

    /// `250-first`/`250 last` as one line per reply line, for logs.
    public var description: String {
        self.lines.enumerated().map { index, line in
            "\(self.code)\(index == self.lines.count - 1 ? " " : "-")\(line)"
        }.joined(separator: "\n")
    }
}

/// An RFC 3463 enhanced mail system status code, `class.subject.detail` (e.g. `5.7.8`).
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    public var statusClass: Int
    /// 0…999, e.g. 7 for security or policy status.
    public var subject: Int
    /// 0…999.
    public var detail: Int

    /// Creates a code.
    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `5.7.8`; `nil` unless it is exactly that shape.
    public init?(_ text: some StringProtocol) {
        guard let (code, rest) = Self.prefix(of: String(text) + " "), rest.isEmpty else { return nil }
        self = code
    }

    public var description: String { "\(self.statusClass).\(self.subject).\(self.detail)" }

    /// Splits a reply line into a leading enhanced status code (followed by a space or the end) and the rest.
    static func prefix(of line: String) -> (EnhancedStatusCode, String)? {
        let bytes = Array(line.utf8)
        var numbers: [Int] = []
        var index = 0
        for part in 0..<3 {
            let start = index
            var value = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 3 {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
            }
            guard index > start else { return nil }
            if part == 0 && index - start != 1 { return nil }
            numbers.append(value)
            if part < 2 {
                guard index < bytes.count, bytes[index] == 0x2E else { return nil }
                index += 1
            }
        }
        guard [2, 4, 5].contains(numbers[0]) else { return nil }
        if index < bytes.count {
            guard bytes[index] == 0x20 else { return nil }
            index += 1
        }
        return (EnhancedStatusCode(numbers[0], numbers[1], numbers[2]), String(decoding: bytes[index...], as: UTF8.self))
    }
}
