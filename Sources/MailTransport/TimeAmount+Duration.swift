import NIOCore

extension TimeAmount {
    /// Converts a Swift `Duration` (as used in the public APIs) to NIO's `TimeAmount`.
    ///
    /// Saturates instead of trapping, so an "effectively forever" timeout stays usable.
    public init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = nanos.overflow ? .nanoseconds(Int64.max) : .nanoseconds(nanos.partialValue + attoseconds / 1_000_000_000)
    }
}
