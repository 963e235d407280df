import Foundation
import Logging
import MailroomCore

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
}
