// Shared by the kernel's C files (not part of the module's interface): block sizes, panel arithmetic and the
// target attribute of the AVX512-BF16 code, which is compiled whatever the build's -march and only run after
// bf16_gemm_cpu_supported() said yes.
#ifndef LODESTONE_BF16_GEMM_INTERNAL_H
#define LODESTONE_BF16_GEMM_INTERNAL_H
#include "bf16_gemm.h"

#define MR BF16_GEMM_MR
#define NR BF16_GEMM_NR
/// Pairs of K per block (384 values of K: the encoder's 384, 768 and 3072 split evenly). Measured on Zen 5
/// (48 KB L1, 1 MB L2): 256 pairs or 40-panel row blocks are within noise of this, 128 pairs is 10 % slower.
#define KC_PAIRS 192
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
