import ArgumentParser
import Foundation
import MailroomCore

/// The servers Microsoft and Gmail mailboxes use unless the admin names one, from the environment. Each is a URL;
/// unset or empty keeps the public server. For Microsoft 365 operated by 21Vianet, GCC High, or the offline demo,
/// whose «Microsoft» and «Gmail» are a local Dovecot.
///
/// | Variable | Default |
/// |---|---|
/// | `MAILROOM_MICROSOFT_IMAP_SERVER` | `imaps://outlook.office365.com:993` |
/// | `MAILROOM_MICROSOFT_SMTP_SERVER` | `smtp://smtp.office365.com:587` |
/// | `MAILROOM_GOOGLE_IMAP_SERVER` | `imaps://imap.gmail.com:993` |
/// | `MAILROOM_GOOGLE_SMTP_SERVER` | `smtp://smtp.gmail.com:587` |
///
/// `imaps://`/`smtps://` mean SSL/TLS, `imap://`/`smtp://` STARTTLS; the parsing lives in MailroomCore
/// (``ProviderServers/init(environment:)``) so it is tested there.
enum ProviderServersConfiguration {
    /// - Throws: `ValidationError` naming each malformed variable, what is wrong and an example, so `serve` and
    ///   `mailbox add` stop before they touch anything.
    static func servers(_ environment: [String: String]) throws -> ProviderServers {
        do {
            return try ProviderServers(environment: environment)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
