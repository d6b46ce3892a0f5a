// bf16 GEMM micro-kernel (see include/bf16_gemm.h). VDPBF16PS multiplies 16 lanes of bf16 pairs and adds both
// products to fp32 lanes, so operands are packed as pairs along K: a uint32 holds (x[2p], x[2p+1]) as two bf16,
// low half first. A panel: MR rows × pairs, B panel: NR columns × pairs, both in K blocks of KC_PAIRS pairs:
//   packed_a[p0 · Mpad + panel · MR · kpb + p · MR + row],   packed_b[p0 · Npad + panel · NR · kpb + p · NR + col]
// where p0 is the block's first pair and kpb its pair count. Zero padding fills partial panels and an odd K.
// Blocking (GotoBLAS's): a B panel (KC_PAIRS · NR · 4 = 24 KB) stays in L1 while the A panels of an MC_ROWS
// block (MC_ROWS · KC_PAIRS · 4 = 180 KB, in L2) stream past it; C's 12 × 32 tile lives in 24 ZMM accumulators.
#include "bf16_gemm.h"
#include <stdlib.h>
#include <string.h>

#define MR BF16_GEMM_MR
#define NR BF16_GEMM_NR
/// Pairs of K per block (384 values of K: the encoder's 768 and 3072 split evenly).
#define KC_PAIRS 192
/// Rows of A per block: whole panels (a block must start at a panel's first row).
#define MC_ROWS (20 * MR)

static int pairs_of(int k) { return (k + 1) / 2; }
static int panels(int n, int width) { return (n + width - 1) / width; }

size_t bf16_gemm_packed_a_bytes(int m, int k) { return (size_t)panels(m, MR) * MR * (size_t)pairs_of(k) * 4; }
size_t bf16_gemm_packed_b_bytes(int k, int n) { return (size_t)panels(n, NR) * NR * (size_t)pairs_of(k) * 4; }

void *bf16_gemm_thread_scratch(size_t bytes) {
    static _Thread_local void *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (bytes <= capacity) return buffer;
    free(buffer);
    size_t rounded = (bytes + 4095) & ~(size_t)4095;
    buffer = aligned_alloc(64, rounded);
    capacity = buffer ? rounded : 0;
    return buffer;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int bf16_gemm_cpu_supported(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;          // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;                                          // XMM, YMM, opmask, ZMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 16))) return 0; // AVX512F
    if (!(b & (1u << 30))) return 0;                                            // AVX512BW (16-bit lanes)
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;                                                        // AVX512_BF16
}

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// Index vectors interleaving two 16-float vectors x, y as x0 y0 x1 y1 … (low half) and x8 y8 … (high half).
TARGET static inline __m512 interleave_low(__m512 x, __m512 y) {
    const __m512i idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutex2var_ps(x, idx, y);
}
TARGET static inline __m512 interleave_high(__m512 x, __m512 y) {
    const __m512i idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    return _mm512_permutex2var_ps(x, idx, y);
}

/// Lanes [0, count) set.
static inline __mmask16 first_lanes(int count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << (count > 0 ? count : 0)) - 1); }

/// 16 pairs for columns col0 … col0+15 of two rows x, y (row y NULL: the zero pad of an odd K), `count` valid.
TARGET static inline __m512i pairs_of_rows(const float *x, const float *y, int count) {
    __mmask16 m = first_lanes(count);
    __m512 vx = _mm512_maskz_loadu_ps(m, x), vy = y ? _mm512_maskz_loadu_ps(m, y) : _mm512_setzero_ps();
    // cvtne2ps_pbh(hi, lo): bf16 of lo in the low 16 halves, of hi in the high 16, round to nearest even.
    return (__m512i)_mm512_cvtne2ps_pbh(interleave_high(vx, vy), interleave_low(vx, vy));
}

/// Pairs along a contiguous row: floats row[2p], row[2p+1] for p in [0, count_pairs ≤ 16), into out[p · stride].
TARGET static inline void pairs_along_row(const float *row, int valid_values, int count_pairs, uint32_t *out, int stride) {
    uint32_t tmp[16];
    __m512 lo = _mm512_maskz_loadu_ps(first_lanes(valid_values), row);
    __m512 hi = _mm512_maskz_loadu_ps(first_lanes(valid_values - 16), row + 16);
    _mm512_storeu_si512(tmp, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    for (int p = 0; p < count_pairs; p++) out[p * stride] = tmp[p];
}

/// One panel (width rows or columns, `valid` of them real) of pairs [p0, p0 + kpb) into dst (kpb × width).
/// contiguous_pairs: element (p, j) pairs two adjacent floats src[j · ld + 2p]; otherwise two rows src[2p · ld + j].
TARGET static void pack_panel(const float *src, int ld, int contiguous_pairs, int k, int p0, int kpb, int width, int valid,
                              uint32_t *dst) {
    if (contiguous_pairs) {
        for (int j = 0; j < width; j++) {
            if (j >= valid) { for (int p = 0; p < kpb; p++) dst[p * width + j] = 0; continue; }
            const float *row = src + (size_t)j * ld;
            for (int p = 0; p < kpb; p += 16) {
                int count = kpb - p < 16 ? kpb - p : 16, first = 2 * (p0 + p);
                pairs_along_row(row + first, k - first, count, dst + p * width + j, width);
            }
        }
        return;
    }
    for (int p = 0; p < kpb; p++) {
        int r = 2 * (p0 + p);
        const float *x = src + (size_t)r * ld, *y = r + 1 < k ? x + ld : NULL;
        for (int j = 0; j < width; j += 16) {
            __m512i v = pairs_of_rows(x + j, y ? y + j : NULL, valid - j);
            _mm512_mask_storeu_epi32(dst + p * width + j, first_lanes(width - j), v);
        }
    }
}

TARGET void bf16_gemm_pack_a(const float *a, int lda, int trans_a, int m, int k, int panel_begin, int panel_end,
                             uint32_t *packed) {
    int kp = pairs_of(k), mpad = panels(m, MR) * MR;
    for (int p0 = 0; p0 < kp; p0 += KC_PAIRS) {
        int kpb = kp - p0 < KC_PAIRS ? kp - p0 : KC_PAIRS;
        for (int panel = panel_begin; panel < panel_end; panel++) {
            int row0 = panel * MR, valid = m - row0 < MR ? m - row0 : MR;
            uint32_t *dst = packed + (size_t)p0 * mpad + (size_t)panel * MR * kpb;
            // op(A)[r][k]: A[r · lda + k] (pairs adjacent) or, transposed, A[k · lda + r] (pairs in two rows).
            if (!trans_a) pack_panel(a + (size_t)row0 * lda, lda, 1, k, p0, kpb, MR, valid, dst);
            else pack_panel(a + row0, lda, 0, k, p0, kpb, MR, valid, dst);
        }
    }
}

TARGET void bf16_gemm_pack_b(const float *b, int ldb, int trans_b, int k, int n, int panel_begin, int panel_end,
                             uint32_t *packed) {
    int kp = pairs_of(k), npad = panels(n, NR) * NR;
    for (int p0 = 0; p0 < kp; p0 += KC_PAIRS) {
        int kpb = kp - p0 < KC_PAIRS ? kp - p0 : KC_PAIRS;
        for (int panel = panel_begin; panel < panel_end; panel++) {
            int col0 = panel * NR, valid = n - col0 < NR ? n - col0 : NR;
            uint32_t *dst = packed + (size_t)p0 * npad + (size_t)panel * NR * kpb;
            // op(B)[k][c]: B[k · ldb + c] (pairs in two rows) or, transposed, B[c · ldb + k] (pairs adjacent).
            if (trans_b) pack_panel(b + (size_t)col0 * ldb, ldb, 1, k, p0, kpb, NR, valid, dst);
            else pack_panel(b + col0, ldb, 0, k, p0, kpb, NR, valid, dst);
        }
    }
}

/// One MR × NR tile: acc = Σ_p a_p ⊗ b_p, then C = alpha · acc + beta · C on rows < rows, columns in the masks.
TARGET static void micro_kernel(const uint32_t *a, const uint32_t *b, int kpb, float alpha, float beta, int overwrite,
                                float *c, int ldc, int rows, __mmask16 mask0, __mmask16 mask1) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < kpb; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
        a += MR; b += NR;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = _mm512_mul_ps(acc[i][0], va), r1 = _mm512_mul_ps(acc[i][1], va);
        if (!overwrite) {   // beta 0 must not read C (it may hold NaN), as BLAS
            r0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask0, ci), vb, r0);
            r1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask1, ci + 16), vb, r1);
        }
        _mm512_mask_storeu_ps(ci, mask0, r0);
        _mm512_mask_storeu_ps(ci + 16, mask1, r1);
    }
}

TARGET void bf16_gemm_compute(const uint32_t *packed_a, const uint32_t *packed_b, int m, int n, int k, float alpha,
                              float beta, float *c, int ldc, int panel_begin, int panel_end) {
    int kp = pairs_of(k), mpad = panels(m, MR) * MR, npad = panels(n, NR) * NR;
    if (kp == 0) {   // no products: C = beta · C
        for (int i = 0; i < m; i++)
            for (int j = panel_begin * NR; j < n && j < panel_end * NR; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
        return;
    }
    for (int p0 = 0; p0 < kp; p0 += KC_PAIRS) {
        int kpb = kp - p0 < KC_PAIRS ? kp - p0 : KC_PAIRS;
        // The first K block applies beta; later ones add to what it left.
        float block_beta = p0 == 0 ? beta : 1;
        int overwrite = p0 == 0 && beta == 0;
        const uint32_t *a_block = packed_a + (size_t)p0 * mpad, *b_block = packed_b + (size_t)p0 * npad;
        for (int row_block = 0; row_block < m; row_block += MC_ROWS) {
            int row_end = m < row_block + MC_ROWS ? m : row_block + MC_ROWS;
            for (int panel = panel_begin; panel < panel_end; panel++) {
                int col0 = panel * NR, cols = n - col0 < NR ? n - col0 : NR;
                const uint32_t *b_panel = b_block + (size_t)panel * NR * kpb;
                for (int row0 = row_block; row0 < row_end; row0 += MR) {
                    int rows = m - row0 < MR ? m - row0 : MR;
                    micro_kernel(a_block + (size_t)(row0 / MR) * MR * kpb, b_panel, kpb, alpha, block_beta, overwrite,
                                 c + (size_t)row0 * ldc + col0, ldc, rows, first_lanes(cols), first_lanes(cols - 16));
                }
            }
        }
    }
}

#else   // not x86-64: never supported, so the entry points below are never reached

int bf16_gemm_cpu_supported(void) { return 0; }
void bf16_gemm_pack_a(const float *a, int lda, int trans_a, int m, int k, int panel_begin, int panel_end, uint32_t *packed) { abort(); }
void bf16_gemm_pack_b(const float *b, int ldb, int trans_b, int k, int n, int panel_begin, int panel_end, uint32_t *packed) { abort(); }
void bf16_gemm_compute(const uint32_t *packed_a, const uint32_t *packed_b, int m, int n, int k, float alpha, float beta,
                       float *c, int ldc, int panel_begin, int panel_end) { abort(); }

#endif
