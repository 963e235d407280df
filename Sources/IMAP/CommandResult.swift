/// The outcome of one successfully completed command: its untagged data and tagged `OK`.
struct CommandResult: Sendable, Equatable {
    var untagged: [UntaggedResponse]
    var status: StatusResponse
}
