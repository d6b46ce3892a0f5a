// Shared by the kernel's C files (not part of the module's interface): block sizes, panel arithmetic and the
// target attribute of the AVX512-BF16 code, which is compiled whatever the build's -march and only run after
// bf16_gemm_cpu_supported() said yes.
#ifndef LODESTONE_BF16_GEMM_INTERNAL_H
#define LODESTONE_BF16_GEMM_INTERNAL_H
#include "bf16_gemm.h"

#define MR BF16_GEMM_MR
#define NR BF16_GEMM_NR
/// Pairs of K per block (768 values of K: the encoder's 768 in one block, 3072 in four, 384 and 1536 evenly).
/// Measured on Zen 5 (48 KB L1, 1 MB L2), single-thread compute: 384 pairs beat 192 by 8-15 % on K = 768 and on
/// wide N (C is read and written once per block, so fewer blocks save C traffic) and tie on K = 3072; 128 pairs
/// lose 10 %; 768 pairs tie with 384; 10, 20 or 40 panels per row block tie.
#define KC_PAIRS 384
/// Rows of A per block: whole panels (a block must start at a panel's first row).
#define MC_ROWS (20 * MR)

static inline int pairs_of(int k) { return (k + 1) / 2; }
static inline int panels(int n, int width) { return (n + width - 1) / width; }
static inline int min_int(int a, int b) { return a < b ? a : b; }

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// Lanes [0, count) set.
static inline __mmask16 first_lanes(int count) { return count >= 16 ? 0xFFFF : (__mmask16)((1u << (count > 0 ? count : 0)) - 1); }
#endif

#endif
