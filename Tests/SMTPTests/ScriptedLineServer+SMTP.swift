import MailroomTestSupport

/// The SMTP client tests' scripted server: an SMTP greeting unless a test names another (nil: none), and message
/// data after a `354` kept apart from commands.
extension ScriptedLineServer {
    static let smtpGreeting = "220 fake.test ESMTP ready\r\n"

    static func smtp(greeting: String? = smtpGreeting, script: @escaping @Sendable (String) -> [Action]) throws -> ScriptedLineServer {
        try ScriptedLineServer(greeting: greeting, smtpData: true, script: script)
    }

    /// Answers the n-th command line with `replies[n]`; lines beyond the list get `500`.
    static func smtp(greeting: String? = smtpGreeting, replies: [[Action]]) throws -> ScriptedLineServer {
        try ScriptedLineServer(greeting: greeting, smtpData: true, replies: replies)
    }
}
