import Foundation
import NIOCore
import SASL

/// The values ``IMAPSessionStateMachine`` works with: where the session is, what it answers, and the command
/// it is running.
extension IMAPSessionStateMachine {
    /// Where the session is (RFC 9051 §3).
    enum State: Sendable, Equatable {
        /// Connected; the server has not greeted yet.
        case awaitingGreeting
        case notAuthenticated
        /// `STARTTLS` was accepted; nothing may be read or sent until the TLS handshake is done.
        case startingTLS
        case authenticated
        case selected(SelectedMailbox)
        /// Terminal.
        case closed(CloseReason)
    }

    /// Why the session ended.
    enum CloseReason: Sendable, Equatable {
        /// `LOGOUT` completed (its `BYE` is the normal end).
        case loggedOut
        /// The server said `BYE` on its own (shutdown, autologout, an access token that expired).
        case bye(code: ResponseCode?, text: String)
        /// A fatal error: timeout, hang-up, unparseable bytes, a protocol violation, TLS refused.
        case failed(IMAPError)
        /// The client closed the connection.
        case closedByClient
    }

    /// The mailbox the server has open for us, and what the server told us about it since, asked or not.
    struct SelectedMailbox: Sendable, Equatable {
        /// The wire name.
        var name: String
        var readOnly: Bool
        /// The latest `* n EXISTS`.
        var exists = 0
        /// The latest `* n RECENT`.
        var recent = 0
        /// `* n EXPUNGE` responses seen (each also lowers `exists`).
        var expunged = 0
        /// `* n FETCH` responses seen outside a message fetch (another client changed flags).
        var flagUpdates = 0
    }

    enum Action: Sendable, Equatable {
        /// Nothing to send; read the next response.
        case readResponse
        /// Send these bytes (a command, the next part of one after `+`, a SASL answer, `DONE`), then read.
        case write(IMAPOutbound)
        /// Give this to the caller.
        case deliver(Delivery)
        /// The command failed; the session goes on.
        case fail(IMAPError)
        /// The session is over: close the connection and report this.
        case close(IMAPError)
    }

    enum Delivery: Sendable, Equatable {
        /// The greeting was `OK` or `PREAUTH`.
        case greeting(StatusResponse)
        /// The command completed with `OK`, with the untagged data collected for it.
        case completed(CommandResult)
        /// One FETCH response of a streamed message fetch; the stream assembles messages.
        case fetched(sequence: UInt32, MessageAttributes)
        /// IDLE is over, and why.
        case idleEnded(IdleOutcome)

        /// The case alone, for errors (a fetched message's contents never go into an error or a log).
        var name: String {
            switch self {
            case .greeting: "greeting"
            case .completed: "completion"
            case .fetched: "FETCH response"
            case .idleEnded: "end of IDLE"
            }
        }
    }

    /// A SASL exchange in progress.
    struct SASLExchange: Sendable {
        var mechanism: any SASLMechanism
        /// The initial response, when the server lacks SASL-IR and it goes after the first `+`.
        var unsentInitialResponse: [UInt8]?
        /// The mechanism threw while answering a challenge; the exchange was cancelled with `*`.
        var mechanismError: String?
    }

    /// The command whose tagged completion is awaited.
    struct RunningCommand: Sendable {
        enum Purpose: Sendable {
            case ordinary
            case startTLS
            case login
            case authenticate(SASLExchange)
            /// The mailbox being opened, filled from the untagged data until the `OK`.
            case select(SelectedMailbox)
            case fetchMessages
            case idle(IdleStateMachine)
            /// The `BYE` once it has come.
            case logout(bye: StatusResponse?)
        }

        var tag: String
        var name: String
        var purpose: Purpose
        /// Parts still to send, each after a `+` (synchronizing literals).
        var pendingParts: ArraySlice<ByteBuffer>
        /// How long the server may take to answer writes of this command.
        var wait: IMAPOutbound.Wait
        var untagged: [UntaggedResponse] = []
        var untaggedBytes = 0
        /// The server told us capabilities while this command ran (so they need not be asked for again).
        var learnedCapabilities = false
    }
}

extension IMAPSessionStateMachine.SASLExchange {
    /// The line answering one `+`: the deferred initial response, or the mechanism's answer to the
    /// (base64) challenge, or `*` to cancel when the mechanism cannot answer.
    mutating func answer(challenge text: String) -> String {
        if let pending = unsentInitialResponse {
            unsentInitialResponse = nil
            return Data(pending).base64EncodedString()
        }
        let challenge = Data(base64Encoded: text).map { [UInt8]($0) } ?? Array(text.utf8)
        do {
            return Data(try mechanism.respond(to: challenge)).base64EncodedString()
        } catch {
            mechanismError = "\(error)"
            return "*"
        }
    }
}
