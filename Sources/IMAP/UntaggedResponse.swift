/// The untagged responses the client acts on; everything else is kept as ``other(name:text:)``
/// so unknown extensions never break parsing.
enum UntaggedResponse: Sendable, Equatable {
    case status(StatusResponse)
    case capability([String])
    case flags([String])
    case exists(Int)
    case recent(Int)
    case expunge(UInt32)
    case search([UInt32])
    case fetch(sequence: UInt32, MessageAttributes)
    /// Unknown or uninteresting (LIST, STATUS, ENABLED, ID, …); `text` is the remainder of the line.
    case other(name: String, text: String)
}
