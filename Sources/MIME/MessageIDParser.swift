/// Extracts msg-ids (`<id@host>`) from Message-ID / In-Reply-To / References.
///
/// Returns ids without angle brackets and with whitespace removed; junk between ids and
/// comments are ignored. Without any brackets, whitespace-separated tokens containing '@'
/// are taken (common with broken mailers).
enum MessageIDParser {
    static func parse(_ v: [UInt8]) -> [String] { parse([v]) }

    /// The ids of several fields (In-Reply-To or References given more than once), in order, each once.
    static func parse(_ values: [[UInt8]]) -> [String] {
        var ids = IDList()
        for v in values { scan(v, into: &ids) }
        return ids.ids
    }

    /// Ids in order, without duplicates: a handful (nearly every header) deduplicated by looking, a long
    /// References list by a set.
    private struct IDList {
        var ids: [String] = []
        private var seen = Set<String>()

        mutating func add(_ bytes: ArraySlice<UInt8>) {
            let s = EncodedWord.decodeRaw(bytes, fallbackCharset: nil)
            guard !s.isEmpty else { return }
            if ids.count < 16 {
                guard !ids.contains(s) else { return }
            } else {
                if seen.isEmpty { seen = Set(ids) }
                guard seen.insert(s).inserted else { return }
            }
            ids.append(s)
        }
    }

    private static func scan(_ v: [UInt8], into ids: inout IDList) {
        var i = 0
        let n = v.count
        var sawAngle = false
        while i < n {
            let c = v[i]
            if c == 0x28 {
                i = HeaderParameters.skipComment(v, from: i)
                continue
            }
            if c == 0x3C {
                sawAngle = true
                i += 1
                let start = i
                var blanks = false
                while i < n && v[i] != 0x3E && v[i] != 0x3C {
                    if isSpaceOrNewline(v[i]) { blanks = true }
                    i += 1
                }
                ids.add(blanks ? ArraySlice(v[start..<i].filter { !isSpaceOrNewline($0) }) : v[start..<i])
                if i < n && v[i] == 0x3E { i += 1 }
                continue
            }
            i += 1
        }
        if !sawAngle {
            var start = -1
            for k in 0...n {
                let sep = k == n || isSpaceOrNewline(v[k]) || v[k] == 0x2C
                if sep {
                    if start >= 0 {
                        let tok = v[start..<k]
                        if tok.contains(0x40) { ids.add(tok) }
                        start = -1
                    }
                } else if start < 0 {
                    start = k
                }
            }
        }
    }
}
