import MailroomCore

/// The JSON of the lists every filed message carries (To, Cc, attachments, defects), written by hand: through
/// `JSONEncoder` they took 3.5% (To and Cc) and 8% (attachments) of the time spent filing mail. The text is what
/// `JSONEncoder` writes with sorted keys (an absent optional is left out), except that `/` is not escaped; either
/// decoder reads both.
extension SQLStore {
    static func json(_ people: [Person]) -> String {
        JSONText.array(people) { person, out in
            out.key("email", first: true)
            out.string(person.email)
            if let name = person.name {
                out.key("name")
                out.string(name)
            }
        }
    }

    /// The addresses of a To or Cc list, read straight from the text ``json(_:)-([Person])`` writes when it holds
    /// no escape; any other text (an escape, another spelling of the same JSON) goes to `JSONDecoder`. Filing reads
    /// these lists for every message of every ticket a group's mail refers to, and the decoder took a tenth of the
    /// store's own work doing it.
    static func addresses(inPeopleJSON text: String) -> [String] {
        if let addresses = plainAddresses(text) { return addresses }
        return (decodeJSON([Person].self, text) ?? []).map(\.email)
    }

    /// `[{"email":"…"(,"name":"…")?}, …]` exactly, without a backslash anywhere; nil for anything else.
    static func plainAddresses(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var at = 0
            func take(_ literal: StaticString) -> Bool {
                let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
                guard bytes.count - at >= expected.count, expected.indices.allSatisfy({ bytes[at + $0] == expected[$0] }) else { return false }
                at += expected.count
                return true
            }
            /// The string's contents up to its closing quote, which is passed; nil at a backslash or the end.
            func string() -> Range<Int>? {
                let start = at
                while at < bytes.count {
                    switch bytes[at] {
                    case UInt8(ascii: "\""):
                        at += 1
                        return start..<(at - 1)
                    case UInt8(ascii: "\\"):
                        return nil
                    default:
                        at += 1
                    }
                }
                return nil
            }
            guard take("[") else { return nil }
            var addresses: [String] = []
            if take("]") { return at == bytes.count ? addresses : nil }
            repeat {
                guard take("{\"email\":\""), let email = string() else { return nil }
                if take(",\"name\":\"") { guard string() != nil else { return nil } }
                guard take("}") else { return nil }
                addresses.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[email]), as: UTF8.self))
            } while take(",")
            return take("]") && at == bytes.count ? addresses : nil
        }
    }

    static func json(_ attachments: [AttachmentInfo]) -> String {
        JSONText.array(attachments) { attachment, out in
            if let contentID = attachment.contentID {
                out.key("contentID", first: true)
                out.string(contentID)
                out.key("contentType")
            } else {
                out.key("contentType", first: true)
            }
            out.string(attachment.contentType)
            out.key("filename")
            out.string(attachment.filename)
            out.key("index")
            out.integer(attachment.index)
            out.key("isInline")
            out.bytes += attachment.isInline ? "true".utf8 : "false".utf8
            out.key("size")
            out.integer(attachment.size)
        }
    }

    static func json(_ texts: [String]) -> String {
        JSONText.array(texts, bare: true) { text, out in out.string(text) }
    }
}

/// UTF-8 JSON being written.
struct JSONText {
    var bytes: [UInt8] = []

    /// `[…]` of `elements`, each an object written by `element` (or, `bare`, a value of its own).
    static func array<Element>(_ elements: [Element], bare: Bool = false, _ element: (Element, inout JSONText) -> Void) -> String {
        guard !elements.isEmpty else { return "[]" }
        var out = JSONText()
        out.bytes.reserveCapacity(64 * elements.count)
        out.bytes.append(UInt8(ascii: "["))
        for (index, value) in elements.enumerated() {
            if index > 0 { out.bytes.append(UInt8(ascii: ",")) }
            if !bare { out.bytes.append(UInt8(ascii: "{")) }
            element(value, &out)
            if !bare { out.bytes.append(UInt8(ascii: "}")) }
        }
        out.bytes.append(UInt8(ascii: "]"))
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `"name":`, after a comma unless it is the object's first member.
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes += "\":".utf8
    }

    mutating func integer(_ value: Int) {
        bytes += String(value).utf8
    }

    /// A string literal (RFC 8259 §7): quote, backslash and control characters escaped, the rest as UTF-8.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes += #"\u00"#.utf8
                bytes += Hex.lowercase([byte]).utf8
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
