/// What text may be stored. PostgreSQL refuses U+0000 in text columns, and control characters in a name, subject
/// or file name only ever serve to confuse a reader or a terminal, so they are removed before anything is filed:
/// one email from a stranger can never make its batch fail on every pass and stop a mailbox.
public enum StoredText {
    /// A one-line field (subject, name, address, file name, Message-ID): no C0 control character and no DEL; a
    /// tab becomes a space.
    public static func line(_ text: String) -> String {
        // C0 controls and DEL are single bytes in UTF-8 and never part of another character: the bytes tell.
        guard hasControl(text, allowing: { _ in false }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" { scalars.append(" ") } else if !isControl(scalar) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    /// A body: tab, CR and LF stay; every other C0 control character and DEL go.
    public static func body(_ text: String) -> String {
        guard hasControl(text, allowing: { $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isControl(scalar) || allowedInBody(scalar) { scalars.append(scalar) }
        return String(scalars)
    }

    /// Whether `text` holds a C0 control character or DEL other than those `allowed`. Every body filed passes
    /// through here, so the bytes are read in one branch-free pass the compiler can vectorise.
    @inline(__always)
    static func hasControl(_ text: String, allowing allowed: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var found: UInt8 = 0
            for b in bytes { found |= (b < 0x20 || b == 0x7F) && !allowed(b) ? 1 : 0 }
            return found != 0
        }
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
    /// Every text field made fit to store (see ``StoredText``); the raw bytes are kept as they came.
    public var storable: IncomingEmail {
        var email = self
        email.from = from.storable
        email.to = to.map(\.storable)
        email.cc = cc.map(\.storable)
        email.subject = StoredText.line(subject)
        email.messageID = messageID.map(StoredText.line)
        email.threadReferences = threadReferences.map(StoredText.line)
        email.textBody = StoredText.body(textBody)
        email.sanitizedHTML = sanitizedHTML.map(StoredText.body)
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
}
