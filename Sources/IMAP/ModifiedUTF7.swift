/// Modified UTF-7 mailbox-name encoding (RFC 3501 §5.1.3), needed for non-ASCII folder names
/// on IMAP4rev1 servers (`Entwürfe` → `Entw&APw-rfe`).
enum ModifiedUTF7 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    /// Encodes a mailbox name. Printable ASCII passes through, `&` becomes `&-`.
    static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count)
        var pending: [UInt16] = []

        func flush() {
            guard !pending.isEmpty else { return }
            var bytes: [UInt8] = []
            for unit in pending {
                bytes.append(UInt8(unit >> 8))
                bytes.append(UInt8(unit & 0xFF))
            }
            out.append(UInt8(ascii: "&"))
            var i = 0
            while i < bytes.count {
                let b0 = bytes[i]
                let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
                let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if i + 1 < bytes.count { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if i + 2 < bytes.count { out.append(alphabet[Int(b2 & 0x3F)]) }
                i += 3
            }
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }

        for scalar in name.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7E {
                flush()
                out.append(UInt8(scalar.value))
                if scalar == "&" { out.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a modified UTF-7 name; malformed input is returned unchanged.
    static func decode(_ encoded: String) -> String {
        let bytes = Array(encoded.utf8)
        var result = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "&") else {
                result.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            guard let end = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "-")) else { return encoded }
            if end == i + 1 {
                result.append("&")
                i = end + 1
                continue
            }
            var bits: UInt32 = 0
            var bitCount = 0
            var units: [UInt16] = []
            var pendingByte: UInt8?
            for c in bytes[(i + 1)..<end] {
                guard let value = alphabet.firstIndex(of: c) else { return encoded }
                bits = bits << 6 | UInt32(value)
                bitCount += 6
                if bitCount >= 8 {
                    bitCount -= 8
                    let byte = UInt8((bits >> UInt32(bitCount)) & 0xFF)
                    if let hi = pendingByte {
                        units.append(UInt16(hi) << 8 | UInt16(byte))
                        pendingByte = nil
                    } else {
                        pendingByte = byte
                    }
                }
            }
            result += String(decoding: units, as: UTF16.self)
            i = end + 1
        }
        return result
    }
}
