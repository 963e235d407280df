/// The untagged responses the client acts on; everything else is kept as ``other(name:text:)``
/// so unknown extensions never break parsing.
enum UntaggedResponse: Sendable, Equatable {
    case status(StatusResponse)
    case capability([String])
    case flags([String])
    case exists(Int)
    case recent(Int)
    case expunge(UInt32)
    case search([UInt32])
    case fetch(sequence: UInt32, MessageAttributes)
    /// Unknown or uninteresting (LIST, STATUS, ENABLED, ID, …); `text` is the remainder of the line.
    case other(name: String, text: String)
}

extension UntaggedResponse {
    /// Rough memory held by this response (contents plus a fixed overhead per value), so a client can
    /// bound what it keeps for one command however small the server makes each response.
    var approximateSize: Int {
        let overhead = 64
        func size(_ strings: [String]?) -> Int { strings?.reduce(0) { $0 + $1.utf8.count + 16 } ?? 0 }
        switch self {
        case .status(let status): return overhead + status.text.utf8.count
        case .capability(let items), .flags(let items): return overhead + size(items)
        case .exists, .recent, .expunge: return overhead
        case .search(let uids): return overhead + 4 * uids.count
        case .fetch(_, let attributes): return overhead + (attributes.body?.count ?? 0) + size(attributes.flags)
        case .other(let name, let text): return overhead + name.utf8.count + text.utf8.count
        }
    }
}
