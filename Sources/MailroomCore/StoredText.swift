/// What text may be stored. PostgreSQL refuses U+0000 in text columns, and control characters in a name, subject
/// or file name only ever serve to confuse a reader or a terminal, so they are removed before anything is filed:
/// one email from a stranger can never make its batch fail on every pass and stop a mailbox.
public enum StoredText {
    /// A one-line field (subject, name, address, file name, Message-ID): no C0 control character and no DEL; a
    /// tab becomes a space.
    public static func line(_ text: String) -> String {
        // C0 controls and DEL are single bytes in UTF-8 and never part of another character: the bytes tell.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" { scalars.append(" ") } else if !isControl(scalar) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    /// A body: tab, CR and LF stay; every other C0 control character and DEL go.
    public static func body(_ text: String) -> String {
        guard text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A) || $0 == 0x7F }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isControl(scalar) || allowedInBody(scalar) { scalars.append(scalar) }
        return String(scalars)
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
