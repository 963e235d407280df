import Foundation

/// Linux's inotify instances per user (`fs.inotify.max_user_instances`, 128 by default). The bench's Dovecot runs
/// every mailbox as one mail user, and each IDLE session wants an instance; past the limit Dovecot stops watching
/// and checks the mailbox once a second instead, which is the mail server's delay, not Mailroom's. As root the
/// bench raises the limit for its run and puts the old value back; otherwise it says what to set.
enum InotifyLimit {
    static let path = "/proc/sys/fs/inotify/max_user_instances"

    /// Raises the limit to at least `needed`; returns the value to restore, nil when nothing was changed.
    static func raise(to needed: Int) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let current = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), current < needed
        else { return nil }
        do {
            try "\(needed)\n".write(toFile: path, atomically: false, encoding: .utf8)
            say("fs.inotify.max_user_instances raised from \(current) to \(needed) for this run (Dovecot's IDLE sessions all run as one user)")
            return current
        } catch {
            say("warning: fs.inotify.max_user_instances is \(current); beyond it Dovecot checks mailboxes once a second instead of being told at once (as root: sysctl fs.inotify.max_user_instances=\(needed))")
            return nil
        }
    }

    static func restore(_ value: Int?) {
        guard let value else { return }
        try? "\(value)\n".write(toFile: path, atomically: false, encoding: .utf8)
    }
}
