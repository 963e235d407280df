import NIOCore

/// A write from the client to ``IMAPChannelHandler``: bytes plus how long to wait for the answer.
///
/// Carrying the wait policy with the write lets the handler arm its timer on the event loop at the
/// exact moment the command leaves, without an extra thread hop per command.
struct IMAPOutbound: Sendable, Equatable {
    enum Wait: Sendable, Equatable {
        /// The whole reply (up to the tagged response or a `+`) must arrive within this time.
        case command(TimeAmount)
        /// Any amount of time is fine as long as the server is never silent for longer than this.
        case streaming(idle: TimeAmount)
    }

    var bytes: ByteBuffer
    var wait: Wait
    /// Command name for the timeout error (never arguments).
    var commandName: String?
    /// What the client logs for this write (redacted where sensitive); `nil`: nothing (a literal's payload).
    var logDescription: String? = nil
}
