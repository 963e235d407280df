/// One complete server response, as produced by ``ResponseParser``.
enum Response: Sendable, Equatable {
    /// `* …` — data or status not tied to a tag.
    case untagged(UntaggedResponse)
    /// `A1 OK …` — completion of the command with that tag.
    case tagged(TaggedResponse)
    /// `+ …` — the server waits for more client data (literal or SASL step). Text is raw.
    case continuation(String)
}

/// Completion of a command.
struct TaggedResponse: Sendable, Equatable {
    var tag: String
    var status: StatusResponse
}
