import MailroomCore

/// Every requirement of ``MailroomStore`` is implemented in the extensions beside this file.
extension InMemoryStore: MailroomStore {}
