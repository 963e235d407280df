import IMAP
import Logging
import MailroomCore

/// One IMAP connection for one piece of work: connect, run, log out — or close on failure — with every IMAP
/// error restated as a ``ConnectionFailure`` for Diagnosis.
enum IMAPSession {
    static func with<T: Sendable>(
        _ server: IncomingServer, settings: SyncSettings, logger: Logger, _ body: (IMAPClient) async throws -> T
    ) async throws -> T {
        let imapServer = IMAPServer(
            host: server.host, port: server.port, security: IMAPSecurity(server.security),
            trustedCertificatesPEMFile: settings.trustedCertificatesPEMFile, timeouts: settings.imapTimeouts,
            // Headroom over the limit: RFC822.SIZE is only a hint (Exchange's is approximate), and an overrun is fatal to the connection.
            maxLiteralSize: settings.maxMessageSize + settings.maxMessageSize / 4 + (1 << 20))
        let client: IMAPClient
        do {
            client = try await IMAPClient.connect(to: imapServer, logger: logger)
        } catch let error as IMAPError {
            throw ConnectionFailure(error)
        }
        do {
            let result = try await body(client)
            await client.logout()
            return result
        } catch let error as IMAPError {
            await client.close()
            throw ConnectionFailure(error)
        } catch {
            await client.close()
            throw error
        }
    }
}
