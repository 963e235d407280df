import Crypto
import Foundation
import MIME
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

/// Work that must happen once across nodes: each reply is claimed by one node and recorded only by it; each admin
/// notice is claimed by one node.
@Suite("Outbox and notice claims between nodes", .serialized)
struct ClaimTests {
    static let claim = Duration.seconds(300)

    /// One ticket per mailbox and `replies` replies on each, all due now.
    static func queue(_ nodes: TwoNodes, mailboxes: [MailboxID], replies: Int) async throws -> [Delivery] {
        var queued: [Delivery] = []
        for (index, mailbox) in mailboxes.enumerated() {
            let raw = simpleMessage(id: "m\(index)@example.com", subject: "Help \(index)")
            let email = IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: SHA256.hash(data: raw).description)
            guard case .openedTicket(let ticket) = try await nodes.first.receive(email, mailbox: mailbox) else {
                Issue.record("the email opens a ticket")
                return []
            }
            for reply in 0..<replies {
                queued.append(try await nodes.first.enqueue(OutboundReply(
                    ticket: ticket, mailbox: mailbox, messageID: "r\(index)-\(reply)@mailroom.test", from: Person(name: "Support", email: "s@example.com"),
                    to: [Person(name: nil, email: "customer@example.com")], cc: [], subject: "Re: Help", textBody: "On it.",
                    envelopeFrom: "s@example.com", recipients: ["customer@example.com"], raw: Array("reply".utf8)), at: Date().addingTimeInterval(-1)))
            }
        }
        return queued
    }

    @Test("Two nodes claiming at once get disjoint replies, and every due reply is claimed once", arguments: Backend.allCases)
    func disjointClaims(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "claims")
        let queued = try await Self.queue(nodes, mailboxes: try await nodes.mailboxes(6), replies: 3)
        async let first = nodes.first.claimDueDeliveries(now: Date(), limit: 50, by: TwoNodes.a, for: Self.claim)
        async let second = nodes.second.claimDueDeliveries(now: Date(), limit: 50, by: TwoNodes.b, for: Self.claim)
        let (mine, theirs) = try await (first, second)
        #expect(Set(mine.map(\.id)).isDisjoint(with: theirs.map(\.id)))
        #expect(Set(mine.map(\.id)).union(theirs.map(\.id)) == Set(queued.map(\.id)))
        #expect(mine.map(\.id) == mine.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }.map(\.id))
        #expect(try await nodes.second.claimDueDeliveries(now: Date(), limit: 50, by: TwoNodes.b, for: Self.claim).map(\.id).allSatisfy { id in
            theirs.contains { $0.id == id }
        }, "a claimed reply is not claimed again by the other node")
    }

    @Test("A mailbox with replies claimed by one node is left to it, so its replies go out in order", arguments: Backend.allCases)
    func laneStaysWithItsNode(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "claimlane")
        let queued = try await Self.queue(nodes, mailboxes: try await nodes.mailboxes(2), replies: 2)
        let mine = try await nodes.first.claimDueDeliveries(now: Date(), limit: 1, by: TwoNodes.a, for: Self.claim)
        #expect(mine.map(\.id) == [queued[0].id])
        let theirs = try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim)
        #expect(theirs.map(\.id) == [queued[2].id, queued[3].id], "the first mailbox's second reply waits for node A")
        #expect(try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: Self.claim).map(\.id) == [queued[0].id, queued[1].id])
    }

    @Test("Only the claimant records an outcome; the record ends the claim", arguments: Backend.allCases)
    func onlyTheClaimantRecords(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "claimrecord")
        let queued = try await Self.queue(nodes, mailboxes: try await nodes.mailboxes(1), replies: 1)
        let claimed = try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: Self.claim)
        #expect(claimed.map(\.id) == queued.map(\.id))
        #expect(try await nodes.second.renewClaim(delivery: claimed[0].id, by: TwoNodes.b, for: Self.claim) == false)
        #expect(try await nodes.second.record(.sent, delivery: claimed[0].id, claimedBy: TwoNodes.b, at: Date()) == false, "a non-claimer is refused")
        #expect(try await nodes.first.renewClaim(delivery: claimed[0].id, by: TwoNodes.a, for: Self.claim))
        let retry = Date().addingTimeInterval(-0.5)
        #expect(try await nodes.first.record(.retry(error: "451 later", at: retry), delivery: claimed[0].id, claimedBy: TwoNodes.a, at: Date()))
        #expect(try await nodes.first.record(.sent, delivery: claimed[0].id, claimedBy: TwoNodes.a, at: Date()) == false, "the record ended the claim")
        // Free again: the other node may claim the retry and record it.
        let again = try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim)
        #expect(again.map(\.attempts) == [1])
        #expect(try await nodes.second.record(.sent, delivery: claimed[0].id, claimedBy: TwoNodes.b, at: Date()))
        #expect(try await nodes.first.deliveries(ticket: claimed[0].ticket)[claimed[0].messageRowID]?.state == .sent)
        #expect(try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: Self.claim).isEmpty)
    }

    @Test("A dead node's claim expires and another node sends the reply; the dead node's late record is refused", arguments: Backend.allCases)
    func expiredClaim(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "claimexpiry")
        let queued = try await Self.queue(nodes, mailboxes: try await nodes.mailboxes(1), replies: 2)
        #expect(try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: .milliseconds(600)).count == 2)
        #expect(try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim).isEmpty)
        try await Task.sleep(for: .milliseconds(1000))
        let taken = try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim)
        #expect(taken.map(\.id) == queued.map(\.id))
        #expect(try await nodes.first.renewClaim(delivery: queued[0].id, by: TwoNodes.a, for: Self.claim) == false)
        #expect(try await nodes.first.record(.sent, delivery: queued[0].id, claimedBy: TwoNodes.a, at: Date()) == false)
    }

    @Test("A node whose heartbeat has expired loses its reply claims at once, before they expire; a graceful departure frees them", arguments: Backend.allCases)
    func deadNodesClaims(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "claimdeadnode")
        let queued = try await Self.queue(nodes, mailboxes: try await nodes.mailboxes(2), replies: 1)
        _ = try await nodes.first.heartbeat(TwoNodes.a, lasting: .milliseconds(400))
        _ = try await nodes.second.heartbeat(TwoNodes.b, lasting: .seconds(300))
        #expect(try await nodes.first.claimDueDeliveries(now: Date(), limit: 1, by: TwoNodes.a, for: Self.claim).map(\.id) == [queued[0].id])
        #expect(try await nodes.second.claimDueDeliveries(now: Date(), limit: 1, by: TwoNodes.b, for: Self.claim).map(\.id) == [queued[1].id])
        // A's claim lasts five minutes, but A's heartbeat lapses: B takes the reply now.
        #expect(try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim).map(\.id) == [queued[1].id])
        try await Task.sleep(for: .milliseconds(700))
        #expect(Set(try await nodes.second.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.b, for: Self.claim).map(\.id)) == Set(queued.map(\.id)))
        // B stops gracefully: A (alive again) gets both at once.
        _ = try await nodes.first.heartbeat(TwoNodes.a, lasting: .seconds(300))
        #expect(try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: Self.claim).isEmpty)
        try await nodes.second.departNode(TwoNodes.b)
        #expect(Set(try await nodes.first.claimDueDeliveries(now: Date(), limit: 10, by: TwoNodes.a, for: Self.claim).map(\.id)) == Set(queued.map(\.id)))
    }

    @Test("A notice is claimed by exactly one node, and a claim given back can be won again", arguments: Backend.allCases)
    func noticeClaim(backend: Backend) async throws {
        let nodes = try await TwoNodes.make(backend, name: "noticeclaim")
        let mailbox = try await nodes.mailboxes(1)[0]
        try await nodes.first.setHealth(mailbox, .incoming, ConnectionHealth(state: .reauthorizationRequired))
        for round in 0..<10 {
            async let first = nodes.first.markNotified(mailbox, .incoming, from: nil, to: .reauthorizationRequired, at: Date())
            async let second = nodes.second.markNotified(mailbox, .incoming, from: nil, to: .reauthorizationRequired, at: Date())
            let wins = try await [first, second].filter { $0 }.count
            #expect(wins == 1, "round \(round)")
            // The winner's send failed: it gives the claim back.
            #expect(try await nodes.first.markNotified(mailbox, .incoming, from: .reauthorizationRequired, to: nil, at: Date()))
        }
        #expect(try await nodes.second.markNotified(mailbox, .incoming, from: nil, to: .reauthorizationRequired, at: Date()))
        #expect(try await nodes.first.health(mailbox)[.incoming]?.notifiedState == .reauthorizationRequired)
        #expect(try await nodes.first.markNotified(mailbox, .outgoing, from: nil, to: .reauthorizationRequired, at: Date()) == false, "no health row, no claim")
    }
}
