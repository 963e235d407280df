import Foundation
import Logging
import MailroomCore
import SASL
import SMTP

/// «Save tests the connection first»: signs in and opens the folder with a credential that is not stored yet,
/// so a wrong password or a token for the wrong mailbox is reported before anything changes.
public struct ConnectionTest: Sendable {
    let settings: SyncSettings
    let logger: Logger

    public init(settings: SyncSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Signs in to `server` and opens its folder read-only. Returns the judgement when it fails.
    public func incoming(_ server: IncomingServer, provider: MailProvider, credential: GivenCredential) async -> Diagnosis.Verdict? {
        do {
            try await IMAPSession.with(server, settings: settings, logger: logger) { client in
                try await IMAPSignIn.signIn(client, user: server.username, with: credential)
                _ = try await client.select(server.folder, readOnly: true)
            }
            return nil
        } catch let failure as ConnectionFailure {
            return Diagnosis.incoming(failure, server: server, provider: provider)
        } catch {
            return Diagnosis.incoming(ConnectionFailure(kind: .protocolError, serverText: "\(error)"), server: server, provider: provider)
        }
    }

    /// Tests every direction the mailbox uses its own servers for, incoming first; the first failure wins.
    public func servers(incoming: IncomingServer?, outgoing: OutgoingServer?, provider: MailProvider, credential: GivenCredential) async -> Diagnosis.Verdict? {
        if let incoming, let verdict = await self.incoming(incoming, provider: provider, credential: credential) { return verdict }
        if let outgoing, let verdict = await self.outgoing(outgoing, provider: provider, credential: credential) { return verdict }
        return nil
    }

    /// Signs in to the outgoing server and quits without sending anything (PRODUCT.md: «SMTP: sign in, no mail sent»).
    public func outgoing(_ server: OutgoingServer, provider: MailProvider, credential: GivenCredential) async -> Diagnosis.Verdict? {
        let client: SMTPClient
        do {
            client = try await SMTPClient.connect(to: SMTPServer(server, trusting: settings.trustedCertificatesPEMFile), logger: logger)
        } catch {
            return Diagnosis.outgoing(OutgoingFailure(error), server: server, provider: provider)
        }
        do {
            switch credential {
            case .password(let password):
                try await client.login(username: server.username, password: password)
            case .accessToken(let token):
                try await client.authenticate(mechanism: await client.oauthMechanism(user: server.username, token: token))
            }
            await client.quit()
            return nil
        } catch {
            await client.close()
            // A token issued moments ago that the server refuses: SMTP AUTH is off for the mailbox, not a dead sign-in.
            if case .accessToken = credential { return Diagnosis.outgoing(OutgoingFailure(error, freshToken: true), server: server, provider: provider) }
            return Diagnosis.outgoing(OutgoingFailure(error), server: server, provider: provider)
        }
    }
}
