@testable import Engine
import Foundation
import MailroomCore
import Testing

@Suite("The poll schedule backs off failing mailboxes")
struct ScheduleTests {
    let id = MailboxID(1)
    let failure = Result<SyncReport, ConnectionFailure>.failure(ConnectionFailure(kind: .timeout))

    @Test("A mailbox is next due a poll interval after its attempt; the first failure retries then, repeated ones wait longer, success resets")
    func backoff() async {
        let schedule = Schedule()
        let health = ConnectionHealth()  // an internal error leaves the stored health untouched
        await schedule.record(id, result: failure, health: health, pollInterval: .seconds(60))
        #expect(!(await schedule.isDue(id, at: .now)))
        #expect(await schedule.isDue(id, at: .now + .seconds(61)))
        await schedule.record(id, result: failure, health: health, pollInterval: .seconds(60))
        #expect(!(await schedule.isDue(id, at: .now + .seconds(110))))
        #expect(await schedule.isDue(id, at: .now + .seconds(140)))
        await schedule.record(id, result: .success(SyncReport()), health: health, pollInterval: .seconds(60))
        #expect(!(await schedule.isDue(id, at: .now)))
        #expect(await schedule.isDue(id, at: .now + .seconds(61)))
    }

    @Test("A provider's Retry-After holds the next attempt back even when the backoff would come sooner")
    func retryAfter() async {
        let schedule = Schedule()
        let throttled = Result<SyncReport, ConnectionFailure>.failure(ConnectionFailure(kind: .tokenRefused(.transient), retryAfter: .seconds(600)))
        await schedule.record(id, result: throttled, health: ConnectionHealth(), pollInterval: .seconds(60))
        #expect(!(await schedule.isDue(id, at: .now + .seconds(590))))
        #expect(await schedule.isDue(id, at: .now + .seconds(601)))
    }

    @Test("A mailbox that is no longer worked leaves the schedule, so it cannot wake the loop")
    func forgetsUnworked() async {
        let schedule = Schedule()
        await schedule.record(MailboxID(1), result: failure, health: ConnectionHealth(), pollInterval: .seconds(1))
        await schedule.record(MailboxID(2), result: failure, health: ConnectionHealth(), pollInterval: .seconds(600))
        #expect(await schedule.untilNextDue(after: .now + .seconds(5), idle: .seconds(60)) == .zero, "mailbox 1 is overdue")
        await schedule.keepOnly([MailboxID(2)])
        #expect(await schedule.untilNextDue(after: .now + .seconds(5), idle: .seconds(60)) > .seconds(50))
    }

    @Test("A running mailbox is never due twice, and the slots bound how many run")
    func slots() async {
        let schedule = Schedule()
        #expect(await schedule.claimSlot(MailboxID(1), limit: 2))
        #expect(!(await schedule.isDue(MailboxID(1), at: .now)))
        #expect(!(await schedule.claimSlot(MailboxID(1), limit: 2)))
        #expect(await schedule.claimSlot(MailboxID(2), limit: 2))
        #expect(await schedule.slotsFull(2))
        #expect(!(await schedule.claimSlot(MailboxID(3), limit: 2)))
        await schedule.releaseSlot(MailboxID(1))
        #expect(await schedule.isDue(MailboxID(1), at: .now))
        #expect(await schedule.claimSlot(MailboxID(3), limit: 2))
    }

    @Test("The wait is capped: an hour when the admin must act, ten minutes when the fault is transient")
    func caps() async {
        let schedule = Schedule()
        let needsAdmin = ConnectionHealth(state: .reauthorizationRequired)
        for _ in 0..<20 { await schedule.record(id, result: failure, health: needsAdmin, pollInterval: .seconds(60)) }
        #expect(!(await schedule.isDue(id, at: .now + .seconds(3500))))
        #expect(await schedule.isDue(id, at: .now + .seconds(3600 * 1.17)))
        let other = MailboxID(2)
        for _ in 0..<20 { await schedule.record(other, result: failure, health: ConnectionHealth(), pollInterval: .seconds(60)) }
        #expect(await schedule.isDue(other, at: .now + .seconds(600 * 1.17)))
    }
}

@Suite("The doorbell wakes the worker early, and no ring is lost")
struct DoorbellTests {
    @Test("A ring while the worker is busy makes the next wait return at once; a ring during a wait ends it")
    func rings() async {
        let bell = Doorbell()
        await bell.ring()
        let start = ContinuousClock.now
        await bell.wait(upTo: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(5))

        let waiting = Task { await bell.wait(upTo: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(100))
        await bell.ring()
        await waiting.value
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
