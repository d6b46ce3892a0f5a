// Packing fp32 operands into the kernel's bf16 pair panels (layout in bf16_gemm.c). A's row panels and B's
// column panels are the same thing seen from op(): `lines` (rows of op(A), columns of op(B)) of K values each,
// MR or NR lines per panel. A line's K values are either adjacent in memory (op(A) = A, op(B) = Bᵀ) or one per
// source row (op(A) = Aᵀ, op(B) = B); one routine packs both operands for either layout.
#include "bf16_gemm_internal.h"
#include <stdlib.h>

/// Adjacent layout: floats ahead of the current 32 that each row's software prefetch asks for.
#define PREFETCH_AHEAD 128
/// Strided layout: lines packed per pass over the rows (whole panels: 21 of A's, 8 of B's), and pairs of rows
/// prefetched ahead. Measured on Zen 5 (packing op(A) = dYᵀ, 3072 × 4096): one panel per pass 12-13 ms,
/// prefetch alone 8.5-9.5 ms, 256 lines per pass with prefetch 4.6-5.3 ms (64 lines 9 ms, 512 lines 5.3 ms).
#define STRIDED_LINES 256
#define STRIDED_AHEAD 8

#if defined(__x86_64__)
#include <immintrin.h>

/// Transposes 16 rows of 16 uint32 in place (r[i][j] ↔ r[j][i]): in-lane unpacks, then 128-bit lane shuffles.
TARGET static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16], v[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    // Lane L of u[4g + c]: column 4L + c of rows 4g … 4g + 3.
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int h = 0; h < 16; h += 8)
        for (int c = 0; c < 4; c++) {
            v[h + c] = _mm512_shuffle_i32x4(u[h + c], u[h + 4 + c], 0x88);       // lanes 0, 2 of each
            v[h + 4 + c] = _mm512_shuffle_i32x4(u[h + c], u[h + 4 + c], 0xDD);   // lanes 1, 3 of each
        }
    for (int c = 0; c < 8; c++) {
        r[c] = _mm512_shuffle_i32x4(v[c], v[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(v[c], v[8 + c], 0xDD);
    }
}

/// Lines whose K values are adjacent (line j at src + j · ld): 16 lines × 16 pairs at a time, each line's 32
/// floats rounded into 16 pairs, then transposed so that each pair's 16 lines store as one vector.
TARGET static void pack_adjacent(const float *src, int ld, int k, int p0, int kpb, int width, int valid, uint32_t *dst) {
    for (int j0 = 0; j0 < width; j0 += 16) {
        __mmask16 store = first_lanes(width - j0);
        for (int p = 0; p < kpb; p += 16) {
            int first = 2 * (p0 + p), values = k - first;
            __mmask16 lo = first_lanes(values), hi = first_lanes(values - 16);
            __m512i r[16];
            for (int j = 0; j < 16; j++) {
                if (j0 + j >= valid) { r[j] = _mm512_setzero_si512(); continue; }
                const float *x = src + (size_t)(j0 + j) * ld + first;
                // 16 rows are read at once, each a separate stream the hardware prefetcher follows late: asking
                // for the row's lines 4 steps ahead cut packing A = x (4096 × 3072) from 4.5-6.7 ms to 3.2-4.2 ms
                // on Zen 5.
                if (first + PREFETCH_AHEAD + 32 <= k) {
                    _mm_prefetch((const char *)(x + PREFETCH_AHEAD), _MM_HINT_T0);
                    _mm_prefetch((const char *)(x + PREFETCH_AHEAD + 16), _MM_HINT_T0);
                }
                // cvtne2ps_pbh(hi, lo): bf16 of lo in the low 16 halves, of hi in the high 16 (round to nearest
                // even), so uint32 q holds floats 2q, 2q + 1: pair q, low half first.
                r[j] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16), _mm512_maskz_loadu_ps(lo, x));
            }
            transpose16(r);
            for (int q = 0; q < 16 && p + q < kpb; q++) _mm512_mask_storeu_epi32(dst + (size_t)(p + q) * width + j0, store, r[q]);
        }
    }
}

/// Index vectors interleaving two 16-float vectors x, y as x0 y0 x1 y1 … (low half) and x8 y8 … (high half).
TARGET static inline __m512 interleave_low(__m512 x, __m512 y) {
    const __m512i idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutex2var_ps(x, idx, y);
}
TARGET static inline __m512 interleave_high(__m512 x, __m512 y) {
    const __m512i idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    return _mm512_permutex2var_ps(x, idx, y);
}

/// Lines spread one K value per source row (value r of line j at src[r · ld + j]): a pair is two rows, and
/// 16 lines of it interleave into one vector (row 2p + 1 past K: the zero pad of an odd K). `count` panels at
/// once (panel q: lines from src + q · width, stored at dst + q · width · kpb), so that each pass reads a long
/// run of every row instead of one panel's 48 or 128 bytes of it, and each row is a stream worth prefetching.
TARGET static void pack_strided(const float *src, int ld, int k, int p0, int kpb, int width, int valid, int count,
                                uint32_t *dst) {
    for (int p = 0; p < kpb; p++) {
        int r = 2 * (p0 + p);
        const float *x = src + (size_t)r * ld, *y = r + 1 < k ? x + ld : NULL;
        if (r + 2 * STRIDED_AHEAD + 1 < k)   // the rows of the pair STRIDED_AHEAD steps on
            for (int j = 0; j < valid; j += 16) {
                _mm_prefetch((const char *)(x + (size_t)2 * STRIDED_AHEAD * ld + j), _MM_HINT_T0);
                _mm_prefetch((const char *)(x + (size_t)(2 * STRIDED_AHEAD + 1) * ld + j), _MM_HINT_T0);
            }
        for (int q = 0; q < count; q++) {
            int lines = valid - q * width;
            uint32_t *out = dst + (size_t)q * width * kpb + (size_t)p * width;
            for (int j = 0; j < width; j += 16) {
                __mmask16 m = first_lanes(lines - j);
                const float *xj = x + q * width + j;
                __m512 vx = _mm512_maskz_loadu_ps(m, xj), vy = y ? _mm512_maskz_loadu_ps(m, xj + ld) : _mm512_setzero_ps();
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(interleave_high(vx, vy), interleave_low(vx, vy));
                _mm512_mask_storeu_epi32(out + j, first_lanes(width - j), v);
            }
        }
    }
}

/// Panels [panel_begin, panel_end) of `lines` lines (`width` per panel) into `packed`, K block by K block:
///   packed[p0 · padded + panel · width · kpb + p · width + j]
/// (p0 the block's first pair, kpb its pair count, padded the lines rounded up to whole panels).
TARGET static void pack_panels(const float *src, int ld, int adjacent, int lines, int k, int width, int panel_begin,
                               int panel_end, uint32_t *packed) {
    int kp = pairs_of(k), padded = panels(lines, width) * width;
    for (int p0 = 0; p0 < kp; p0 += KC_PAIRS) {
        int kpb = min_int(kp - p0, KC_PAIRS);
        int group = adjacent ? 1 : STRIDED_LINES / width;
        for (int panel = panel_begin; panel < panel_end; panel += group) {
            int count = min_int(group, panel_end - panel);
            int line0 = panel * width, valid = min_int(lines - line0, count * width);
            uint32_t *dst = packed + (size_t)p0 * padded + (size_t)panel * width * kpb;
            if (adjacent) pack_adjacent(src + (size_t)line0 * ld, ld, k, p0, kpb, width, valid, dst);
            else pack_strided(src + line0, ld, k, p0, kpb, width, valid, count, dst);
        }
    }
}

// op(A)[r][k] is A[r · lda + k] (adjacent) or, transposed, A[k · lda + r]; op(B)[k][c] is B[k · ldb + c]
// (strided) or, transposed, B[c · ldb + k] (adjacent).
TARGET void bf16_gemm_pack_a(const float *a, int lda, int trans_a, int m, int k, int panel_begin, int panel_end,
                             uint32_t *packed) {
    pack_panels(a, lda, !trans_a, m, k, MR, panel_begin, panel_end, packed);
}

TARGET void bf16_gemm_pack_b(const float *b, int ldb, int trans_b, int k, int n, int panel_begin, int panel_end,
                             uint32_t *packed) {
    pack_panels(b, ldb, trans_b, n, k, NR, panel_begin, panel_end, packed);
}

#else   // not x86-64: never supported, so these are never reached

void bf16_gemm_pack_a(const float *a, int lda, int trans_a, int m, int k, int panel_begin, int panel_end, uint32_t *packed) { abort(); }
void bf16_gemm_pack_b(const float *b, int ldb, int trans_b, int k, int n, int panel_begin, int panel_end, uint32_t *packed) { abort(); }

#endif
