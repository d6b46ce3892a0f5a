// bf16 GEMM with fp32 accumulation for CPUs with AVX512_BF16 (VDPBF16PS): C = alpha · op(A) · op(B) + beta · C,
// row-major, fp32 in and out. Inputs are rounded to bf16 (round to nearest even) while they are packed; every
// product is summed in fp32. The caller splits the work across threads (see GEMM.swift):
//   1. bf16_gemm_pack_a / bf16_gemm_pack_b fill the packed operands, in parts (any split of the panels);
//   2. bf16_gemm_compute runs the micro-kernels over a block of C's row and column panels.
// A packed operand may be kept and reused while its source is unchanged (the encoder's weights: see
// BF16WeightCache.swift).
// Every function here must only run where bf16_gemm_cpu_supported() returned 1.
#ifndef LODESTONE_BF16_GEMM_H
#define LODESTONE_BF16_GEMM_H
#include <stddef.h>
#include <stdint.h>

/// Rows of C one micro-kernel computes (a packed A panel's height).
#define BF16_GEMM_MR 12
/// Columns of C one micro-kernel computes (a packed B panel's width: two 16-float vectors).
#define BF16_GEMM_NR 32

/// 1 when the CPU executes AVX512F and AVX512_BF16 and the OS saves the ZMM registers (CPUID and XGETBV); else 0.
int bf16_gemm_cpu_supported(void);

/// Bytes of the packed copy of A (M × K) or B (K × N); 64-byte aligned storage is expected.
size_t bf16_gemm_packed_a_bytes(int m, int k);
size_t bf16_gemm_packed_b_bytes(int k, int n);

/// Packs row panels [panel_begin, panel_end) of op(A) (panels of BF16_GEMM_MR rows) into `packed`.
void bf16_gemm_pack_a(const float *a, int lda, int trans_a, int m, int k, int panel_begin, int panel_end, uint32_t *packed);

/// Packs column panels [panel_begin, panel_end) of op(B) (panels of BF16_GEMM_NR columns) into `packed`.
void bf16_gemm_pack_b(const float *b, int ldb, int trans_b, int k, int n, int panel_begin, int panel_end, uint32_t *packed);

/// The part of C in row panels [row_panel_begin, row_panel_end) (of BF16_GEMM_MR rows) and column panels
/// [col_panel_begin, col_panel_end) (of BF16_GEMM_NR columns) from the packed operands: threads may split C
/// by rows (each packing only its own A panels) or by columns.
void bf16_gemm_compute(const uint32_t *packed_a, const uint32_t *packed_b, int m, int n, int k, float alpha, float beta,
                       float *c, int ldc, int row_panel_begin, int row_panel_end, int col_panel_begin, int col_panel_end);

/// A buffer of at least `bytes` owned by the calling thread (grown on demand, kept for the thread's next call);
/// NULL when memory runs out.
void *bf16_gemm_thread_scratch(size_t bytes);

#endif
