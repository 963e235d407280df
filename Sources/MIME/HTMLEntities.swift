/// HTML character reference decoding: common named entities plus decimal/hex numeric ones.
enum HTMLEntities {
    static let named: [String: UInt32] = [
        "amp": 0x26, "lt": 0x3C, "gt": 0x3E, "quot": 0x22, "apos": 0x27, "nbsp": 0xA0,
        "copy": 0xA9, "reg": 0xAE, "trade": 0x2122, "hellip": 0x2026, "mdash": 0x2014, "ndash": 0x2013,
        "lsquo": 0x2018, "rsquo": 0x2019, "sbquo": 0x201A, "ldquo": 0x201C, "rdquo": 0x201D, "bdquo": 0x201E,
        "laquo": 0xAB, "raquo": 0xBB, "lsaquo": 0x2039, "rsaquo": 0x203A, "bull": 0x2022, "middot": 0xB7,
        "euro": 0x20AC, "pound": 0xA3, "yen": 0xA5, "cent": 0xA2, "curren": 0xA4, "sect": 0xA7, "para": 0xB6,
        "deg": 0xB0, "plusmn": 0xB1, "times": 0xD7, "divide": 0xF7, "micro": 0xB5, "frac12": 0xBD, "frac14": 0xBC,
        "frac34": 0xBE, "sup1": 0xB9, "sup2": 0xB2, "sup3": 0xB3, "iexcl": 0xA1, "iquest": 0xBF, "shy": 0xAD,
        "ordf": 0xAA, "ordm": 0xBA, "not": 0xAC, "macr": 0xAF, "acute": 0xB4, "cedil": 0xB8, "uml": 0xA8, "brvbar": 0xA6,
        "zwnj": 0x200C, "zwj": 0x200D, "lrm": 0x200E, "rlm": 0x200F, "thinsp": 0x2009, "ensp": 0x2002, "emsp": 0x2003,
        "dagger": 0x2020, "Dagger": 0x2021, "permil": 0x2030, "prime": 0x2032, "Prime": 0x2033, "larr": 0x2190,
        "uarr": 0x2191, "rarr": 0x2192, "darr": 0x2193, "harr": 0x2194, "hearts": 0x2665, "check": 0x2713,
        "Agrave": 0xC0, "Aacute": 0xC1, "Acirc": 0xC2, "Atilde": 0xC3, "Auml": 0xC4, "Aring": 0xC5, "AElig": 0xC6,
        "Ccedil": 0xC7, "Egrave": 0xC8, "Eacute": 0xC9, "Ecirc": 0xCA, "Euml": 0xCB, "Igrave": 0xCC, "Iacute": 0xCD,
        "Icirc": 0xCE, "Iuml": 0xCF, "ETH": 0xD0, "Ntilde": 0xD1, "Ograve": 0xD2, "Oacute": 0xD3, "Ocirc": 0xD4,
        "Otilde": 0xD5, "Ouml": 0xD6, "Oslash": 0xD8, "Ugrave": 0xD9, "Uacute": 0xDA, "Ucirc": 0xDB, "Uuml": 0xDC,
        "Yacute": 0xDD, "THORN": 0xDE, "szlig": 0xDF, "agrave": 0xE0, "aacute": 0xE1, "acirc": 0xE2, "atilde": 0xE3,
        "auml": 0xE4, "aring": 0xE5, "aelig": 0xE6, "ccedil": 0xE7, "egrave": 0xE8, "eacute": 0xE9, "ecirc": 0xEA,
        "euml": 0xEB, "igrave": 0xEC, "iacute": 0xED, "icirc": 0xEE, "iuml": 0xEF, "eth": 0xF0, "ntilde": 0xF1,
        "ograve": 0xF2, "oacute": 0xF3, "ocirc": 0xF4, "otilde": 0xF5, "ouml": 0xF6, "oslash": 0xF8, "ugrave": 0xF9,
        "uacute": 0xFA, "ucirc": 0xFB, "uuml": 0xFC, "yacute": 0xFD, "thorn": 0xFE, "yuml": 0xFF, "OElig": 0x152,
        "oelig": 0x153, "Scaron": 0x160, "scaron": 0x161, "Yuml": 0x178, "fnof": 0x192, "circ": 0x2C6, "tilde": 0x2DC,
        "Alpha": 0x391, "Beta": 0x392, "Gamma": 0x393, "Delta": 0x394, "alpha": 0x3B1, "beta": 0x3B2, "gamma": 0x3B3,
        "delta": 0x3B4, "pi": 0x3C0, "mu": 0x3BC, "sigma": 0x3C3, "omega": 0x3C9, "infin": 0x221E, "ne": 0x2260,
        "le": 0x2264, "ge": 0x2265, "minus": 0x2212, "asymp": 0x2248, "sum": 0x2211, "tab": 0x09, "newline": 0x0A,
    ]

    /// Decodes character references. Named references need a ';' (so URLs like
    /// `?a=1&copy=2` survive); numeric ones don't. Invalid code points become U+FFFD.
    static func decode(_ s: ArraySlice<UInt8>, inAttribute: Bool = false) -> String {
        var out = [UInt8]()
        decode(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) {
        guard s.contains(0x26) else {
            out.append(contentsOf: s)
            return
        }
        var i = s.startIndex
        let end = s.endIndex
        while i < end {
            let c = s[i]
            guard c == 0x26, i + 1 < end else {
                out.append(c)
                i += 1
                continue
            }
            if s[i + 1] == 0x23 {  // numeric
                var j = i + 2
                var hex = false
                if j < end && (s[j] == 0x78 || s[j] == 0x58) { hex = true; j += 1 }
                let digitsStart = j
                var v: UInt32 = 0
                var overflow = false
                while j < end {
                    let d = s[j]
                    let dv: UInt32
                    if d >= 0x30 && d <= 0x39 { dv = UInt32(d - 0x30) } else if hex, let h = hexValue(d) { dv = UInt32(h) } else { break }
                    if v > 0x10FFFF { overflow = true } else { v = v * (hex ? 16 : 10) + dv }
                    j += 1
                }
                if j == digitsStart {
                    out.append(c)
                    i += 1
                    continue
                }
                if j < end && s[j] == 0x3B { j += 1 }
                if overflow || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { v = 0xFFFD }
                if v >= 0x80 && v <= 0x9F { v = UInt32(Charset.cp1252High[Int(v - 0x80)]) }  // as browsers do
                appendUTF8(v, to: &out)
                i = j
                continue
            }
            // Named: letters/digits then ';'.
            var j = i + 1
            while j < end && j - i <= 32 && ((s[j] >= 0x61 && s[j] <= 0x7A) || (s[j] >= 0x41 && s[j] <= 0x5A) || (s[j] >= 0x30 && s[j] <= 0x39)) { j += 1 }
            if j < end && s[j] == 0x3B && j > i + 1, let v = named[String(decoding: s[(i + 1)..<j], as: UTF8.self)] {
                appendUTF8(v, to: &out)
                i = j + 1
                continue
            }
            out.append(c)
            i += 1
        }
    }
}
