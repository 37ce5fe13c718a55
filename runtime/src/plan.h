/* One lb_gemm call, planned: the kernel, the packed panels, the cache blocks and the corrections.
 * The pack, drive and correct steps read the plan and never allocate. */
#ifndef LOWBIT_PLAN_H
#define LOWBIT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "codes.h"
#include "lowbit/lowbit.h"

/* One operand packed into panels of panel_rows rows (MR for A, NR for W) over the whole K. */
typedef struct lb_panel_set {
  lb_pack_fn pack;
  lb_pack_args args;
  lb_operand_codes codes;
  const unsigned char *source;
  size_t source_stride; /* elements between rows */
  size_t element_bytes; /* 1 when bits <= 8, else 2 */
  size_t rows;          /* M or N */
  size_t panel_rows;
  size_t panels;
  size_t block_bytes; /* one K block of one panel */
  size_t panel_bytes; /* from one panel to the next: all K blocks, rounded up to 64 bytes */
  unsigned char *packed;
  int64_t *code_sums; /* [panels * panel_rows] row code sums, or NULL when nothing reads them */
} lb_panel_set;

/* C = T * t_scale + rsA[m] * a_sum_scale + csW[n] * w_sum_scale + constant (design.md, section 2,
 * with the shifts folded into the scales; XOR kernels: t_scale = -2, constant = K). */
typedef struct lb_correction {
  int needed;
  int64_t t_scale, a_sum_scale, w_sum_scale, constant;
} lb_correction;

typedef struct lb_gemm_plan {
  const lb_gemm_kernel_info *kernel;
  size_t m, n, k;
  size_t kblocks;
  lb_panel_set a, w;
  lb_gemm_ukernel_args ukernel_args;
  int64_t plane_coef[LB_MAX_BITS * LB_MAX_BITS];
  unsigned char *c;
  size_t ldc;
  size_t c_element_bytes;
  lb_correction correction;
  /* Cache blocks: kc K blocks per chunk, mc A panels and nc W panels per work item. */
  size_t kc_blocks, mc_panels, nc_panels;
  size_t m_blocks, n_blocks;
  void *buffer;
} lb_gemm_plan;

typedef struct lb_gemm_problem {
  lb_operand a_operand, w_operand;
  size_t m, n, k;
  const void *a;
  size_t lda;
  const void *w;
  size_t ldw;
  void *c;
  size_t ldc;
} lb_gemm_problem;

/* Plans `problem` on `kernel` (which supports its operands) for `threads` threads and allocates
 * the panels. LB_INVALID_ARGUMENT if the corrections could overflow int64. */
lb_status lb_gemm_plan_init(lb_gemm_plan *plan, const lb_gemm_kernel_info *kernel,
                            const lb_gemm_problem *problem, unsigned threads);
void lb_gemm_plan_release(lb_gemm_plan *plan);

/* lb_gemm_plan_init without the allocation: every field but buffer and the panel sets' packed
 * and code_sums pointers, which the caller points at memory of its own (the operators keep their
 * W panels across calls and their A panels in a per-run workspace). */
lb_status lb_gemm_plan_layout(lb_gemm_plan *plan, const lb_gemm_kernel_info *kernel,
                              const lb_gemm_problem *problem, unsigned threads);

/* Threads for m x n x k multiply-adds: `requested` if not 0, else as lb_gemm_desc.threads says. */
unsigned lb_gemm_threads(unsigned requested, size_t m, size_t n, size_t k);

/* Work items of lb_parallel_for. Packing: one panel per item, A panels first. */
size_t lb_pack_item_count(const lb_gemm_plan *plan);
void lb_pack_item(void *plan, size_t item);

/* Computing: one block of mc A panels x nc W panels per item, over all of K, then corrected. */
size_t lb_drive_item_count(const lb_gemm_plan *plan);
void lb_drive_item(void *plan, size_t item);

/* Applies the correction to C[rows [row_begin, row_end) x columns [col_begin, col_end)). */
void lb_correct_block(const lb_gemm_plan *plan, size_t row_begin, size_t row_end, size_t col_begin,
                      size_t col_end);

#endif
