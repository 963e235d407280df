import MailroomTestSupport

/// The IMAP client tests' scripted server: an IMAP greeting unless a test names another (nil: none).
extension ScriptedLineServer {
    static func imap(
        greeting: String? = "* OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS AUTH=PLAIN SASL-IR] Fake ready.\r\n",
        script: @escaping @Sendable (String) -> [Action]
    ) throws -> ScriptedLineServer {
        try ScriptedLineServer(greeting: greeting, script: script)
    }
}

/// Splits `A12 COMMAND args` into (tag, rest).
func splitTag(_ line: String) -> (tag: String, rest: String) {
    guard let space = line.firstIndex(of: " ") else { return (line, "") }
    return (String(line[..<space]), String(line[line.index(after: space)...]))
}
