/// Wakes a sleeping worker early, e.g. when an admin adds a mailbox, without losing a ring that comes
/// while the worker is busy.
actor Doorbell {
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?

    func ring() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            rung = true
        }
    }

    /// Returns at a ring (or one that came since the last wait), or at cancellation.
    func wait() async {
        if rung {
            rung = false
            return
        }
        await waitForRing()
    }

    /// Returns after `duration`, at a ring, or at cancellation, whichever comes first.
    func wait(upTo duration: Duration) async {
        if rung {
            rung = false
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else if rung {
                    // Rung between `wait`'s check and this registration.
                    rung = false
                    continuation.resume()
                } else {
                    waiter?.resume()
                    waiter = continuation
                }
            }
        } onCancel: {
            Task { await self.release() }
        }
    }

    private func release() {
        waiter?.resume()
        waiter = nil
    }
}
