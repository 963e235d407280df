import ArgumentParser
import Foundation
import MailroomCore
import Storage
import Web

/// `mailroom tickets …`: read tickets from the command line.
struct TicketsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickets", abstract: "List and show tickets.", subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tickets, newest activity first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "How many tickets to show.") var limit: Int = 100
        @Option(help: "How many to skip.") var offset: Int = 0
        @Flag(help: "Print JSON, as the API does.") var json = false

        func run() async throws {
            let (limit, offset) = (max(1, limit), max(0, offset))
            let tickets = try await global.withStore(logger: global.makeLogger()) { store in
                try await store.tickets(limit: limit, offset: offset).map { APIResources.TicketResource($0) }
            }
            if json {
                print(try Output.json(["tickets": tickets]))
                return
            }
            if tickets.isEmpty {
                print("No tickets yet.")
                return
            }
            var rows = [["#", "SUBJECT", "REQUESTER", "MESSAGES", "LAST MESSAGE"]]
            for ticket in tickets {
                rows.append([String(ticket.number), Output.clip(ticket.subject, 60), ticket.requester.email, String(ticket.messageCount), Output.date(ticket.lastMessageAt)])
            }
            print(Output.table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a ticket with its messages.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The ticket number.") var number: Int64
        @Flag(help: "Print JSON, as the API does.") var json = false

        func run() async throws {
            let number = number
            guard let detail = try await global.withStore(logger: global.makeLogger(), { store in try await store.ticket(TicketNumber(number)) }) else {
                throw ValidationError("There is no ticket #\(number). See `mailroom tickets list`.")
            }
            if json {
                print(try Output.json(APIResources.TicketResource(detail.summary, messages: detail.messages)))
                return
            }
            let summary = detail.summary
            print("#\(summary.number) \(summary.subject)")
            print("Requester: \(summary.requester.formatted) · \(summary.messageCount) message(s) · \(summary.status.rawValue)")
            for message in detail.messages {
                print("\n— \(message.from.formatted), \(Output.date(message.receivedAt))")
                print("  Subject: \(message.subject)")
                for attachment in message.attachments {
                    print("  Attachment: \(attachment.filename) (\(attachment.contentType), \(attachment.size) bytes)")
                }
                print("")
                print(message.textBody.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
            }
        }
    }
}

/// Text and JSON output for the terminal.
enum Output {
    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try APIResources.makeEncoder().encode(value), as: UTF8.self)
    }

    static func date(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
    }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
