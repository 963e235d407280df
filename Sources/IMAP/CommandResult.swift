/// The outcome of one successfully completed command: its untagged data and tagged `OK`.
struct CommandResult: Sendable {
    var untagged: [UntaggedResponse]
    var status: StatusResponse
}
