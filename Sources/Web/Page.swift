/// Every page Mailroom renders, each from its own template file in `Resources/templates`, embedded in the binary
/// (SwiftPM `.embedInCode`): a page that is not a case here cannot be asked for, and a case without its file does
/// not build.
enum Page: String, CaseIterable, Sendable {
    case layout, tickets, ticket, channels, mailbox
    case notFound = "not_found"
    case newMailbox = "new_mailbox"
    case signIn = "signin"
    case signInFailed = "signin_failed"
    case helpReauthorize = "help_reauthorize"

    /// The template's text.
    var template: String {
        let bytes: [UInt8] = switch self {
        case .layout: PackageResources.layout_mustache
        case .tickets: PackageResources.tickets_mustache
        case .ticket: PackageResources.ticket_mustache
        case .channels: PackageResources.channels_mustache
        case .mailbox: PackageResources.mailbox_mustache
        case .notFound: PackageResources.not_found_mustache
        case .newMailbox: PackageResources.new_mailbox_mustache
        case .signIn: PackageResources.signin_mustache
        case .signInFailed: PackageResources.signin_failed_mustache
        case .helpReauthorize: PackageResources.help_reauthorize_mustache
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The files served as they are under `/static/`, from `Resources/static`.
enum StaticFile: String, CaseIterable, Sendable {
    /// Pre-fills a provider's servers on *New support email*; a file because the pages' Content-Security-Policy
    /// allows no inline script.
    case mailboxForm = "mailbox-form.js"
    case stylesheet = "mailroom.css"

    var contentType: String {
        switch self {
        case .mailboxForm: "text/javascript; charset=utf-8"
        case .stylesheet: "text/css; charset=utf-8"
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .mailboxForm: PackageResources.mailbox_form_js
        case .stylesheet: PackageResources.mailroom_css
        }
    }
}
