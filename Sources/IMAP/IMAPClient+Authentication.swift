import Foundation
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
        guard !self.capabilities.contains("LOGINDISABLED") else {
            throw IMAPError(.loginDisabled, command: "LOGIN", detail: "server advertises LOGINDISABLED and no AUTH=PLAIN")
        }
        try await self.exclusive("LOGIN") {
            let generation = self.capabilityGeneration
            do {
                _ = try await self.run("LOGIN", [.string(username), .string(password)], sensitive: true)
            } catch let error as IMAPError where error.kind == .commandFailed {
                throw IMAPError(.authenticationFailed, code: error.code, serverText: error.serverText, command: "LOGIN")
            }
            if generation == self.capabilityGeneration { try await self.refreshCapabilities() }
        }
    }

    /// Runs a generic SASL exchange (`AUTHENTICATE <mechanism>`), e.g. XOAUTH2 later on.
    ///
    /// Challenges are base64-decoded and passed to the mechanism; its answers are base64-encoded.
    /// A server that reports a failure through a challenge (XOAUTH2's JSON error) gets whatever
    /// the mechanism answers, and the tagged `NO` that follows becomes the thrown error. If the
    /// mechanism throws, the exchange is cancelled with `*`.
    public func authenticate(mechanism: some SASLMechanism) async throws {
        var mechanism = mechanism
        try await self.exclusive("AUTHENTICATE") {
            try await self.drainActiveFetch()
            let generation = self.capabilityGeneration
            let initial = mechanism.initialResponse()
            let useInitialResponse = initial != nil && self.capabilities.contains("SASL-IR")
            var arguments: [CommandArgument] = [.raw(mechanism.name)]
            if useInitialResponse, let initial {
                arguments.append(.raw(initial.isEmpty ? "=" : Data(initial).base64EncodedString()))
            }
            let command = try self.encoder.encode("AUTHENTICATE", arguments, sensitive: true)
            try await self.send(command)
            var unsentInitial = useInitialResponse ? nil : initial
            var mechanismError: (any Error)?

            while true {
                switch try await self.nextResponse() {
                case .continuation(let text):
                    let reply: String
                    if let pending = unsentInitial {
                        unsentInitial = nil
                        reply = Data(pending).base64EncodedString()
                    } else {
                        let challenge = Data(base64Encoded: text).map { [UInt8]($0) } ?? Array(text.utf8)
                        do {
                            reply = Data(try mechanism.respond(to: challenge)).base64EncodedString()
                        } catch {
                            mechanismError = error
                            reply = "*"
                        }
                    }
                    self.logger.debug("C: <SASL response redacted>")
                    try await self.connection.send(
                        try CommandEncoder.line(reply),
                        wait: .command(.init(duration: self.server.timeouts.command)),
                        command: "AUTHENTICATE"
                    )
                case .untagged(let untagged):
                    try self.observe(untagged, command: "AUTHENTICATE")
                case .tagged(let tagged) where tagged.tag == command.tag:
                    self.logger.debug("S: \(tagged.tag) \(tagged.status.kind.rawValue) \(tagged.status.text)")
                    if case .capability(let caps) = tagged.status.code { self.setCapabilities(caps) }
                    switch tagged.status.kind {
                    case .ok:
                        if generation == self.capabilityGeneration { try await self.refreshCapabilities() }
                        return
                    case .no:
                        // The mechanism's decoded error challenge (XOAUTH2/OAUTHBEARER JSON) is the admin's best detail.
                        throw IMAPError(.authenticationFailed, code: tagged.status.code, serverText: tagged.status.text, command: "AUTHENTICATE",
                                        detail: mechanism.failureDetail.map { "\(mechanism.name): \($0)" })
                    default:
                        var error = Self.error(for: tagged.status, command: "AUTHENTICATE")
                        if let mechanismError {
                            error.kind = .authenticationFailed
                            error.detail = "\(mechanismError)"
                        } else if let detail = mechanism.failureDetail {
                            error.detail = "\(mechanism.name): \(detail)"
                        }
                        throw error
                    }
                case .tagged:
                    continue
                }
            }
        }
    }
}
