import MailroomCore
import Metrics

/// The workers' figures, through swift-metrics: whatever backend the process bootstraps receives them (`serve`
/// exposes them as Prometheus text at `/metrics`); without one they cost nothing. Names follow Prometheus
/// conventions (`_total` counters, `_seconds` histograms).
enum EngineMetrics {
    /// Emails filed, by what became of them (a new ticket, a reply on one, a refetch recognised as a duplicate).
    static func filed(_ report: SyncReport) {
        if report.openedTickets > 0 { Counter(label: "mailroom_messages_filed_total", dimensions: [("outcome", "opened")]).increment(by: report.openedTickets) }
        if report.joinedTickets > 0 { Counter(label: "mailroom_messages_filed_total", dimensions: [("outcome", "joined")]).increment(by: report.joinedTickets) }
        if report.duplicates > 0 { Counter(label: "mailroom_messages_duplicate_total").increment(by: report.duplicates) }
    }

    /// IMAP sessions open for push, and how many of them wait in IDLE right now.
    static let sessionsOpen = Meter(label: "mailroom_imap_sessions")
    static let sessionsIdle = Meter(label: "mailroom_imap_sessions_idle")

    /// From the server's announcement (`EXISTS`) to the mail committed as tickets.
    static let newMailLatency = Metrics.Timer(label: "mailroom_new_mail_seconds", preferredDisplayUnit: .seconds)

    /// A token renewal's outcome, by provider (`renewed`, `reauthorization`, `provider_action`, `transient`, …).
    static func tokenRenewal(provider: String, outcome: String) {
        Counter(label: "mailroom_token_renewals_total", dimensions: [("provider", provider), ("outcome", outcome)]).increment()
    }

    /// A delivery attempt's outcome: `sent`, `retry` or `failed`.
    static func delivery(_ outcome: DeliveryOutcome) {
        let name = switch outcome {
        case .sent: "sent"
        case .retry: "retry"
        case .failed: "failed"
        }
        Counter(label: "mailroom_deliveries_total", dimensions: [("outcome", name)]).increment()
    }

    /// Replies due in the outbox at the last pass (at most one batch).
    static let outboxDue = Gauge(label: "mailroom_outbox_due")
    /// Mailbox leases this node holds (its share when nodes share a database; every mailbox on a lone node).
    static func leasesHeld(_ count: Int, node: NodeID) {
        Gauge(label: "mailroom_leases_held", dimensions: [("node", node.rawValue)]).record(count)
    }

    /// Mailboxes by direction and state, every state listed (zero included) so a state that empties shows as 0.
    static func mailboxes(_ counts: [Direction: [HealthState: Int]]) {
        for direction in [Direction.incoming, .outgoing] {
            for state in HealthState.allCases {
                Gauge(label: "mailroom_mailboxes", dimensions: [("direction", direction.rawValue), ("state", state.rawValue)])
                    .record(counts[direction]?[state] ?? 0)
            }
        }
    }
}
