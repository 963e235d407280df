#include "ByteScan.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>

/// AVX2 in the CPU, and its registers saved by the kernel (XCR0's SSE and AVX state bits).
static int detect_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27)) || !(c & (1u << 28))) return 0;  // OSXSAVE, AVX
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;  // AVX2
}

static int has_avx2(void) {
    static _Atomic int known = -1;  // every thread that finds it unset computes the same answer
    int value = atomic_load_explicit(&known, memory_order_relaxed);
    if (value < 0) {
        value = detect_avx2();
        atomic_store_explicit(&known, value, memory_order_relaxed);
    }
    return value;
}

// A byte's class is lo_table[low nibble] & hi_table[high nibble]; each bit is one rectangle of the byte table:
// 0x01 A-O a-o, 0x02 P-Z p-z, 0x04 0-9, 0x08 + - /, 0x10 _, 0x20 =, 0x40 tab to CR, 0x80 space.
// A byte in none of them (every byte >= 0x80 among them, its high nibble's entry being 0) is a stray.
#define ALPHABET 0x1F
#define PAD 0x20
#define SPACE 0xC0

__attribute__((target("avx2")))
static size_t base64_classify_avx2(const uint8_t *bytes, size_t count, size_t *padding, size_t *spaces, int *stray) {
    const __m256i lo_table = _mm256_setr_epi8(
        (char)0x86, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x47, 0x43, 0x49, 0x41, 0x69, 0x01, 0x19,
        (char)0x86, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x47, 0x43, 0x49, 0x41, 0x69, 0x01, 0x19);
    const __m256i hi_table = _mm256_setr_epi8(
        0x40, 0, (char)0x88, 0x24, 0x01, 0x12, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
        0x40, 0, (char)0x88, 0x24, 0x01, 0x12, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i zero = _mm256_setzero_si256();
    __m256i bad = zero;
    size_t done = 0, pads = 0, blanks = 0;
    while (count - done >= 32) {
        // Byte counters hold at most 255 blocks before they are summed.
        size_t blocks = (count - done) / 32;
        if (blocks > 255) blocks = 255;
        __m256i pad_count = zero, space_count = zero;
        for (size_t b = 0; b < blocks; b++, done += 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(bytes + done));
            __m256i lo = _mm256_shuffle_epi8(lo_table, _mm256_and_si256(v, nibble));
            __m256i hi = _mm256_shuffle_epi8(hi_table, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
            __m256i cls = _mm256_and_si256(lo, hi);
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(cls, zero));
            // Lanes of 0 or -1, subtracted: one more per class member.
            pad_count = _mm256_sub_epi8(pad_count, _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(PAD)), _mm256_set1_epi8(PAD)));
            space_count = _mm256_sub_epi8(space_count, _mm256_xor_si256(_mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8((char)SPACE)), zero), _mm256_set1_epi8(-1)));
        }
        __m256i p = _mm256_sad_epu8(pad_count, zero), s = _mm256_sad_epu8(space_count, zero);
        pads += (size_t)_mm256_extract_epi64(p, 0) + (size_t)_mm256_extract_epi64(p, 1) + (size_t)_mm256_extract_epi64(p, 2) + (size_t)_mm256_extract_epi64(p, 3);
        blanks += (size_t)_mm256_extract_epi64(s, 0) + (size_t)_mm256_extract_epi64(s, 1) + (size_t)_mm256_extract_epi64(s, 2) + (size_t)_mm256_extract_epi64(s, 3);
    }
    *padding += pads;
    *spaces += blanks;
    if (!_mm256_testz_si256(bad, bad)) *stray = 1;
    return done;
}

__attribute__((target("avx2")))
static ptrdiff_t next_dashed_line_avx2(const uint8_t *bytes, size_t count, size_t *scanned) {
    const __m256i lf = _mm256_set1_epi8('\n'), dash = _mm256_set1_epi8('-');
    size_t i = 0;
    // Each block reads bytes i .. i + 33: the candidates i .. i + 31 and the two bytes after the last.
    while (count - i >= 34) {
        __m256i a = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(bytes + i)), lf);
        __m256i b = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(bytes + i + 1)), dash);
        __m256i c = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(bytes + i + 2)), dash);
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(a, _mm256_and_si256(b, c)));
        if (mask != 0) {
            *scanned = i;
            return (ptrdiff_t)(i + (size_t)__builtin_ctz(mask));
        }
        i += 32;
    }
    *scanned = i;
    return -1;
}

size_t mailroom_base64_classify(const uint8_t *bytes, size_t count, size_t *padding, size_t *spaces, int *stray) {
    if (bytes == NULL || count < 32 || !has_avx2()) return 0;
    return base64_classify_avx2(bytes, count, padding, spaces, stray);
}

ptrdiff_t mailroom_next_dashed_line(const uint8_t *bytes, size_t count, size_t *scanned) {
    *scanned = 0;
    if (bytes == NULL || count < 34 || !has_avx2()) return -1;
    return next_dashed_line_avx2(bytes, count, scanned);
}

#else

size_t mailroom_base64_classify(const uint8_t *bytes, size_t count, size_t *padding, size_t *spaces, int *stray) {
    (void)bytes; (void)count; (void)padding; (void)spaces; (void)stray;
    return 0;
}

ptrdiff_t mailroom_next_dashed_line(const uint8_t *bytes, size_t count, size_t *scanned) {
    (void)bytes; (void)count;
    *scanned = 0;
    return -1;
}

#endif
