import MailroomCore

extension TokenKeeper {
    /// Signs in with the mailbox's access token, for IMAP and SMTP alike. A token the server refuses earns exactly
    /// one renewal (protocols.md §6): if the provider refuses that, the ``ConnectionFailure`` from renewing says why;
    /// if the server refuses the renewed token too, the token is not the problem, and `refusedAgain` restates that.
    ///
    /// - Parameters:
    ///   - isRefusal: whether an error is the server refusing the token (not an outage such as `[UNAVAILABLE]` or `4yz`).
    ///   - attempt: one sign-in with the given token.
    func signIn(
        _ mailbox: MailboxID, isRefusal: (any Error) -> Bool, refusedAgain: (any Error) -> any Error,
        attempt: (String) async throws -> Void
    ) async throws {
        let access = try await accessToken(for: mailbox)
        do {
            try await attempt(access.token)
            return
        } catch where isRefusal(error) {}
        let renewed = try await accessToken(for: mailbox, replacing: access.token)
        do {
            try await attempt(renewed.token)
        } catch where isRefusal(error) {
            throw refusedAgain(error)
        }
    }
}
