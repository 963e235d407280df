import SASL

extension IMAPClient {
    /// Authenticates with a user name and password.
    ///
    /// Uses `AUTHENTICATE PLAIN` when the server advertises `AUTH=PLAIN` (with the SASL-IR initial
    /// response when `SASL-IR` is advertised), otherwise the `LOGIN` command. `LOGINDISABLED`
    /// without `AUTH=PLAIN` is refused locally so the password is never sent where the server
    /// asked us not to.
    ///
    /// - Throws: ``IMAPError`` with kind `.authenticationFailed` and the RFC 5530 ``IMAPError/code``
    ///   (e.g. `.authenticationFailed`, `.unavailable`, `.expired`) when the server says `NO`;
    ///   `.loginDisabled` when no permitted method exists.
    public func login(username: String, password: String) async throws {
        if self.capabilities.contains("AUTH=PLAIN") {
            try await self.authenticate(mechanism: SASLPlain(authenticationIdentity: username, password: password))
            return
        }
        try await self.exclusive("LOGIN") {
            _ = try await self.execute(.login(username: username, password: password))
            if self.session.capabilities == nil { try await self.refreshCapabilities() }
        }
    }

    /// Runs a generic SASL exchange (`AUTHENTICATE <mechanism>`), e.g. XOAUTH2 later on.
    ///
    /// Challenges are base64-decoded and passed to the mechanism; its answers are base64-encoded.
    /// A server that reports a failure through a challenge (XOAUTH2's JSON error) gets whatever
    /// the mechanism answers, and the tagged `NO` that follows becomes the thrown error. If the
    /// mechanism throws, the exchange is cancelled with `*`.
    public func authenticate(mechanism: some SASLMechanism) async throws {
        try await self.exclusive("AUTHENTICATE") {
            _ = try await self.execute(.authenticate(mechanism))
            if self.session.capabilities == nil { try await self.refreshCapabilities() }
        }
    }
}
