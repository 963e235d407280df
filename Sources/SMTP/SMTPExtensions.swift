/// What the server advertised in its `EHLO` reply (RFC 5321 §4.1.1.1): one keyword per line
/// after the first, with optional parameters.
public struct SMTPExtensions: Sendable, Equatable {
    /// The domain from the first line of the reply (the server's own name).
    public var serverName: String?
    /// Keywords, uppercased, with their parameters as sent (e.g. `AUTH` → `["PLAIN", "LOGIN"]`).
    public var keywords: [String: [String]]
    /// `false` when the server refused `EHLO` and we fell back to `HELO` (no extensions at all).
    public var isExtended: Bool

    /// Creates an empty set (what a `HELO` session has).
    public init(serverName: String? = nil, keywords: [String: [String]] = [:], isExtended: Bool = false) {
        self.serverName = serverName
        self.keywords = keywords
        self.isExtended = isExtended
    }

    /// Reads a positive `EHLO` reply.
    public init(ehlo reply: SMTPReply) {
        self.init(isExtended: true)
        self.serverName = reply.lines.first?.split(separator: " ").first.map(String.init)
        for line in reply.lines.dropFirst() {
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { continue }
            var keyword = words.removeFirst().uppercased()
            // Old servers say `AUTH=LOGIN PLAIN` (pre-RFC 2554 Outlook clients needed it).
            if keyword.hasPrefix("AUTH=") {
                words.insert(String(keyword.dropFirst(5)), at: 0)
                keyword = "AUTH"
            }
            self.keywords[keyword, default: []].append(contentsOf: words)
        }
    }

    /// Whether the keyword (any case) was advertised.
    public func supports(_ keyword: String) -> Bool { self.keywords[keyword.uppercased()] != nil }

    /// SASL mechanisms from `AUTH`, uppercased.
    public var authMechanisms: Set<String> {
        Set((self.keywords["AUTH"] ?? []).map { $0.uppercased() })
    }

    /// The fixed message size limit from `SIZE n` (RFC 1870); `nil` when not advertised or `0` (no fixed limit).
    public var maxMessageSize: Int? {
        guard let value = self.keywords["SIZE"]?.first.flatMap({ Int($0) }), value > 0 else { return nil }
        return value
    }

    /// `STARTTLS` (RFC 3207).
    public var startTLS: Bool { self.supports("STARTTLS") }
    /// `SIZE` (RFC 1870): the `SIZE=` parameter may be given on `MAIL`.
    public var size: Bool { self.supports("SIZE") }
    /// `8BITMIME` (RFC 6152).
    public var eightBitMIME: Bool { self.supports("8BITMIME") }
    /// `SMTPUTF8` (RFC 6531).
    public var smtpUTF8: Bool { self.supports("SMTPUTF8") }
    /// `PIPELINING` (RFC 2920).
    public var pipelining: Bool { self.supports("PIPELINING") }
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    public var enhancedStatusCodes: Bool { self.supports("ENHANCEDSTATUSCODES") }
}
