/// The message as it travels after `DATA` (RFC 5321 §4.5.2): lines end in CRLF (a bare LF or CR
/// becomes CRLF), a line starting with `.` gets another `.`, and `CRLF . CRLF` ends it.
///
/// A pure function of the message bytes, so it is tested without a server.
public enum SMTPMessageData {
    /// The wire form of `message`, terminator included.
    public static func encode(_ message: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 5)
        var atLineStart = true
        var previousCR = false
        for byte in message {
            if previousCR && byte != 0x0A {
                // A bare CR: end the line properly.
                out.append(0x0A)
                atLineStart = true
            }
            previousCR = false
            switch byte {
            case 0x0D:
                out.append(0x0D)
                previousCR = true
                continue
            case 0x0A:
                if out.last != 0x0D { out.append(0x0D) }
                out.append(0x0A)
                atLineStart = true
                continue
            case 0x2E where atLineStart:
                out.append(0x2E)
            default:
                break
            }
            out.append(byte)
            atLineStart = false
        }
        if previousCR {
            out.append(0x0A)
            atLineStart = true
        }
        if !atLineStart { out.append(contentsOf: [0x0D, 0x0A]) }
        out.append(contentsOf: [0x2E, 0x0D, 0x0A])
        return out
    }

    /// `true` if any byte has the high bit set (needs `BODY=8BITMIME` or SMTPUTF8).
    public static func hasEightBitData(_ message: some Collection<UInt8>) -> Bool {
        message.contains { $0 >= 0x80 }
    }
}
