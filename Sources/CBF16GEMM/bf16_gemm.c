// bf16 GEMM micro-kernel (see include/bf16_gemm.h). VDPBF16PS multiplies 16 lanes of bf16 pairs and adds both
// products to fp32 lanes, so operands are packed as pairs along K: a uint32 holds (x[2p], x[2p+1]) as two bf16,
// low half first. A panel: MR rows × pairs, B panel: NR columns × pairs, both in K blocks of KC_PAIRS pairs:
//   packed_a[p0 · Mpad + panel · MR · kpb + p · MR + row],   packed_b[p0 · Npad + panel · NR · kpb + p · NR + col]
// where p0 is the block's first pair and kpb its pair count. Zero padding fills partial panels and an odd K.
// Blocking (GotoBLAS's): a B panel (KC_PAIRS · NR · 4 = 48 KB, about L1) is reused by the A panels of an MC_ROWS
// block (MC_ROWS · KC_PAIRS · 4 = 360 KB, in L2) streaming past it; C's 12 × 32 tile lives in 24 ZMM accumulators.
#include "bf16_gemm_internal.h"
#include <stdlib.h>
#include <string.h>

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

/// One MR × NR tile: acc = Σ_p a_p ⊗ b_p, then C = alpha · acc + beta · C on rows < rows, columns in the masks.
TARGET static void micro_kernel(const uint32_t *a, const uint32_t *b, int kpb, float alpha, float beta, int overwrite,
                                float *c, int ldc, int rows, __mmask16 mask0, __mmask16 mask1) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    // C's tile is read (or written) only after the K loop; fetched now, its lines arrive while the loop runs
    // instead of stalling the write-back (C of a wide product lies beyond L2: +10–35 % on the encoder's shapes).
    for (int i = 0; i < rows; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0);
    }
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
                              float beta, float *c, int ldc, int row_panel_begin, int row_panel_end, int col_panel_begin,
                              int col_panel_end) {
    int kp = pairs_of(k), mpad = panels(m, MR) * MR, npad = panels(n, NR) * NR;
    int row_begin = row_panel_begin * MR, row_end = min_int(m, row_panel_end * MR);
    int col_begin = col_panel_begin * NR, col_end = min_int(n, col_panel_end * NR);
    if (kp == 0) {   // no products: C = beta · C
        for (int i = row_begin; i < row_end; i++)
            for (int j = col_begin; j < col_end; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
        return;
    }
    for (int p0 = 0; p0 < kp; p0 += KC_PAIRS) {
        int kpb = min_int(kp - p0, KC_PAIRS);
        // The first K block applies beta; later ones add to what it left.
        float block_beta = p0 == 0 ? beta : 1;
        int overwrite = p0 == 0 && beta == 0;
        const uint32_t *a_block = packed_a + (size_t)p0 * mpad, *b_block = packed_b + (size_t)p0 * npad;
        // An MC_ROWS block of A stays in L2 while each B panel (in L1) meets all its row panels.
        for (int block = row_begin; block < row_end; block += MC_ROWS) {
            int block_end = min_int(row_end, block + MC_ROWS);
            for (int panel = col_panel_begin; panel < col_panel_end; panel++) {
                int col0 = panel * NR, cols = n - col0 < NR ? n - col0 : NR;
                const uint32_t *b_panel = b_block + (size_t)panel * NR * kpb;
                for (int row0 = block; row0 < block_end; row0 += MR) {
                    int rows = min_int(m - row0, MR);
                    micro_kernel(a_block + (size_t)(row0 / MR) * MR * kpb, b_panel, kpb, alpha, block_beta, overwrite,
                                 c + (size_t)row0 * ldc + col0, ldc, rows, first_lanes(cols), first_lanes(cols - 16));
                }
            }
        }
    }
}

#else   // not x86-64: never supported, so the entry points below are never reached

int bf16_gemm_cpu_supported(void) { return 0; }
void bf16_gemm_compute(const uint32_t *packed_a, const uint32_t *packed_b, int m, int n, int k, float alpha, float beta,
                       float *c, int ldc, int row_panel_begin, int row_panel_end, int col_panel_begin, int col_panel_end) { abort(); }

#endif
