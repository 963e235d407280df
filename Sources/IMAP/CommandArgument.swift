/// One argument of a client command, telling the encoder how it may be put on the wire.
enum CommandArgument: Sendable {
    /// Protocol syntax we generate ourselves or validate (sequence sets, flag lists, search keys).
    /// Sent verbatim; CR, LF and NUL are refused so no caller can inject a second command.
    case raw(String)
    /// A user-supplied string (user name, password, mailbox). Sent as a quoted string when it is
    /// plain 7-bit text, otherwise as a literal.
    case string(String)
    /// Bytes that are sent as a literal unconditionally (e.g. sensitive or binary data).
    case literal([UInt8])
}
