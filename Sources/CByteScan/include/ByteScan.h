// Byte-scanning kernels for the MIME parser's two full passes over a message: counting clean base64 and finding
// multipart delimiter lines. Each runs 32 bytes at a time with AVX2 where the CPU has it (chosen at run time), and
// otherwise does nothing, leaving the whole range to the Swift code that calls it, which also handles every tail.
//
// Each function reads only bytes in [bytes, bytes + count) and never writes outside its out-parameters.
#ifndef MAILROOM_BYTE_SCAN_H
#define MAILROOM_BYTE_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Classifies whole 32-byte blocks from the start of [bytes, bytes + count) as base64: alphabet (A-Z a-z 0-9 + / - _),
/// padding (=), whitespace (tab, LF, VT, FF, CR, space) or anything else. Adds the blocks' padding and whitespace
/// bytes to *padding and *spaces, sets *stray to 1 if any byte is of none of those classes, and returns the number
/// of bytes classified: a multiple of 32, and 0 without AVX2.
size_t mailroom_base64_classify(const uint8_t *bytes, size_t count, size_t *padding, size_t *spaces, int *stray);

/// The offset, from bytes, of the first line feed in whole 32-byte blocks of [bytes, bytes + count - 2) that is
/// followed by two dashes, or -1 when those blocks hold none. *scanned is set to the number of bytes of
/// candidates examined (a multiple of 32; 0 without AVX2), so the caller goes on from there.
ptrdiff_t mailroom_next_dashed_line(const uint8_t *bytes, size_t count, size_t *scanned);

#endif
