/// Lets one operation at a time use a connection owned by an actor.
///
/// Actor isolation alone is not enough: a command suspends while it waits for the server, and the
/// actor would then start the next command on the same connection (the protocols are strictly one
/// command at a time for us). The gate runs on its owner's actor (`isolation`), so it needs no lock
/// and taking a free gate never suspends; waiters go in first come, first served.
public final class SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates an open gate.
    public init() {}

    /// Runs `body` once every earlier caller has finished.
    public func run<T, Failure: Error>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        await self.acquire()
        defer { self.release() }
        return try await body()
    }

    private func acquire(isolation: isolated (any Actor)? = #isolation) async {
        if !self.busy {
            self.busy = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    private func release() {
        if self.waiters.isEmpty {
            self.busy = false
        } else {
            self.waiters.removeFirst().resume()
        }
    }
}
