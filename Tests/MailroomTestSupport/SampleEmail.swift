import Crypto
import Foundation
import MIME
import MailroomCore

/// ``simpleMessage(id:subject:from:inReplyTo:body:)`` parsed and ready to file, for tests that need a ticket but
/// do not import MIME.
public func simpleEmail(id: String, subject: String, from: String = "Customer <customer@example.com>") -> IncomingEmail {
    incomingEmail(simpleMessage(id: id, subject: subject, from: from))
}

/// Raw bytes parsed and ready to file, with their SHA-256 as the content hash.
public func incomingEmail(_ raw: [UInt8]) -> IncomingEmail {
    IncomingEmail(parsed: MessageParser.parse(raw), raw: raw, receivedAt: Date(), contentHash: SHA256.hash(data: raw).description)
}
