import Foundation
import NIOCore
import SASL

/// One IMAP session as a value: commands and server responses in, actions out.
///
/// Every protocol decision lives here (the pattern of PostgresNIO's `ConnectionStateMachine`): the greeting,
/// the session state, tags, `+` continuation requests, untagged data nobody asked for, `BYE`, capabilities,
/// and what a tagged `OK`/`NO`/`BAD` means for each command. ``IMAPClient`` only moves responses in and
/// carries out the actions, and ``IMAPChannelHandler`` only moves bytes; so every hostile-server case is a
/// one-line test on this value. IDLE is delegated to ``IdleStateMachine``.
///
/// One command at a time (no pipelining). After ``State/closed(_:)`` nothing is sent again.
struct IMAPSessionStateMachine: Sendable {
    private(set) var state = State.awaitingGreeting
    /// Uppercased; `nil` while unknown (before any were advertised, and after STARTTLS or authentication
    /// voided the old ones until the server tells them again).
    private(set) var capabilities: Set<String>?
    private(set) var running: RunningCommand?
    /// Untagged data that came while no command ran, kept for the next command's result.
    private(set) var unsolicited: [UntaggedResponse] = []
    private var unsolicitedBytes = 0
    private var encoder = CommandEncoder()
    let timeouts: IMAPTimeouts

    /// Most untagged data (by ``UntaggedResponse/approximateSize``) one command may accumulate: far above
    /// any real answer (a `UID SEARCH` line is capped at 1 MiB), low enough that a server sending endless
    /// untagged lines fails the command instead of exhausting memory before the command timeout.
    var maxUntaggedBytesPerCommand = 64 << 20

    init(timeouts: IMAPTimeouts = .default) {
        self.timeouts = timeouts
    }

    /// The tag the next command will carry.
    var nextTag: String { encoder.nextTag }

    /// The mailbox open on the server, if any.
    var selectedMailbox: SelectedMailbox? {
        if case .selected(let mailbox) = state { return mailbox }
        return nil
    }

    /// `true` while an IDLE command runs.
    var isIdling: Bool {
        if case .idle = running?.purpose { return true }
        return false
    }

    /// Whether a failure of this kind ends the session: after it the connection's state is unknown.
    static func isFatal(_ kind: IMAPError.Kind) -> Bool {
        switch kind {
        case .connectionFailed, .tlsFailed, .timeout, .connectionClosed, .protocolViolation, .literalTooLarge, .lineTooLong:
            true
        case .commandFailed, .commandRejected, .authenticationFailed, .loginDisabled, .unsupported:
            false
        }
    }

    // MARK: - Inputs

    /// One response from the server.
    mutating func received(_ response: Response) -> Action {
        switch state {
        case .closed(let reason):
            return .fail(Self.closedError(reason, command: running?.name))
        case .awaitingGreeting:
            return greeting(response)
        case .startingTLS:
            // Anything between STARTTLS's OK and the handshake came in plaintext: possibly injected.
            return fatal(IMAPError(.tlsFailed, command: "STARTTLS", detail: "server sent data after STARTTLS OK (possible injection)"))
        case .notAuthenticated, .authenticated, .selected:
            break
        }
        switch response {
        case .untagged(let untagged): return self.untagged(untagged)
        case .tagged(let tagged): return self.tagged(tagged)
        case .continuation(let text): return continuation(text)
        }
    }

    /// The connection ended under us: EOF, a timeout, a TLS or I/O error, unparseable bytes (the channel
    /// handler's terminal error), or a fatal error the client found itself.
    mutating func connectionFailed(_ error: IMAPError) -> Action {
        var error = error
        if error.command == nil { error.command = running?.name ?? (state == .awaitingGreeting ? "greeting" : nil) }
        if case .closed = state { return .close(error) }
        if let command = running, case .logout(let bye?) = command.purpose, error.kind == .connectionClosed {
            // Hanging up after LOGOUT's BYE without the tagged OK is how many servers end; it is still the normal end.
            running = nil
            state = .closed(.loggedOut)
            return .deliver(.completed(CommandResult(untagged: command.untagged, status: bye)))
        }
        return fatal(error)
    }

    /// The TLS handshake after `STARTTLS` succeeded.
    mutating func tlsEstablished() {
        guard state == .startingTLS else { return }
        state = .notAuthenticated
    }

    /// The client closed the connection.
    mutating func closeRequested() {
        if case .closed = state { return }
        running = nil
        state = .closed(.closedByClient)
    }

    /// The renewal time, or the caller's stop, during the IDLE tagged `tag`: the `DONE` to write, if one is due now.
    ///
    /// Keyed by tag because the stop comes from another task: a late one from an IDLE that has ended must not
    /// end the next.
    mutating func stopIdle(_ why: IdleOutcome, tag: String) -> IMAPOutbound? {
        guard var command = running, command.tag == tag, case .idle(var idle) = command.purpose else { return nil }
        let action = idle.stop(why)
        command.purpose = .idle(idle)
        running = command
        return action == .sendDone ? doneOutbound : nil
    }

    // MARK: - Greeting

    private mutating func greeting(_ response: Response) -> Action {
        guard case .untagged(.status(let greeting)) = response else {
            return fatal(IMAPError(.protocolViolation, command: "greeting", detail: "server did not start with a greeting"))
        }
        switch greeting.kind {
        case .ok:
            state = .notAuthenticated
        case .preauth:
            state = .authenticated
        case .bye:
            return serverEnded(greeting, command: "greeting")
        case .no, .bad:
            return fatal(IMAPError(.protocolViolation, code: greeting.code, serverText: greeting.text, command: "greeting"))
        }
        if case .capability(let caps) = greeting.code { learn(caps) }
        return .deliver(.greeting(greeting))
    }

    // MARK: - Untagged data

    private mutating func untagged(_ response: UntaggedResponse) -> Action {
        // What matters to the session whichever command runs, or none.
        switch response {
        case .capability(let caps):
            learn(caps)
        case .status(let status):
            if case .capability(let caps) = status.code { learn(caps) }
            if status.kind == .bye {
                guard var command = running, case .logout = command.purpose else {
                    return serverEnded(status, command: running?.name)
                }
                command.purpose = .logout(bye: status)
                running = command
                return .readResponse
            }
        case .exists(let count):
            updateMailbox { $0.exists = count }
        case .recent(let count):
            updateMailbox { $0.recent = count }
        case .expunge:
            updateMailbox {
                $0.exists = max(0, $0.exists - 1)
                $0.expunged += 1
            }
        case .fetch:
            if case .fetchMessages = running?.purpose {} else { updateMailbox { $0.flagUpdates += 1 } }
        case .flags, .search, .other:
            break
        }

        guard var command = running else { return keepUnsolicited(response) }
        switch command.purpose {
        case .fetchMessages:
            // Streamed, not collected: the stream holds at most one message's parts.
            if case .fetch(let sequence, let attributes) = response { return .deliver(.fetched(sequence: sequence, attributes)) }
            return .readResponse
        case .idle(var idle):
            let action = idle.untagged(response)
            command.purpose = .idle(idle)
            running = command
            return perform(action)
        case .ordinary, .startTLS, .login, .authenticate, .select, .logout:
            command.untaggedBytes += response.approximateSize
            guard command.untaggedBytes <= maxUntaggedBytesPerCommand else {
                return fatal(IMAPError(.protocolViolation, command: command.name,
                                       detail: "more than \(maxUntaggedBytesPerCommand) bytes of untagged responses to one command"))
            }
            // Taken out first, so the list grows in place: copied back and forth, a FETCH of 500 sizes cost 125,000
            // copies of responses.
            running = nil
            command.untagged.append(response)
            running = command
            return .readResponse
        }
    }

    /// Untagged data while no command runs is normal (RFC 9051 §7: the server may send it at any time).
    private mutating func keepUnsolicited(_ response: UntaggedResponse) -> Action {
        unsolicitedBytes += response.approximateSize
        guard unsolicitedBytes <= maxUntaggedBytesPerCommand else {
            return fatal(IMAPError(.protocolViolation, detail: "more than \(maxUntaggedBytesPerCommand) bytes of untagged responses between commands"))
        }
        unsolicited.append(response)
        return .readResponse
    }

    /// Applies news to the mailbox being opened, or else to the one open.
    private mutating func updateMailbox(_ update: (inout SelectedMailbox) -> Void) {
        if var command = running, case .select(var mailbox) = command.purpose {
            update(&mailbox)
            command.purpose = .select(mailbox)
            running = command
        } else if case .selected(var mailbox) = state {
            update(&mailbox)
            state = .selected(mailbox)
        }
    }

    // MARK: - Continuation requests

    private mutating func continuation(_ text: String) -> Action {
        guard var command = running else {
            return violation("continuation request while no command is running", command: nil)
        }
        if let part = command.pendingParts.popFirst() {
            running = command
            return .write(IMAPOutbound(bytes: part, wait: command.wait, commandName: command.name))
        }
        switch command.purpose {
        case .authenticate(var exchange):
            let reply = exchange.answer(challenge: text)
            command.purpose = .authenticate(exchange)
            running = command
            do {
                return .write(IMAPOutbound(bytes: try CommandEncoder.line(reply), wait: .command(TimeAmount(duration: timeouts.command)),
                                           commandName: command.name, logDescription: "<SASL response redacted>"))
            } catch {
                return fail(IMAPError.wrapping(error))
            }
        case .idle(var idle):
            let action = idle.continuation()
            command.purpose = .idle(idle)
            running = command
            return perform(action)
        case .ordinary, .startTLS, .login, .select, .fetchMessages, .logout:
            return violation("unexpected continuation request", command: command.name)
        }
    }

    // MARK: - Tagged completions

    private mutating func tagged(_ response: TaggedResponse) -> Action {
        guard let command = running else {
            return violation("tagged response \(Self.shown(response.tag)) while no command is running", command: nil)
        }
        guard response.tag == command.tag else {
            return violation("tagged response \(Self.shown(response.tag)) while \(command.tag) is outstanding", command: command.name)
        }
        if case .capability(let caps) = response.status.code { learn(caps) }
        // `learn` may have marked the command; read it again.
        let finished = running ?? command
        running = nil
        return complete(finished, response.status)
    }

    private mutating func complete(_ command: RunningCommand, _ status: StatusResponse) -> Action {
        guard status.kind == .ok else {
            // A failed SELECT leaves no mailbox open (RFC 9051 §6.3.2).
            if case .select = command.purpose, case .selected = state { state = .authenticated }
            return fail(Self.error(for: status, of: command))
        }
        let result = CommandResult(untagged: command.untagged, status: status)
        switch command.purpose {
        case .ordinary, .fetchMessages:
            break
        case .startTLS:
            // Whatever was advertised in plaintext is void once TLS is up; the server must tell us again.
            state = .startingTLS
            setCapabilities(nil)
        case .login, .authenticate:
            state = .authenticated
            if !command.learnedCapabilities { setCapabilities(nil) }
        case .select(var mailbox):
            if status.code == .readOnly { mailbox.readOnly = true }
            state = .selected(mailbox)
        case .idle(var idle):
            return perform(idle.tagged(status))
        case .logout:
            state = .closed(.loggedOut)
        }
        return .deliver(.completed(result))
    }

    /// The error a tagged `NO`/`BAD` means for this command, in the kinds callers already handle.
    static func error(for status: StatusResponse, of command: RunningCommand) -> IMAPError {
        var error = IMAPError(status.kind == .bad ? .commandRejected : .commandFailed, code: status.code, serverText: status.text, command: command.name)
        switch command.purpose {
        case .startTLS:
            error.kind = .tlsFailed
        case .login:
            if status.kind == .no { error.kind = .authenticationFailed }
        case .authenticate(let exchange):
            let failureDetail = exchange.mechanism.failureDetail.map { "\(exchange.mechanism.name): \($0)" }
            if status.kind == .no {
                // The mechanism's decoded error challenge (XOAUTH2/OAUTHBEARER JSON) is the admin's best detail.
                error.kind = .authenticationFailed
                error.detail = failureDetail
            } else if let mechanismError = exchange.mechanismError {
                error.kind = .authenticationFailed
                error.detail = mechanismError
            } else {
                error.detail = failureDetail
            }
        case .ordinary, .select, .fetchMessages, .idle, .logout:
            break
        }
        return error
    }

    // MARK: - Shared steps

    /// Carries out what the IDLE machine decided.
    private mutating func perform(_ action: IdleStateMachine.Action) -> Action {
        switch action {
        case .none: return .readResponse
        case .sendDone: return .write(doneOutbound)
        case .finish(let outcome): return .deliver(.idleEnded(outcome))
        case .fail(let kind, let detail): return fail(IMAPError(kind, command: "IDLE", detail: detail))
        }
    }

    private var doneOutbound: IMAPOutbound {
        IMAPOutbound(bytes: ByteBuffer(string: "DONE\r\n"), wait: .command(TimeAmount(duration: timeouts.command)),
                     commandName: "IDLE", logDescription: "DONE")
    }

    /// Records capabilities the server advertised, wherever they came from.
    private mutating func learn(_ caps: [String]) {
        setCapabilities(Set(caps.map { $0.uppercased() }))
        running?.learnedCapabilities = true
    }

    private mutating func setCapabilities(_ caps: Set<String>?) {
        capabilities = caps
        encoder.literalPlus = caps?.contains("LITERAL+") ?? false
        encoder.literalMinus = caps?.contains("LITERAL-") ?? false
    }

    /// A `BYE` outside LOGOUT: the server ends the session, with its words.
    private mutating func serverEnded(_ bye: StatusResponse, command: String?) -> Action {
        let error = IMAPError(.connectionClosed, code: bye.code, serverText: bye.text, command: command)
        running = nil
        state = .closed(.bye(code: bye.code, text: bye.text))
        return .close(error)
    }

    private mutating func violation(_ detail: String, command: String?) -> Action {
        fatal(IMAPError(.protocolViolation, command: command, detail: detail))
    }

    /// A failure: the session ends if the kind is fatal, else only the command fails.
    mutating func fail(_ error: IMAPError) -> Action {
        Self.isFatal(error.kind) ? fatal(error) : .fail(error)
    }

    mutating func fatal(_ error: IMAPError) -> Action {
        var error = error
        if error.command == nil { error.command = running?.name }
        running = nil
        if case .closed = state {} else { state = .closed(.failed(error)) }
        return .close(error)
    }

    /// What a command gets once the session is over.
    static func closedError(_ reason: CloseReason, command: String?) -> IMAPError {
        switch reason {
        case .loggedOut:
            return IMAPError(.connectionClosed, command: command, detail: "the session has logged out")
        case .bye(let code, let text):
            return IMAPError(.connectionClosed, code: code, serverText: text, command: command, detail: "the server ended the session")
        case .failed(let error):
            return IMAPError(.connectionClosed, command: command, detail: "the session ended after \(error)")
        case .closedByClient:
            return IMAPError(.connectionClosed, command: command, detail: "the connection is closed")
        }
    }

    /// A server-sent tag, shortened for an error message.
    private static func shown(_ tag: String) -> String {
        tag.count > 20 ? "\(tag.prefix(20))…" : tag
    }
}

extension IMAPSessionStateMachine {
    /// Starts a command: allocates its tag and encodes it, or refuses it locally.
    ///
    /// Refused without a byte sent: anything before the greeting, during the TLS handshake, after the
    /// session closed, or while another command runs; `LOGIN` where the server advertises `LOGINDISABLED`
    /// (the password must not go where the server asked us not to send it); `UID EXPUNGE` without UIDPLUS.
    /// `STARTTLS` once authenticated ends the session: a `PREAUTH` greeting on a connection that must be
    /// upgraded is the classic downgrade.
    mutating func sendCommand(_ command: IMAPCommand) -> Action {
        let name = command.name
        switch state {
        case .closed(let reason):
            return .fail(Self.closedError(reason, command: name))
        case .awaitingGreeting:
            return .fail(IMAPError(.unsupported, command: name, detail: "the server has not greeted yet"))
        case .startingTLS:
            return .fail(IMAPError(.unsupported, command: name, detail: "the TLS handshake is not done yet"))
        case .notAuthenticated, .authenticated, .selected:
            break
        }
        if let running {
            return .fail(IMAPError(.unsupported, command: name, detail: "\(running.name) is still running"))
        }

        var wait = IMAPOutbound.Wait.command(TimeAmount(duration: timeouts.command))
        var arguments: [CommandArgument] = []
        var sensitive = false
        var purpose = RunningCommand.Purpose.ordinary
        switch command {
        case .capability, .noop, .expunge:
            break
        case .startTLS:
            guard state == .notAuthenticated else {
                return fatal(IMAPError(.tlsFailed, command: name, detail: "STARTTLS is impossible once authenticated (PREAUTH greeting)"))
            }
            purpose = .startTLS
        case .login(let username, let password):
            if capabilities?.contains("LOGINDISABLED") == true {
                let detail = capabilities?.contains("AUTH=PLAIN") == true
                    ? "server advertises LOGINDISABLED" : "server advertises LOGINDISABLED and no AUTH=PLAIN"
                return .fail(IMAPError(.loginDisabled, command: name, detail: detail))
            }
            arguments = [.string(username), .string(password)]
            sensitive = true
            purpose = .login
        case .authenticate(var mechanism):
            let initial = mechanism.initialResponse()
            let useInitialResponse = initial != nil && capabilities?.contains("SASL-IR") == true
            arguments = [.raw(mechanism.name)]
            if useInitialResponse, let initial {
                arguments.append(.raw(initial.isEmpty ? "=" : Data(initial).base64EncodedString()))
            }
            sensitive = true
            purpose = .authenticate(SASLExchange(mechanism: mechanism, unsentInitialResponse: useInitialResponse ? nil : initial))
        case .select(let mailbox, let readOnly):
            arguments = [.string(mailbox)]
            purpose = .select(SelectedMailbox(name: mailbox, readOnly: readOnly))
        case .uidSearch(let criteria):
            arguments = [.raw(criteria)]
        case .uidFetchSizes(let set):
            arguments = [.raw(set.description), .raw("(UID RFC822.SIZE)")]
        case .uidFetchMessages(let set):
            arguments = [.raw(set.description), .raw("(UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])")]
            purpose = .fetchMessages
            wait = .streaming(idle: TimeAmount(duration: timeouts.idleData))
        case .uidStore(let set, let item, let flags):
            arguments = [.raw(set.description), .raw(item), .raw("(\(flags.joined(separator: " ")))")]
        case .uidExpunge(let set):
            guard capabilities?.contains("UIDPLUS") == true else {
                return .fail(IMAPError(.unsupported, command: name, detail: "server lacks UIDPLUS"))
            }
            arguments = [.raw(set.description)]
        case .idle(let renewAfter):
            purpose = .idle(IdleStateMachine())
            // Silence is fine for the whole wait; DONE re-arms the timer to a command's limit.
            wait = .streaming(idle: TimeAmount(duration: renewAfter + timeouts.command))
        case .logout:
            purpose = .logout(bye: nil)
        }

        let encoded: EncodedCommand
        do {
            encoded = try encoder.encode(name, arguments, sensitive: sensitive)
        } catch {
            return .fail(IMAPError.wrapping(error))
        }
        guard let first = encoded.parts.first else {
            return .fail(IMAPError(.unsupported, command: name, detail: "command encoded to nothing"))
        }
        var started = RunningCommand(tag: encoded.tag, name: name, purpose: purpose, pendingParts: encoded.parts.dropFirst(), wait: wait)
        // Data the server sent between commands is part of what the caller learns now.
        switch started.purpose {
        case .idle(var idle):
            // News that came before IDLE still ends it at once: the caller has something to sync.
            for response in unsolicited { _ = idle.untagged(response) }
            started.purpose = .idle(idle)
        case .fetchMessages:
            break
        case .ordinary, .startTLS, .login, .authenticate, .select, .logout:
            started.untagged = unsolicited
            started.untaggedBytes = unsolicitedBytes
        }
        unsolicited = []
        unsolicitedBytes = 0
        running = started
        return .write(IMAPOutbound(bytes: first, wait: wait, commandName: name, logDescription: encoded.logDescription))
    }
}
