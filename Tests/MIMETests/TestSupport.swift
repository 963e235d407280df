import Foundation
@testable import MIME

/// Builds raw message bytes from a string literal, converting "\n" to CRLF unless told otherwise.
func crlf(_ s: String) -> [UInt8] {
    Array(s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Deterministic xorshift PRNG so fuzz-style tests are reproducible.
struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
