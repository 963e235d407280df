/// How an incoming email finds its ticket: by the Message-IDs it answers, else by `[#N]` in its subject.
public enum Threading {
    /// The ticket number in a subject such as «Re: [#42] Printer broken», if any.
    public static func ticketNumber(inSubject subject: String) -> TicketNumber? {
        var rest = Substring(subject)
        while let open = rest.range(of: "[#") {
            let after = rest[open.upperBound...]
            let digits = after.prefix(while: { $0.isASCII && $0.isNumber })
            if !digits.isEmpty, digits.count <= 18, after.dropFirst(digits.count).first == "]", let n = Int64(digits) {
                return TicketNumber(n)
            }
            rest = after
        }
        return nil
    }

    /// The subject with the ticket token, as replies will carry it.
    public static func subject(_ subject: String, taggedWith number: TicketNumber) -> String {
        ticketNumber(inSubject: subject) == number ? subject : "[#\(number)] \(subject)"
    }
}
