import Foundation
import MailroomTestSupport
import Testing

@testable import IMAP

/// IDLE (RFC 2177) as a value: each server behaviour is one line.
@Suite("IDLE state machine")
struct IdleStateMachineTests {
    static let ok = StatusResponse(kind: .ok, code: nil, text: "Idle completed")

    @Test("New mail while idling: one DONE, then the outcome names the new count")
    func newMail() {
        var idle = IdleStateMachine()
        #expect(idle.continuation() == .none)
        #expect(idle.untagged(.exists(7)) == .sendDone)
        #expect(idle.untagged(.exists(8)) == .none)
        #expect(idle.untagged(.expunge(3)) == .none)
        #expect(idle.tagged(Self.ok) == .finish(.changed(exists: 8)))
    }

    @Test("News before the server's `+` is kept, and IDLE ends as soon as it has begun")
    func newsBeforeContinuation() {
        var idle = IdleStateMachine()
        #expect(idle.untagged(.exists(2)) == .none)
        #expect(idle.continuation() == .sendDone)
        #expect(idle.tagged(Self.ok) == .finish(.changed(exists: 2)))
    }

    @Test("The renewal time, or the caller's stop, sends DONE once; news after it still counts")
    func stops() {
        var idle = IdleStateMachine()
        _ = idle.continuation()
        #expect(idle.stop(.renew) == .sendDone)
        #expect(idle.stop(.interrupted) == .none)
        #expect(idle.untagged(.exists(4)) == .none)
        #expect(idle.tagged(Self.ok) == .finish(.changed(exists: 4)))

        var early = IdleStateMachine()
        #expect(early.stop(.interrupted) == .none)
        #expect(early.continuation() == .sendDone)
        #expect(early.tagged(Self.ok) == .finish(.interrupted))
    }

    @Test("An EXPUNGE is news; a second `+` is a protocol violation; an OK the server sends by itself ends IDLE")
    func oddities() {
        var expunged = IdleStateMachine()
        _ = expunged.continuation()
        #expect(expunged.untagged(.expunge(1)) == .sendDone)
        #expect(expunged.tagged(Self.ok) == .finish(.changed(exists: nil)))

        var twice = IdleStateMachine()
        _ = twice.continuation()
        if case .fail(let kind, _) = twice.continuation() { #expect(kind == .protocolViolation) } else { Issue.record("a second + was accepted") }

        var serverEnded = IdleStateMachine()
        _ = serverEnded.continuation()
        #expect(serverEnded.untagged(.status(StatusResponse(kind: .ok, code: nil, text: "Still here"))) == .none)
        #expect(serverEnded.tagged(Self.ok) == .finish(.renew))
    }
}

/// IDLE over a socket, against a scripted server.
@Suite("IMAPClient IDLE against a scripted server", .timeLimit(.minutes(1)))
struct IMAPClientIdleTests {
    static let logger = LogCapture().logger("imap-idle")

    static func server(_ fake: ScriptedLineServer) -> IMAPServer {
        IMAPServer(host: "127.0.0.1", port: fake.port, security: .none,
                   timeouts: .init(connect: .seconds(2), greeting: .seconds(2), command: .seconds(2), idleData: .seconds(2)))
    }

    /// A server with IDLE that announces `announce` once IDLE has begun (nil: stays silent), and answers DONE.
    static func idleServer(announce: String?) throws -> ScriptedLineServer {
        let tag = IdleTag()
        return try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n") { line in
            let (tagged, rest) = splitTag(line)
            if line == "DONE" { return [.send("\(tag.value) OK Idle completed\r\n")] }
            if rest.uppercased() == "IDLE" {
                tag.value = tagged
                return [.send("+ idling\r\n" + (announce ?? ""))]
            }
            return [.send("\(tagged) OK done\r\n")]
        }
    }

    final class IdleTag: @unchecked Sendable {
        private let lock = NSLock()
        private var stored = ""
        var value: String {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }
    }

    @Test("`* 3 EXISTS` during IDLE ends it with DONE and says so")
    func announced() async throws {
        let fake = try Self.idleServer(announce: "* 3 EXISTS\r\n")
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        #expect(await client.supportsIdle)
        #expect(try await client.idle(renewAfter: .seconds(30)) == .changed(exists: 3))
        #expect(fake.lines.contains("DONE"))
        try await client.noop()  // the session goes on
        await client.logout()
    }

    @Test("A silent server: IDLE is renewed on time, however long the silence may be")
    func renewal() async throws {
        let fake = try Self.idleServer(announce: nil)
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        // Longer than the fake's 2 s command and fetch limits: silence in IDLE is not a timeout.
        #expect(try await client.idle(renewAfter: .seconds(3)) == .renew)
        await client.logout()
    }

    @Test("The caller's stop ends IDLE at once")
    func interrupted() async throws {
        let fake = try Self.idleServer(announce: nil)
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        #expect(try await client.idle(renewAfter: .seconds(30), until: { try? await Task.sleep(for: .milliseconds(100)) }) == .interrupted)
        await client.logout()
    }

    @Test("A BYE during IDLE (a restart, or an access token that expired) closes the session with the server's words")
    func bye() async throws {
        let fake = try Self.idleServer(announce: "* BYE Session expired, please login again\r\n")
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect { try await client.idle(renewAfter: .seconds(30)) } throws: { error in
            guard let error = error as? IMAPError else { return false }
            return error.kind == .connectionClosed && error.serverText == "Session expired, please login again"
        }
    }

    @Test("A server that refuses IDLE: a command failure, not a hang")
    func refused() async throws {
        let fake = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1] ready\r\n") { line in
            let (tag, _) = splitTag(line)
            return [.send("\(tag) BAD Unknown command\r\n")]
        }
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        #expect(!(await client.supportsIdle))
        await #expect { try await client.idle(renewAfter: .seconds(30)) } throws: { ($0 as? IMAPError)?.kind == .commandRejected }
        await client.logout()
    }

    @Test("A server that goes quiet after DONE: the command limit ends the wait")
    func deadAfterDone() async throws {
        let fake = try ScriptedLineServer.imap(greeting: "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n") { line in
            let (_, rest) = splitTag(line)
            if rest.uppercased() == "IDLE" { return [.send("+ idling\r\n")] }
            return line == "DONE" ? [.silence] : []
        }
        defer { fake.stop() }
        let client = try await IMAPClient.connect(to: Self.server(fake), logger: Self.logger)
        await #expect { try await client.idle(renewAfter: .seconds(1)) } throws: { ($0 as? IMAPError)?.kind == .timeout }
    }
}
