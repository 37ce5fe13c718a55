/* Planning a call: codes, panel sizes, cache blocks, corrections, and the one allocation. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "plan.h"
#include "select.h"

#define LB_PANEL_ALIGNMENT ((size_t)64)

/* kc=auto: the share of the L1 data cache for the K chunk of one A panel, which the innermost loop
 * reuses for every W panel of the block; the W panel streams through the rest. */
#define LB_L1_SHARE_DIVISOR 2
/* nc=auto: the share of the L2 for the K chunk of one block of W panels, reused for every A
 * panel. */
#define LB_L2_SHARE_DIVISOR 2
/* Work items per thread, so that the pool's dynamic scheduling evens out uneven blocks. */
#define LB_ITEMS_PER_THREAD 4

static size_t lb_divide_up(size_t value, size_t divisor) { return (value + divisor - 1) / divisor; }

static size_t lb_clamp(size_t value, size_t low, size_t high) {
  return value < low ? low : value > high ? high : value;
}

/* 0 when the size overflows size_t. */
static size_t lb_aligned_size(size_t count, size_t bytes) {
  size_t size;
  if (__builtin_mul_overflow(count, bytes, &size) ||
      __builtin_add_overflow(size, LB_PANEL_ALIGNMENT - 1, &size)) {
    return 0;
  }
  return size / LB_PANEL_ALIGNMENT * LB_PANEL_ALIGNMENT;
}

static size_t lb_block_bytes(int format, size_t rows, unsigned kblock, unsigned planes) {
  switch (format) {
  case LB_CODE_BITPLANES: return (size_t)planes * rows * (kblock / 64) * sizeof(uint64_t);
  case LB_CODE_S16: return rows * kblock * sizeof(int16_t);
  default: return rows * kblock;
  }
}

static void lb_panel_set_init(lb_panel_set *set, lb_pack_fn pack, int format, lb_operand op,
                              const void *source, size_t stride, size_t rows, unsigned panel_rows,
                              unsigned kblock) {
  lb_operand_codes_for(format, op, &set->codes);
  set->pack = pack;
  set->args = (lb_pack_args){.bits = op.bits,
                             .source_signed = op.encoding != LB_UNSIGNED,
                             .code_offset = set->codes.offset,
                             .code_shift = set->codes.shift,
                             .planes = set->codes.planes};
  set->source = source;
  set->source_stride = stride;
  set->element_bytes = op.bits <= 8 ? 1 : 2;
  set->rows = rows;
  set->panel_rows = panel_rows;
  set->panels = lb_divide_up(rows, panel_rows);
  set->block_bytes = lb_block_bytes(format, panel_rows, kblock, set->codes.planes);
}

static void lb_plan_correction(lb_gemm_plan *plan) {
  lb_correction *correction = &plan->correction;
  if (plan->kernel->strategy == LB_STRATEGY_BITSERIAL_XOR) {
    *correction = (lb_correction){.needed = 1, .t_scale = -2, .constant = (int64_t)plan->k};
    return;
  }
  const lb_operand_codes *a = &plan->a.codes, *w = &plan->w.codes;
  correction->t_scale = (int64_t)1 << (a->shift + w->shift);
  correction->a_sum_scale = ((int64_t)1 << a->shift) * w->offset;
  correction->w_sum_scale = ((int64_t)1 << w->shift) * a->offset;
  correction->constant = (int64_t)plan->k * a->offset * w->offset;
  correction->needed = correction->t_scale != 1 || a->offset != 0 || w->offset != 0;
}

/* Cache blocks from the schedule database's entry when the plan runs its kernel, else from the
 * CPU's tuning row: kc, mc and nc as they give them, or derived from the cache sizes (auto). */
static void lb_plan_blocks(lb_gemm_plan *plan, const lb_gemm_problem *problem, unsigned threads) {
  const lb_gemm_kernel_info *kernel = plan->kernel;
  const lb_schedule *schedule = lb_schedule_for(problem->a_operand, problem->w_operand, plan->k);
  const lb_tuning_row *tuning = lb_cpu_tuning();
  size_t kc = tuning->kc, mc = tuning->mc, nc = tuning->nc;
  if (schedule != NULL && schedule->kernel == kernel) {
    kc = schedule->kc;
    mc = schedule->mc;
    nc = schedule->nc;
  }
  const size_t kc_blocks = kc != LB_TUNING_AUTO
                               ? kc / kernel->kblock
                               : lb_cpu_l1d_bytes() / LB_L1_SHARE_DIVISOR / plan->a.block_bytes;
  plan->kc_blocks = lb_clamp(kc_blocks, 1, plan->kblocks);
  const size_t nc_panels = nc != LB_TUNING_AUTO ? nc / kernel->nr
                                                : lb_cpu_l2_bytes() / LB_L2_SHARE_DIVISOR /
                                                      (plan->kc_blocks * plan->w.block_bytes);
  plan->nc_panels = lb_clamp(nc_panels, 1, plan->w.panels);
  plan->mc_panels =
      mc != LB_TUNING_AUTO ? lb_clamp(mc / kernel->mr, 1, plan->a.panels) : plan->a.panels;
  plan->n_blocks = lb_divide_up(plan->w.panels, plan->nc_panels);
  /* Enough items for the pool's dynamic scheduling: split M first, since W panels are shared. */
  const size_t wanted = threads > 1 ? (size_t)threads * LB_ITEMS_PER_THREAD : 1;
  if (plan->n_blocks < wanted) {
    const size_t split = lb_divide_up(plan->a.panels, lb_divide_up(wanted, plan->n_blocks));
    plan->mc_panels = split < plan->mc_panels ? split : plan->mc_panels;
  }
  plan->m_blocks = lb_divide_up(plan->a.panels, plan->mc_panels);
}

static lb_status lb_plan_allocate(lb_gemm_plan *plan) {
  const size_t a_bytes = lb_aligned_size(plan->a.panels, plan->a.panel_bytes);
  const size_t w_bytes = lb_aligned_size(plan->w.panels, plan->w.panel_bytes);
  const int sums = plan->correction.needed;
  const size_t a_sums_bytes =
      sums ? lb_aligned_size(plan->a.panels * plan->a.panel_rows, sizeof(int64_t)) : 0;
  const size_t w_sums_bytes =
      sums ? lb_aligned_size(plan->w.panels * plan->w.panel_rows, sizeof(int64_t)) : 0;
  size_t total;
  if (a_bytes == 0 || w_bytes == 0 || (sums && (a_sums_bytes == 0 || w_sums_bytes == 0)) ||
      __builtin_add_overflow(a_bytes, w_bytes, &total) ||
      __builtin_add_overflow(total, a_sums_bytes, &total) ||
      __builtin_add_overflow(total, w_sums_bytes, &total)) {
    return LB_OUT_OF_MEMORY;
  }
  unsigned char *buffer = aligned_alloc(LB_PANEL_ALIGNMENT, total);
  if (buffer == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  plan->buffer = buffer;
  plan->a.packed = buffer;
  plan->w.packed = buffer + a_bytes;
  plan->a.code_sums = sums ? (int64_t *)(buffer + a_bytes + w_bytes) : NULL;
  plan->w.code_sums = sums ? (int64_t *)(buffer + a_bytes + w_bytes + a_sums_bytes) : NULL;
  return LB_OK;
}

lb_status lb_gemm_plan_layout(lb_gemm_plan *plan, const lb_gemm_kernel_info *kernel,
                              const lb_gemm_problem *problem, unsigned threads) {
  memset(plan, 0, sizeof *plan);
  plan->kernel = kernel;
  plan->m = problem->m;
  plan->n = problem->n;
  plan->k = problem->k;
  plan->kblocks = lb_divide_up(problem->k, kernel->kblock);
  lb_panel_set_init(&plan->a, kernel->pack_a, kernel->a_format, problem->a_operand, problem->a,
                    problem->lda, problem->m, kernel->mr, kernel->kblock);
  lb_panel_set_init(&plan->w, kernel->pack_w, kernel->w_format, problem->w_operand, problem->w,
                    problem->ldw, problem->n, kernel->nr, kernel->kblock);
  if (!lb_codes_fit_int64(&plan->a.codes, &plan->w.codes, problem->k)) {
    return LB_INVALID_ARGUMENT;
  }

  const int out64 =
      lb_output_type(problem->a_operand, problem->w_operand, problem->k) == LB_OUT_INT64;
  for (unsigned i = 0; i < plan->a.codes.planes; i++) {
    for (unsigned j = 0; j < plan->w.codes.planes; j++) {
      plan->plane_coef[i * plan->w.codes.planes + j] =
          plan->a.codes.plane_weight[i] * plan->w.codes.plane_weight[j];
    }
  }
  plan->ukernel_args =
      (lb_gemm_ukernel_args){.a_planes = plan->a.codes.planes,
                             .w_planes = plan->w.codes.planes,
                             .plane_coef = plan->plane_coef,
                             .max_abs_product = (int64_t)(lb_codes_max_abs(&plan->a.codes) *
                                                          lb_codes_max_abs(&plan->w.codes)),
                             .out64 = out64,
                             .accumulate = 0};
  plan->c = problem->c;
  plan->ldc = problem->ldc;
  plan->c_element_bytes = out64 ? sizeof(int64_t) : sizeof(int32_t);

  lb_plan_correction(plan);
  lb_plan_blocks(plan, problem, threads);
  plan->a.panel_bytes = lb_aligned_size(plan->kblocks, plan->a.block_bytes);
  plan->w.panel_bytes = lb_aligned_size(plan->kblocks, plan->w.block_bytes);
  return plan->a.panel_bytes != 0 && plan->w.panel_bytes != 0 ? LB_OK : LB_OUT_OF_MEMORY;
}

lb_status lb_gemm_plan_init(lb_gemm_plan *plan, const lb_gemm_kernel_info *kernel,
                            const lb_gemm_problem *problem, unsigned threads) {
  const lb_status status = lb_gemm_plan_layout(plan, kernel, problem, threads);
  return status != LB_OK ? status : lb_plan_allocate(plan);
}

void lb_gemm_plan_release(lb_gemm_plan *plan) {
  free(plan->buffer);
  plan->buffer = NULL;
}
