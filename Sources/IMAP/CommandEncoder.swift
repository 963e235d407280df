import NIOCore

/// Builds tagged command lines (`A1`, `A2`, …) and chooses atom / quoted / literal encodings.
///
/// Pure value type: it knows the server's literal capabilities (LITERAL+ / LITERAL-) but does no I/O.
struct CommandEncoder {
    private var counter = 0
    /// `LITERAL+`: any literal may be non-synchronizing (`{n+}`).
    var literalPlus = false
    /// `LITERAL-`: literals up to 4096 bytes may be non-synchronizing.
    var literalMinus = false

    /// The tag that the next `encode` call will use.
    var nextTag: String { "A\(self.counter + 1)" }

    /// Encodes `name args…` into wire parts.
    /// - Parameters:
    ///   - name: Command name (validated: letters, digits, space, '.', '-').
    ///   - arguments: Arguments in order.
    ///   - sensitive: Redact arguments in ``EncodedCommand/logDescription`` (LOGIN, AUTHENTICATE).
    mutating func encode(_ name: String, _ arguments: [CommandArgument] = [], sensitive: Bool = false) throws -> EncodedCommand {
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
            throw IMAPError(.unsupported, command: nil, detail: "invalid command name")
        }
        self.counter += 1
        let tag = "A\(self.counter)"
        var parts: [ByteBuffer] = []
        var current = ByteBuffer()
        current.writeString(tag)
        current.writeInteger(UInt8(ascii: " "))
        current.writeString(name)
        var logLine = "\(tag) \(name)"

        for argument in arguments {
            current.writeInteger(UInt8(ascii: " "))
            switch argument {
            case .raw(let text):
                guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                    throw IMAPError(.unsupported, command: name, detail: "argument contains CR, LF or NUL")
                }
                current.writeString(text)
                logLine += sensitive ? " <redacted>" : " \(text)"
            case .string(let text):
                if Self.canQuote(text) {
                    current.writeInteger(UInt8(ascii: "\""))
                    for byte in text.utf8 {
                        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { current.writeInteger(UInt8(ascii: "\\")) }
                        current.writeInteger(byte)
                    }
                    current.writeInteger(UInt8(ascii: "\""))
                    logLine += sensitive ? " <redacted>" : " \"\(text)\""
                } else {
                    try self.appendLiteral(Array(text.utf8), command: name, current: &current, parts: &parts)
                    logLine += sensitive ? " <redacted>" : " {\(text.utf8.count)}"
                }
            case .literal(let bytes):
                try self.appendLiteral(bytes, command: name, current: &current, parts: &parts)
                logLine += " {\(bytes.count)}"
            }
        }
        current.writeString("\r\n")
        parts.append(current)
        return EncodedCommand(tag: tag, name: name, parts: parts, logDescription: logLine)
    }

    /// Encodes a continuation line (SASL response) — always redacted in logs by the caller.
    static func line(_ text: String) throws -> ByteBuffer {
        guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
            throw IMAPError(.unsupported, detail: "continuation line contains CR, LF or NUL")
        }
        var buffer = ByteBuffer()
        buffer.writeString(text)
        buffer.writeString("\r\n")
        return buffer
    }

    private func appendLiteral(_ bytes: [UInt8], command: String, current: inout ByteBuffer, parts: inout [ByteBuffer]) throws {
        guard !bytes.contains(0) else {
            throw IMAPError(.unsupported, command: command, detail: "argument contains NUL")
        }
        let nonSynchronizing = self.literalPlus || (self.literalMinus && bytes.count <= 4096)
        if nonSynchronizing {
            current.writeString("{\(bytes.count)+}\r\n")
        } else {
            current.writeString("{\(bytes.count)}\r\n")
            parts.append(current)
            current = ByteBuffer()
        }
        current.writeBytes(bytes)
    }

    /// Quoted strings may carry 7-bit text except CR, LF and NUL (RFC 3501 `quoted`).
    static func canQuote(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x01 && $0 <= 0x7F && $0 != 0x0D && $0 != 0x0A }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: " ")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }
}
