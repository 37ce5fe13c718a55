/* Operators with prepacked weights. Create lays out the GEMM of one group on the kernel (plan.c),
 * packs W once and sizes a run's workspace. A run splits the output rows of every group into
 * units; each thread takes units from a shared counter and computes them in its own slot of the
 * run's workspace: pack the unit's A panels, drive the kernels (drive.c, which also applies the
 * encoding corrections), correct bipolar padding, write the output stage. */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "operator.h"
#include "threadpool.h"

#define LB_ALIGNMENT ((size_t)64)
/* Units per thread, so that the counter evens out units of uneven cost (border rows, the last
 * short unit). */
#define LB_UNITS_PER_THREAD 4
/* Rows of a unit: enough for each W panel streamed from L2 to meet many A rows, few enough that
 * a slot stays small. */
#define LB_UNIT_MAX_ROWS 128
#define LB_UNIT_MAX_TILE_BYTES ((size_t)256 * 1024)

static size_t lb_min(size_t x, size_t y) { return x < y ? x : y; }

static size_t lb_divide_up(size_t value, size_t divisor) { return (value + divisor - 1) / divisor; }

/* Adds `bytes`, rounded up to the alignment, to *total; 0 on overflow. */
static int lb_reserve(size_t *total, size_t bytes, size_t *offset) {
  size_t aligned;
  if (__builtin_add_overflow(bytes, LB_ALIGNMENT - 1, &aligned)) {
    return 0;
  }
  aligned = aligned / LB_ALIGNMENT * LB_ALIGNMENT;
  *offset = *total;
  return !__builtin_add_overflow(*total, aligned, total);
}

/* The GEMM of `rows` rows and `columns` columns of one group, storing its exact sums at c with row
 * stride ldc. Its panel sizes depend on K alone, so every unit's panels are those of the group. */
static lb_status lb_unit_plan(const lb_operator *op, size_t rows, size_t columns, void *c,
                              size_t ldc, lb_gemm_plan *plan) {
  const lb_conv_geometry *g = &op->geometry;
  const lb_gemm_problem problem = {.a_operand = op->a,
                                   .w_operand = op->w,
                                   .m = rows,
                                   .n = columns,
                                   .k = g->k,
                                   .lda = g->k,
                                   .ldw = g->k,
                                   .c = c,
                                   .ldc = ldc};
  return lb_gemm_plan_layout(plan, op->kernel, &problem, 1);
}

static size_t lb_sum_bytes(const lb_operator *op) {
  return op->sums64 ? sizeof(int64_t) : sizeof(int32_t);
}

static size_t lb_round_up(size_t value, size_t multiple) {
  return value > multiple ? lb_divide_up(value, multiple) * multiple : multiple;
}

/* Units of whole panels: rows first, as many units as the threads want; columns split only when
 * the rows of every group give fewer (each column block packs the unit's A panels again, which is
 * cheap exactly when there are few rows). The sums tile bounds the rows last. */
static void lb_size_units(lb_operator *op) {
  const lb_conv_geometry *g = &op->geometry;
  const size_t mr = op->kernel->mr, nr = op->kernel->nr;
  const size_t wanted_units = op->threads > 1 ? (size_t)op->threads * LB_UNITS_PER_THREAD : 1;
  op->unit_rows = lb_round_up(
      lb_min(lb_divide_up(g->rows, lb_divide_up(wanted_units, g->groups)), LB_UNIT_MAX_ROWS), mr);
  const size_t row_units = lb_divide_up(g->rows, op->unit_rows) * g->groups;
  const size_t panels = lb_divide_up(g->group_out_c, nr);
  const size_t column_blocks =
      row_units < wanted_units ? lb_min(lb_divide_up(wanted_units, row_units), panels) : 1;
  op->unit_columns = lb_divide_up(panels, column_blocks) * nr;
  if (op->output.kind != LB_OUTPUT_SUMS) {
    op->unit_rows = lb_round_up(
        lb_min(op->unit_rows, LB_UNIT_MAX_TILE_BYTES / (op->unit_columns * lb_sum_bytes(op))), mr);
  }
}

/* Sizes the slot of a run's workspace from the layout of the largest unit: A panels, A code
 * sums, the indirection buffer, the sums tile. */
static int lb_size_slot(lb_operator *op, const lb_gemm_plan *plan) {
  const lb_conv_geometry *g = &op->geometry;
  size_t a_panels_bytes, a_sums_bytes = 0, scratch_bytes = 0, tile_bytes = 0;
  if (__builtin_mul_overflow(plan->a.panels, plan->a.panel_bytes, &a_panels_bytes)) {
    return 0;
  }
  if (plan->correction.needed) {
    a_sums_bytes = plan->a.panels * plan->a.panel_rows * sizeof(int64_t);
  }
  if (op->pack_a_unit != lb_pack_a_unit_rows &&
      __builtin_mul_overflow(op->unit_rows * sizeof(const void *), g->taps, &scratch_bytes)) {
    return 0;
  }
  if (op->output.kind != LB_OUTPUT_SUMS &&
      __builtin_mul_overflow(op->unit_rows * lb_sum_bytes(op), op->unit_columns, &tile_bytes)) {
    return 0;
  }
  size_t total = 0, a_panels_at; /* 0: the A panels open the slot, aligned */
  if (!lb_reserve(&total, a_panels_bytes, &a_panels_at) ||
      !lb_reserve(&total, a_sums_bytes, &op->slot_a_sums) ||
      !lb_reserve(&total, scratch_bytes, &op->slot_scratch) ||
      !lb_reserve(&total, tile_bytes, &op->slot_tile)) {
    return 0;
  }
  op->slot_bytes = total;
  return 1;
}

/* One allocation for everything create keeps: the W panels, their code sums, the tap sums and
 * the padding run. */
static lb_status lb_allocate_weights(lb_operator *op, const lb_gemm_plan *plan,
                                     int32_t zero_point) {
  const lb_conv_geometry *g = &op->geometry;
  op->w_panels = plan->w.panels;
  op->w_panel_bytes = plan->w.panel_bytes;
  size_t packed_bytes, sums_bytes = 0, tap_bytes = 0;
  if (__builtin_mul_overflow(op->w_panels, op->w_panel_bytes, &op->w_group_bytes) ||
      __builtin_mul_overflow(op->w_group_bytes, g->groups, &packed_bytes)) {
    return LB_OUT_OF_MEMORY;
  }
  /* w_panels * NR <= out_c + NR, and taps * out_c <= the weights' element count: both fit. */
  if (plan->correction.needed) {
    sums_bytes = g->groups * op->w_panels * plan->w.panel_rows * sizeof(int64_t);
  }
  if (op->a.encoding == LB_BIPOLAR && g->padded) {
    tap_bytes = g->taps * g->out_c * sizeof(int64_t);
  }
  const size_t pad_bytes = g->group_in_c * op->input_bytes;
  size_t total = 0, packed_at, sums_at, taps_at, pad_at;
  if (!lb_reserve(&total, packed_bytes, &packed_at) || !lb_reserve(&total, sums_bytes, &sums_at) ||
      !lb_reserve(&total, tap_bytes, &taps_at) || !lb_reserve(&total, pad_bytes, &pad_at)) {
    return LB_OUT_OF_MEMORY;
  }
  unsigned char *buffer = aligned_alloc(LB_ALIGNMENT, total);
  if (buffer == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  op->w_packed = buffer + packed_at;
  op->w_code_sums = sums_bytes != 0 ? (int64_t *)(buffer + sums_at) : NULL;
  op->tap_sums = tap_bytes != 0 ? (int64_t *)(buffer + taps_at) : NULL;
  op->pad_run = buffer + pad_at;
  lb_padding_fill_run(op, zero_point);
  return LB_OK;
}

lb_status lb_operator_create(const lb_conv2d_desc *desc, const lb_conv_geometry *geometry,
                             const void *weights, lb_operator **out) {
  const lb_gemm_kernel_info *kernel = lb_gemm_select(desc->a, desc->w, desc->strategy, geometry->k);
  const int float_input = desc->input == LB_INPUT_FLOAT;
  const int rows_are_input = !float_input && geometry->kernel_h == 1 && geometry->kernel_w == 1 &&
                             geometry->stride_h == 1 && geometry->stride_w == 1 &&
                             !geometry->padded;
  if (kernel == NULL || (float_input && kernel->pack_a_quantize == NULL) ||
      (!float_input && !rows_are_input && kernel->pack_a_indirect == NULL)) {
    return LB_NO_KERNEL;
  }
  lb_operator *op = calloc(1, sizeof *op);
  if (op == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  op->geometry = *geometry;
  op->a = desc->a;
  op->w = desc->w;
  op->kernel = kernel;
  op->sums64 = lb_gemm_output_type(desc->a, desc->w, geometry->k) == LB_OUT_INT64;
  op->threads = lb_gemm_threads(desc->threads, geometry->rows, geometry->out_c, geometry->k);
  op->pack_a_unit = rows_are_input ? lb_pack_a_unit_rows : lb_pack_a_unit_indirect;
  op->input_bytes = float_input ? sizeof(float) : desc->a.bits <= 8 ? 1 : 2;
  if (float_input) {
    const int bipolar = desc->a.encoding == LB_BIPOLAR;
    const int32_t top = (int32_t)1 << (desc->a.bits - (desc->a.encoding == LB_SIGNED));
    op->quantize = (lb_quantize_args){.scale = desc->a_scale,
                                      .zero_point = desc->a_zero_point,
                                      .min_value = bipolar                         ? -1
                                                   : desc->a.encoding == LB_SIGNED ? -top
                                                                                   : 0,
                                      .max_value = bipolar ? 1 : top - 1,
                                      .bipolar = bipolar};
  }
  lb_status status = lb_output_stage_init(&op->output, desc->output, &desc->requantize,
                                          &desc->float_out, geometry->out_c);
  lb_gemm_plan plan;
  if (status == LB_OK) {
    lb_size_units(op);
    status =
        lb_unit_plan(op, op->unit_rows, geometry->group_out_c, NULL, geometry->group_out_c, &plan);
  }
  if (status == LB_OK && !lb_size_slot(op, &plan)) {
    status = LB_OUT_OF_MEMORY;
  }
  if (status == LB_OK) {
    status = lb_allocate_weights(op, &plan, desc->a_zero_point);
  }
  if (status != LB_OK) {
    lb_operator_destroy(op);
    return status;
  }
  lb_operator_pack_weights(op, weights);
  *out = op;
  return LB_OK;
}

typedef struct lb_weight_packing {
  const lb_operator *op;
  const unsigned char *weights;
  lb_gemm_plan plan; /* of one group, pointers set per panel */
} lb_weight_packing;

/* One W panel of one group: the group's out channels are rows of K contiguous weights. */
static void lb_pack_weight_panel(void *context, size_t item) {
  const lb_weight_packing *packing = context;
  const lb_operator *op = packing->op;
  const size_t group = item / op->w_panels, panel = item % op->w_panels;
  lb_gemm_plan plan = packing->plan;
  plan.w.source =
      packing->weights + group * op->geometry.group_out_c * op->geometry.k * plan.w.element_bytes;
  plan.w.packed = op->w_packed + group * op->w_group_bytes;
  plan.w.code_sums =
      op->w_code_sums != NULL ? op->w_code_sums + group * op->w_panels * plan.w.panel_rows : NULL;
  lb_pack_item(&plan, plan.a.panels + panel);
}

void lb_operator_pack_weights(lb_operator *op, const void *weights) {
  lb_weight_packing packing = {.op = op, .weights = weights};
  const lb_status status = lb_unit_plan(op, op->kernel->mr, op->geometry.group_out_c, NULL,
                                        op->geometry.group_out_c, &packing.plan);
  assert(status == LB_OK); /* create laid out the same group */
  (void)status;
  lb_parallel_for(op->threads, op->geometry.groups * op->w_panels, lb_pack_weight_panel, &packing);
  if (op->tap_sums != NULL) {
    lb_padding_tap_sums(op, weights);
  }
}

typedef struct lb_run {
  const lb_operator *op;
  const unsigned char *input;
  unsigned char *output;
  unsigned char *workspace;
  size_t row_blocks, column_blocks, units;
  atomic_size_t next_unit;
} lb_run;

/* Units in the order group, column block, row block: consecutive units share W panels. */
static lb_run_unit lb_unit_at(const lb_run *run, size_t index) {
  const lb_operator *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t first_row = index % run->row_blocks * op->unit_rows;
  const size_t first_column = index / run->row_blocks % run->column_blocks * op->unit_columns;
  return (lb_run_unit){.input = run->input,
                       .group = index / run->row_blocks / run->column_blocks,
                       .first_row = first_row,
                       .rows = lb_min(op->unit_rows, g->rows - first_row),
                       .first_column = first_column,
                       .columns = lb_min(op->unit_columns, g->group_out_c - first_column)};
}

static void lb_compute_unit(const lb_run *run, size_t index, unsigned char *slot) {
  const lb_operator *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const lb_run_unit unit = lb_unit_at(run, index);
  const size_t out_column = unit.group * g->group_out_c + unit.first_column;
  /* Exact sums go straight to the output; the other stages read them from the slot's tile. */
  const int sums_out = op->output.kind == LB_OUTPUT_SUMS;
  unsigned char *c = sums_out
                         ? run->output + (unit.first_row * g->out_c + out_column) * lb_sum_bytes(op)
                         : slot + op->slot_tile;
  const size_t ldc = sums_out ? g->out_c : op->unit_columns;

  lb_gemm_plan plan;
  const lb_status status = lb_unit_plan(op, unit.rows, unit.columns, c, ldc, &plan);
  assert(status == LB_OK); /* create laid out a unit at least as large */
  (void)status;
  plan.a.packed = slot; /* the A panels open the slot */
  plan.a.code_sums = plan.correction.needed ? (int64_t *)(slot + op->slot_a_sums) : NULL;
  const size_t first_panel = unit.first_column / plan.w.panel_rows;
  plan.w.packed = op->w_packed + unit.group * op->w_group_bytes + first_panel * op->w_panel_bytes;
  plan.w.code_sums =
      plan.correction.needed
          ? op->w_code_sums + unit.group * op->w_panels * plan.w.panel_rows + unit.first_column
          : NULL;
  op->pack_a_unit(op, &unit, &plan, slot + op->slot_scratch);
  for (size_t item = 0; item < lb_drive_item_count(&plan); item++) {
    lb_drive_item(&plan, item);
  }
  if (op->tap_sums != NULL) {
    lb_padding_correct_bipolar(op, &unit, c, ldc);
  }
  if (!sums_out) {
    const size_t out_bytes = lb_output_element_bytes(&op->output, op->sums64);
    lb_output_stage_write(&op->output, c, op->sums64, ldc, unit.rows, unit.columns, out_column,
                          run->output + (unit.first_row * g->out_c + out_column) * out_bytes,
                          g->out_c);
  }
}

/* A slot belongs to one lb_parallel_for item, so no two threads share one: the items take units
 * until none is left (a busy pool runs every item on the calling thread, one after the other). */
static void lb_run_slot(void *context, size_t slot) {
  lb_run *run = context;
  unsigned char *workspace = run->workspace + slot * run->op->slot_bytes;
  for (;;) {
    const size_t unit = atomic_fetch_add_explicit(&run->next_unit, 1, memory_order_relaxed);
    if (unit >= run->units) {
      return;
    }
    lb_compute_unit(run, unit, workspace);
  }
}

lb_status lb_operator_run(const lb_operator *op, const void *input, void *output) {
  lb_run run = {.op = op, .input = input, .output = output};
  run.row_blocks = lb_divide_up(op->geometry.rows, op->unit_rows);
  run.column_blocks = lb_divide_up(op->geometry.group_out_c, op->unit_columns);
  run.units = run.row_blocks * run.column_blocks * op->geometry.groups;
  const size_t slots = lb_min(lb_min(op->threads, run.units), LB_POOL_MAX_THREADS);
  size_t bytes;
  if (__builtin_mul_overflow(slots, op->slot_bytes, &bytes) ||
      (run.workspace = aligned_alloc(LB_ALIGNMENT, bytes)) == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  atomic_init(&run.next_unit, 0);
  lb_parallel_for((unsigned)slots, slots, lb_run_slot, &run);
  free(run.workspace);
  return LB_OK;
}

void lb_operator_destroy(lb_operator *op) {
  if (op == NULL) {
    return;
  }
  lb_output_stage_release(&op->output);
  /* w_packed opens the one allocation of lb_allocate_weights. */
  free(op->w_packed);
  free(op);
}
