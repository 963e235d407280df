import NIOCore

/// A command ready to send. Synchronizing literals split it into parts: after each part except
/// the last, the client must wait for a `+` continuation request before sending the next.
struct EncodedCommand: Sendable {
    /// The tag, e.g. `A7`.
    var tag: String
    /// The command name for errors and logs (e.g. `UID FETCH`); never includes arguments.
    var name: String
    /// Wire chunks; all but the last end with a synchronizing literal header `{n}\r\n`.
    var parts: [ByteBuffer]
    /// A log-safe rendering of the command (arguments redacted when `sensitive`).
    var logDescription: String
}
