/// What text may be stored. PostgreSQL refuses U+0000 in text columns, and control characters in a name, subject
/// or file name only ever serve to confuse a reader or a terminal, so they are removed before anything is filed:
/// one email from a stranger can never make its batch fail on every pass and stop a mailbox.
public enum StoredText {
    /// A one-line field (subject, name, address, file name, Message-ID): no C0 control character and no DEL; a
    /// tab becomes a space.
    public static func line(_ text: String) -> String {
        // C0 controls and DEL are single bytes in UTF-8 and never part of another character: the bytes tell.
        guard hasControl(text, allowingBreaks: false) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" { scalars.append(" ") } else if !isControl(scalar) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    /// A body: tab, CR and LF stay; every other C0 control character and DEL go.
    public static func body(_ text: String) -> String {
        guard hasControl(text, allowingBreaks: true) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isControl(scalar) || allowedInBody(scalar) { scalars.append(scalar) }
        return String(scalars)
    }

    /// Whether `text` holds a C0 control character or DEL, other than tab, CR and LF when `allowingBreaks`. Every
    /// body filed passes through here, on the one writer's path: sixteen bytes at a time (SSE2, NEON), the masks
    /// read through their lanes (0 or -1), because the generic mask operations do not compile to vector code.
    static func hasControl(_ text: String, allowingBreaks: Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            typealias Bytes = SIMD16<UInt8>
            let raw = UnsafeRawBufferPointer(bytes)
            var found = SIMD16<Int8>(repeating: 0)
            var i = 0
            while raw.count - i >= 16 {
                let v = raw.loadUnaligned(fromByteOffset: i, as: Bytes.self)
                var control = (v .< Bytes(repeating: 0x20))._storage | (v .== Bytes(repeating: 0x7F))._storage
                if allowingBreaks {
                    control &= ~((v .== Bytes(repeating: 0x09))._storage | (v .== Bytes(repeating: 0x0A))._storage | (v .== Bytes(repeating: 0x0D))._storage)
                }
                found |= control
                i += 16
            }
            let (low, high) = unsafeBitCast(found, to: (UInt64, UInt64).self)
            if low | high != 0 { return true }
            while i < raw.count {
                if isControlByte(raw[i], allowingBreaks: allowingBreaks) { return true }
                i += 1
            }
            return false
        }
    }

    /// The rule for one byte.
    static func isControlByte(_ b: UInt8, allowingBreaks: Bool) -> Bool {
        (b < 0x20 || b == 0x7F) && !(allowingBreaks && (b == 0x09 || b == 0x0A || b == 0x0D))
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7F }
    static func allowedInBody(_ scalar: Unicode.Scalar) -> Bool { scalar == "\t" || scalar == "\r" || scalar == "\n" }
}

extension Person {
    /// The person with fields fit to store.
    public var storable: Person {
        Person(name: name.map(StoredText.line), email: StoredText.line(email))
    }
}

extension IncomingEmail {
    /// Every text field made fit to store (see ``StoredText``); the raw bytes are kept as they came. Nearly every
    /// email is fit already and comes back as it is, sharing its fields (see ``IncomingEmail``).
    public var storable: IncomingEmail {
        guard !isStorable else { return self }
        var email = self
        email.from = from.storable
        email.to = to.map(\.storable)
        email.cc = cc.map(\.storable)
        email.subject = StoredText.line(subject)
        email.messageID = messageID.map(StoredText.line)
        email.threadReferences = threadReferences.map(StoredText.line)
        email.textBody = StoredText.body(textBody)
        // HTML rendered from the raw bytes is made fit when it is rendered (``IncomingEmail/renderedHTML(raw:)``).
        if let html = keptHTML { email.sanitizedHTML = StoredText.body(html) }
        email.defects = defects.map(StoredText.line)
        email.dedupeKey = StoredText.line(dedupeKey)
        email.attachments = attachments.map { attachment in
            var attachment = attachment
            attachment.filename = StoredText.line(attachment.filename)
            attachment.contentType = StoredText.line(attachment.contentType)
            attachment.contentID = attachment.contentID.map(StoredText.line)
            return attachment
        }
        return email
    }

    /// Whether no text field holds what ``StoredText`` removes.
    var isStorable: Bool {
        func line(_ text: String) -> Bool { !StoredText.hasControl(text, allowingBreaks: false) }
        func person(_ person: Person) -> Bool { line(person.email) && person.name.map(line) != false }
        return person(from) && to.allSatisfy(person) && cc.allSatisfy(person) && line(subject) && messageID.map(line) != false
            && threadReferences.allSatisfy(line) && !StoredText.hasControl(textBody, allowingBreaks: true)
            && keptHTML.map { !StoredText.hasControl($0, allowingBreaks: true) } != false && defects.allSatisfy(line) && line(dedupeKey)
            && attachments.allSatisfy { line($0.filename) && line($0.contentType) && $0.contentID.map(line) != false }
    }
}
