import Foundation
import NIOCore
import SASL
import Testing

@testable import IMAP

/// The IMAP session as a value: each hostile or odd server behaviour is a line or two, no sockets.
@Suite("IMAP session state machine")
struct SessionStateMachineTests {
    typealias Machine = IMAPSessionStateMachine

    /// One server line, parsed as the client would see it.
    static func r(_ line: String) -> Response {
        var parser = ResponseParser()
        guard let response = try? parser.feed(Array((line + "\r\n").utf8)).first else {
            Issue.record("unparseable test line: \(line)")
            return .continuation("")
        }
        return response
    }

    /// A machine past the greeting (`OK`, or `PREAUTH`) with these capabilities.
    static func greeted(_ caps: String = "IMAP4rev1 IDLE UIDPLUS LITERAL+ SASL-IR AUTH=PLAIN", preauth: Bool = false) -> Machine {
        var machine = Machine()
        _ = machine.received(r("* \(preauth ? "PREAUTH" : "OK") [CAPABILITY \(caps)] ready"))
        return machine
    }

    /// A machine with INBOX selected, holding `exists` messages.
    static func selected(exists: Int = 3) -> Machine {
        var machine = greeted(preauth: true)
        _ = machine.sendCommand(.select(mailbox: "INBOX", readOnly: false))
        _ = machine.received(r("* \(exists) EXISTS"))
        _ = machine.received(r("* OK [UIDVALIDITY 42] ok"))
        _ = machine.received(r("A1 OK [READ-WRITE] done"))
        return machine
    }

    /// A machine in IDLE (the server's `+` received).
    static func idling() -> Machine {
        var machine = selected()
        _ = machine.sendCommand(.idle(renewAfter: .seconds(60)))
        _ = machine.received(r("+ idling"))
        return machine
    }

    // MARK: - Greeting

    @Test("OK greeting: not authenticated, capabilities from its code")
    func okGreeting() {
        var machine = Machine()
        #expect(machine.received(Self.r("* OK [CAPABILITY IMAP4rev1 IDLE] hi")).delivery == .greeting(StatusResponse(kind: .ok, code: .capability(["IMAP4rev1", "IDLE"]), text: "hi")))
        #expect(machine.state == .notAuthenticated && machine.capabilities == ["IMAP4REV1", "IDLE"])
    }

    @Test("PREAUTH greeting: authenticated at once, and STARTTLS after it ends the session (downgrade)")
    func preauth() {
        var machine = Self.greeted(preauth: true)
        #expect(machine.state == .authenticated)
        #expect(machine.sendCommand(.startTLS).closing?.kind == .tlsFailed)
        #expect(machine.isClosed)
    }

    @Test("BYE as the greeting closes with the server's words")
    func byeGreeting() {
        var machine = Machine()
        let error = machine.received(Self.r("* BYE Too many connections")).closing
        #expect(error?.kind == .connectionClosed && error?.serverText == "Too many connections" && error?.command == "greeting")
        #expect(machine.state == .closed(.bye(code: nil, text: "Too many connections")))
    }

    @Test("Anything but a status first is a protocol violation; NO as a greeting too")
    func notAGreeting() {
        var tagged = Machine()
        #expect(tagged.received(Self.r("A1 OK hello")).closing?.kind == .protocolViolation)
        var no = Machine()
        #expect(no.received(Self.r("* NO go away")).closing?.kind == .protocolViolation)
        var early = Machine()
        #expect(early.sendCommand(.noop).failure?.kind == .unsupported)
    }

    // MARK: - Tags

    @Test("Tags count up; each completion must carry the outstanding tag")
    func tags() {
        var machine = Self.greeted()
        #expect(machine.sendCommand(.noop).written == "A1 NOOP\r\n")
        #expect(machine.received(Self.r("A1 OK done")).delivery == .completed(CommandResult(untagged: [], status: StatusResponse(kind: .ok, text: "done"))))
        #expect(machine.sendCommand(.noop).written == "A2 NOOP\r\n")
    }

    @Test("A tagged response with the wrong tag is a protocol violation")
    func wrongTag() {
        var machine = Self.greeted()
        _ = machine.sendCommand(.noop)
        #expect(machine.received(Self.r("A7 OK done")).closing?.detail == "tagged response A7 while A1 is outstanding")
        #expect(machine.isClosed)
    }

    @Test("A tagged response while no command runs is a protocol violation")
    func taggedWithoutCommand() {
        var machine = Self.greeted()
        #expect(machine.received(Self.r("A1 OK surprise")).closing?.kind == .protocolViolation)
    }

    @Test("A second command while one runs is refused without a byte sent")
    func oneAtATime() {
        var machine = Self.greeted()
        _ = machine.sendCommand(.noop)
        #expect(machine.sendCommand(.expunge).failure?.detail == "NOOP is still running")
        #expect(machine.running?.name == "NOOP")
    }

    // MARK: - Continuation requests

    @Test("`+` when no command expects one is a protocol violation")
    func unexpectedContinuation() {
        var noop = Self.greeted()
        _ = noop.sendCommand(.noop)
        #expect(noop.received(Self.r("+ go on")).closing?.detail == "unexpected continuation request")
        var idle = Self.greeted()
        #expect(idle.received(Self.r("+ go on")).closing?.kind == .protocolViolation)
    }

    @Test("A synchronizing literal waits for `+`; a tagged NO instead ends the command")
    func synchronizingLiteral() {
        var machine = Self.greeted("IMAP4rev1")
        #expect(machine.sendCommand(.login(username: "agent", password: "Pässwörd")).written == "A1 LOGIN \"agent\" {10}\r\n")
        #expect(machine.received(Self.r("+ ready")).written == "Pässwörd\r\n")
        #expect(machine.received(Self.r("A1 OK [CAPABILITY IMAP4rev1 IDLE] in")).delivery != nil)

        var refused = Self.greeted("IMAP4rev1")
        _ = refused.sendCommand(.login(username: "agent", password: "Pässwörd"))
        #expect(refused.received(Self.r("A1 NO [AUTHENTICATIONFAILED] no")).failure?.kind == .authenticationFailed)
    }

    @Test("AUTHENTICATE without SASL-IR: the initial response goes after the first `+`")
    func saslWithoutInitialResponse() {
        var machine = Self.greeted("IMAP4rev1 AUTH=PLAIN")
        #expect(machine.sendCommand(.authenticate(SASLPlain(authenticationIdentity: "u", password: "p"))).written == "A1 AUTHENTICATE PLAIN\r\n")
        #expect(machine.received(Self.r("+ ")).written == Data("\0u\0p".utf8).base64EncodedString() + "\r\n")
        #expect(machine.received(Self.r("A1 OK in")).delivery != nil)
        #expect(machine.state == .authenticated)
    }

    @Test("A mechanism that cannot answer a challenge cancels with `*`; the BAD that follows is an authentication failure")
    func saslMechanismThrows() {
        struct Refusing: SASLMechanism {
            struct Nope: Error, CustomStringConvertible { var description: String { "no answer" } }
            var name: String { "X-TEST" }
            func initialResponse() -> [UInt8]? { nil }
            func respond(to challenge: [UInt8]) throws -> [UInt8] { throw Nope() }
        }
        var machine = Self.greeted()
        _ = machine.sendCommand(.authenticate(Refusing()))
        #expect(machine.received(Self.r("+ Y2hhbGxlbmdl")).written == "*\r\n")
        let error = machine.received(Self.r("A1 BAD cancelled")).failure
        #expect(error?.kind == .authenticationFailed && error?.detail == "no answer")
    }

    // MARK: - BYE

    @Test("BYE in the middle of a command closes the session, and later commands are refused")
    func byeMidCommand() {
        var machine = Self.selected()
        _ = machine.sendCommand(.uidSearch(criteria: "ALL"))
        let error = machine.received(Self.r("* BYE [UNAVAILABLE] Autologout")).closing
        #expect(error?.kind == .connectionClosed && error?.code == .unavailable && error?.command == "UID SEARCH")
        #expect(machine.state == .closed(.bye(code: .unavailable, text: "Autologout")))
        let refused = machine.sendCommand(.noop)
        #expect(refused.failure?.kind == .connectionClosed && refused.failure?.serverText == "Autologout" && refused.written == nil)
    }

    @Test("BYE while idle (an access token that expired) closes the session")
    func byeWhileIdle() {
        var machine = Self.idling()
        #expect(machine.received(Self.r("* BYE Session expired, please login again")).closing?.serverText == "Session expired, please login again")
        #expect(!machine.isIdling && machine.isClosed)
    }

    @Test("LOGOUT's BYE is the normal end, with or without the tagged OK before the hang-up")
    func logoutBye() {
        var machine = Self.selected()
        #expect(machine.sendCommand(.logout).written == "A2 LOGOUT\r\n")
        #expect(machine.received(Self.r("* BYE Logging out")) == .readResponse)
        #expect(machine.received(Self.r("A2 OK Logout completed")).delivery != nil)
        #expect(machine.state == .closed(.loggedOut))

        var hungUp = Self.selected()
        _ = hungUp.sendCommand(.logout)
        _ = hungUp.received(Self.r("* BYE Logging out"))
        #expect(hungUp.connectionFailed(IMAPError(.connectionClosed, detail: "server closed the connection")).delivery != nil)
        #expect(hungUp.state == .closed(.loggedOut))
    }

    @Test("After a timeout or a hang-up, commands are refused at once")
    func commandAfterClose() {
        var machine = Self.selected()
        _ = machine.sendCommand(.noop)
        #expect(machine.connectionFailed(IMAPError(.timeout, command: "NOOP")).closing?.kind == .timeout)
        #expect(machine.sendCommand(.noop).failure?.kind == .connectionClosed)
        var closed = Self.greeted()
        closed.closeRequested()
        #expect(closed.sendCommand(.noop).failure?.detail == "the connection is closed")
    }

    // MARK: - NO and BAD

    @Test("NO and BAD mean what callers already handle, per command", arguments: [
        (IMAPCommand.noop, "NO", IMAPError.Kind.commandFailed),
        (.noop, "BAD", .commandRejected),
        (.login(username: "u", password: "p"), "NO", .authenticationFailed),
        (.login(username: "u", password: "p"), "BAD", .commandRejected),
        (.authenticate(SASLPlain(authenticationIdentity: "u", password: "p")), "NO", .authenticationFailed),
        (.authenticate(SASLPlain(authenticationIdentity: "u", password: "p")), "BAD", .commandRejected),
        (.startTLS, "NO", .tlsFailed),
        (.startTLS, "BAD", .tlsFailed),
        (.select(mailbox: "Nope", readOnly: false), "NO", .commandFailed),
        (.uidSearch(criteria: "ALL"), "BAD", .commandRejected),
        (.uidFetchMessages([1]), "NO", .commandFailed),
        (.uidStore([1], item: "+FLAGS", flags: ["\\Seen"]), "NO", .commandFailed),
        (.idle(renewAfter: .seconds(60)), "BAD", .commandRejected),
    ])
    func refusals(_ command: IMAPCommand, _ status: String, _ kind: IMAPError.Kind) {
        var machine = Self.greeted()
        _ = machine.sendCommand(command)
        let action = machine.received(Self.r("A1 \(status) [CANNOT] refused"))
        let error = action.failure ?? action.closing
        #expect(error?.kind == kind && error?.code == .cannot && error?.serverText == "refused" && error?.command == command.name)
        #expect(machine.isClosed == (kind == .tlsFailed))
    }

    @Test("A failed SELECT leaves no mailbox selected")
    func failedSelect() {
        var machine = Self.selected()
        _ = machine.sendCommand(.select(mailbox: "Gone", readOnly: false))
        _ = machine.received(Self.r("A2 NO [NONEXISTENT] no such mailbox"))
        #expect(machine.state == .authenticated)
    }

    @Test("Refused locally: LOGIN under LOGINDISABLED, UID EXPUNGE without UIDPLUS")
    func refusedLocally() {
        var disabled = Self.greeted("IMAP4rev1 STARTTLS LOGINDISABLED")
        #expect(disabled.sendCommand(.login(username: "u", password: "p")).failure?.kind == .loginDisabled)
        var noUIDPlus = Self.greeted("IMAP4rev1")
        #expect(noUIDPlus.sendCommand(.uidExpunge([1])).failure?.detail == "server lacks UIDPLUS")
        #expect(noUIDPlus.nextTag == "A1")
    }

    // MARK: - Capabilities

    @Test("STARTTLS voids the capabilities, and nothing may arrive before the handshake")
    func capabilitiesAfterSTARTTLS() {
        var machine = Self.greeted("IMAP4rev1 STARTTLS LOGINDISABLED")
        _ = machine.sendCommand(.startTLS)
        _ = machine.received(Self.r("A1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Begin TLS"))
        #expect(machine.state == .startingTLS && machine.capabilities == nil)
        var injected = machine
        #expect(injected.received(Self.r("* CAPABILITY IMAP4rev1 AUTH=PLAIN")).closing?.kind == .tlsFailed)
        machine.tlsEstablished()
        #expect(machine.state == .notAuthenticated)
    }

    @Test("Authentication voids the capabilities unless the server sent new ones with it; a failed one keeps them")
    func capabilitiesAfterAuthentication() {
        var silent = Self.greeted("IMAP4rev1 AUTH=PLAIN SASL-IR")
        _ = silent.sendCommand(.authenticate(SASLPlain(authenticationIdentity: "u", password: "p")))
        _ = silent.received(Self.r("A1 OK in"))
        #expect(silent.capabilities == nil)

        var untagged = Self.greeted("IMAP4rev1 AUTH=PLAIN SASL-IR")
        _ = untagged.sendCommand(.authenticate(SASLPlain(authenticationIdentity: "u", password: "p")))
        _ = untagged.received(Self.r("* CAPABILITY IMAP4rev1 UIDPLUS MOVE"))
        _ = untagged.received(Self.r("A1 OK in"))
        #expect(untagged.capabilities == ["IMAP4REV1", "UIDPLUS", "MOVE"])

        var failed = Self.greeted("IMAP4rev1 LITERAL+")
        _ = failed.sendCommand(.login(username: "u", password: "p"))
        _ = failed.received(Self.r("A1 NO nope"))
        #expect(failed.capabilities == ["IMAP4REV1", "LITERAL+"] && failed.state == .notAuthenticated)
    }

    // MARK: - Untagged data nobody asked for

    @Test("EXISTS, EXPUNGE and FETCH while selected update the mailbox, and stay in the command's answer")
    func newsWhileSelected() {
        var machine = Self.selected(exists: 3)
        #expect(machine.selectedMailbox?.exists == 3)
        _ = machine.sendCommand(.noop)
        _ = machine.received(Self.r("* 5 EXISTS"))
        _ = machine.received(Self.r("* 2 EXPUNGE"))
        _ = machine.received(Self.r("* 1 FETCH (FLAGS (\\Seen))"))
        _ = machine.received(Self.r("* 1 RECENT"))
        guard case .completed(let result)? = machine.received(Self.r("A2 OK done")).delivery else {
            Issue.record("NOOP did not complete")
            return
        }
        #expect(result.untagged.count == 4)
        #expect(machine.selectedMailbox == Machine.SelectedMailbox(name: "INBOX", readOnly: false, exists: 4, recent: 1, expunged: 1, flagUpdates: 1))
    }

    @Test("EXISTS while idle: one DONE, and IDLE ends naming the new count")
    func existsWhileIdle() {
        var machine = Self.idling()
        #expect(machine.isIdling)
        #expect(machine.received(Self.r("* 4 EXISTS")).written == "DONE\r\n")
        #expect(machine.received(Self.r("* 5 EXISTS")) == .readResponse)
        #expect(machine.received(Self.r("A2 OK Idle completed")).delivery == .idleEnded(.changed(exists: 5)))
        #expect(machine.selectedMailbox?.exists == 5 && !machine.isIdling)
    }

    @Test("EXPUNGE while idle ends it too; the renewal time sends DONE once, a stop before `+` waits for it")
    func expungeAndStopsWhileIdle() {
        var expunged = Self.idling()
        #expect(expunged.received(Self.r("* 1 EXPUNGE")).written == "DONE\r\n")
        #expect(expunged.stopIdle(.renew, tag: "A2") == nil)
        #expect(expunged.received(Self.r("A2 OK done")).delivery == .idleEnded(.changed(exists: nil)))
        #expect(expunged.selectedMailbox?.exists == 2)

        var early = Self.selected()
        _ = early.sendCommand(.idle(renewAfter: .seconds(60)))
        #expect(early.stopIdle(.interrupted, tag: "A2") == nil)
        #expect(early.received(Self.r("+ idling")).written == "DONE\r\n")
        var notIdling = Self.selected()
        #expect(notIdling.stopIdle(.renew, tag: "A2") == nil)

        // A late stop from an IDLE that has ended does not touch the next one.
        var next = Self.idling()
        _ = next.received(Self.r("* 4 EXISTS"))
        _ = next.received(Self.r("A2 OK done"))
        _ = next.sendCommand(.idle(renewAfter: .seconds(60)))
        _ = next.received(Self.r("+ idling"))
        #expect(next.stopIdle(.renew, tag: "A2") == nil)
        #expect(next.stopIdle(.renew, tag: "A3")?.bytes == ByteBuffer(string: "DONE\r\n"))
    }

    @Test("Untagged data between commands is kept for the next one, not an error; a BYE there still closes")
    func untaggedBetweenCommands() {
        var machine = Self.selected(exists: 3)
        #expect(machine.received(Self.r("* 4 EXISTS")) == .readResponse)
        #expect(machine.unsolicited == [.exists(4)] && machine.selectedMailbox?.exists == 4)
        _ = machine.sendCommand(.noop)
        #expect(machine.received(Self.r("A2 OK done")).delivery == .completed(CommandResult(untagged: [.exists(4)], status: StatusResponse(kind: .ok, text: "done"))))

        // News before IDLE ends IDLE as soon as it has begun.
        var beforeIdle = Self.selected(exists: 3)
        _ = beforeIdle.received(Self.r("* 4 EXISTS"))
        _ = beforeIdle.sendCommand(.idle(renewAfter: .seconds(60)))
        #expect(beforeIdle.received(Self.r("+ idling")).written == "DONE\r\n")

        var bye = Self.selected()
        #expect(bye.received(Self.r("* BYE shutting down")).closing?.kind == .connectionClosed)
    }

    @Test("A streamed fetch hands over each FETCH and keeps none; a flood of untagged lines fails other commands")
    func fetchAndFlood() {
        var fetch = Self.selected()
        _ = fetch.sendCommand(.uidFetchMessages([10]))
        #expect(fetch.received(Self.r("* 1 FETCH (UID 10 FLAGS ())")).delivery == .fetched(sequence: 1, MessageAttributes(uid: 10, flags: [])))
        #expect(fetch.received(Self.r("* OK [ALERT] still here")) == .readResponse)
        #expect(fetch.received(Self.r("A2 OK done")).delivery == .completed(CommandResult(untagged: [], status: StatusResponse(kind: .ok, text: "done"))))
        #expect(fetch.selectedMailbox?.flagUpdates == 0)

        var flood = Self.greeted()
        flood.maxUntaggedBytesPerCommand = 1000
        _ = flood.sendCommand(.noop)
        var last = Machine.Action.readResponse
        for _ in 0..<20 where last == .readResponse { last = flood.received(Self.r("* OK still thinking")) }
        #expect(last.closing?.detail == "more than 1000 bytes of untagged responses to one command")
    }
}

extension IMAPSessionStateMachine {
    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }
}

extension IMAPSessionStateMachine.Action {
    /// The bytes of a write, as text.
    var written: String? {
        guard case .write(let outbound) = self else { return nil }
        return String(buffer: outbound.bytes)
    }

    var delivery: IMAPSessionStateMachine.Delivery? {
        guard case .deliver(let delivery) = self else { return nil }
        return delivery
    }

    /// The error of a command that failed while the session goes on.
    var failure: IMAPError? {
        guard case .fail(let error) = self else { return nil }
        return error
    }

    /// The error that ended the session.
    var closing: IMAPError? {
        guard case .close(let error) = self else { return nil }
        return error
    }
}
