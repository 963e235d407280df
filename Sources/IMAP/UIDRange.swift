/// A contiguous UID range, `lower:upper`, where an open upper bound is written `*`.
public struct UIDRange: Sendable, Hashable, CustomStringConvertible {
    /// First UID in the range.
    public var lowerBound: UInt32
    /// Last UID, or `nil` for `*` (the highest UID in the mailbox).
    public var upperBound: UInt32?

    /// A single UID.
    public init(_ uid: UInt32) {
        self.lowerBound = uid
        self.upperBound = uid
    }

    /// A closed range `a:b`.
    public init(_ range: ClosedRange<UInt32>) {
        self.lowerBound = range.lowerBound
        self.upperBound = range.upperBound
    }

    /// `lowerBound:*` — everything from `lowerBound` up, the usual "new mail since" query.
    public init(from lowerBound: UInt32) {
        self.lowerBound = lowerBound
        self.upperBound = nil
    }

    /// Whether `uid` lies in the range (`*` treated as unbounded).
    public func contains(_ uid: UInt32) -> Bool {
        uid >= self.lowerBound && (self.upperBound.map { uid <= $0 } ?? true)
    }

    public var description: String {
        switch self.upperBound {
        case nil: "\(self.lowerBound):*"
        case let upper? where upper == self.lowerBound: "\(upper)"
        case let upper?: "\(self.lowerBound):\(upper)"
        }
    }
}
