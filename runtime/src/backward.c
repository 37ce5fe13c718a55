/* The backward products of conv2d and dense (lowbit/backward.h, docs/design.md section 18), on
 * the generated GEMM kernels of the operands:
 * - dX: per group, dA[m][k] = sum_n dY[m][n] * W[n][k] (M = output pixels, N = the forward K =
 *   taps * Cg, K = Ng): A is dY as it lies (row stride out_c), W^T is packed at create by the
 *   kernel's pack_w_transposed. col2im then sums dA into dX; for a 1x1 kernel at stride 1 without
 *   padding col2im is the identity and the kernels store dA straight into dX.
 * - dW: per group and tap, dW[n][t][c] = sum_m dY[m][n] * X'[pixel(m, t)][c] (M = Ng, N = Cg,
 *   K = output pixels): both sides are K-major, dY^T and X^T, packed by the kernel's transposed
 *   packs from one pointer per K index (a row of dY, the input pixel a tap reads or the padding
 *   run), so that nothing is transposed or gathered into a copy.
 * Every output element is computed by one unit alone, whole: results do not depend on threads. */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "lowbit/backward.h"
#include "operator.h"
#include "select.h"
#include "threadpool.h"

#define LB_ALIGNMENT ((size_t)64)
#define LB_UNITS_PER_THREAD 4
#define LB_UNIT_MAX_ROWS 128
/* The dA buffer of col2im: images are processed in chunks of at most this many bytes of dA (one
 * image at least), so that a large batch does not need a dA of its whole size. */
#define LB_DA_MAX_BYTES ((size_t)16 << 20)

struct lb_conv2d_backward {
  lb_conv_geometry geometry;
  lb_operand x, w, dy;
  const lb_gemm_kernel_info *data_kernel, *weights_kernel;
  unsigned threads;
  int dx64, dw64; /* the output types of dX and dW */
  int da64;       /* the type of dA, the dX GEMM's sums over Ng */
  int identity;   /* col2im is the identity: dA is dX */
  size_t x_bytes, dy_bytes, w_bytes;
  /* dX: units of dx_unit_rows rows and dx_unit_columns columns of a group's dA, over images in
   * chunks of da_images; W^T of group g: wt_panels panels from wt_packed + g * wt_group_bytes. */
  size_t da_images, dx_unit_rows, dx_unit_columns, dx_slot_bytes, dx_slot_sums;
  size_t wt_panels, wt_panel_bytes, wt_group_bytes;
  unsigned char *wt_packed;
  int64_t *wt_code_sums;
  const void **w_columns; /* [out_c]: W's rows, the K-major columns of W^T */
  /* dW: the dY^T panels of one group, the X^T panel of one unit. */
  size_t dyt_panels, dyt_panel_bytes, xt_panel_bytes, dw_slot_sums, dw_slot_bytes;
  unsigned char *pad_run; /* in_c elements of X's padding value (+1 for bipolar X) */
  void *memory;           /* the one allocation behind wt_packed, sums, w_columns, pad_run */
};

static size_t lb_min(size_t x, size_t y) { return x < y ? x : y; }

static size_t lb_divide_up(size_t value, size_t divisor) { return (value + divisor - 1) / divisor; }

static size_t lb_round_up(size_t value, size_t multiple) {
  return value > multiple ? lb_divide_up(value, multiple) * multiple : multiple;
}

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

static size_t lb_element_bytes(lb_operand op) { return op.bits <= 8 ? 1 : 2; }

static size_t lb_sum_bytes(int out64) { return out64 ? sizeof(int64_t) : sizeof(int32_t); }

static int64_t lb_source_value(const unsigned char *elements, size_t index, lb_operand op) {
  if (op.bits <= 8) {
    return op.encoding == LB_UNSIGNED ? ((const uint8_t *)elements)[index]
                                      : ((const int8_t *)elements)[index];
  }
  uint16_t bits;
  memcpy(&bits, elements + 2 * index, sizeof bits);
  return op.encoding == LB_UNSIGNED ? (int64_t)bits : (int64_t)(int16_t)bits;
}

/* The taps of one dimension that can reach one input position: those whose tap * dilation fall
 * in one residue class modulo the stride, at most. */
static size_t lb_overlap(size_t kernel, size_t stride, size_t dilation) {
  size_t most = 0;
  for (size_t residue = 0; residue < stride; residue++) {
    size_t count = 0;
    for (size_t tap = 0; tap < kernel; tap++) {
      count += tap * dilation % stride == residue;
    }
    most = count > most ? count : most;
  }
  return most;
}

/* The layout of a group's dX GEMM: rows of dY x W^T, columns of the forward K. */
static lb_status lb_data_plan(const lb_conv2d_backward *op, size_t rows, size_t columns, void *c,
                              size_t ldc, lb_gemm_plan *plan) {
  const lb_conv_geometry *g = &op->geometry;
  const lb_gemm_problem problem = {.a_operand = op->dy,
                                   .w_operand = op->w,
                                   .m = rows,
                                   .n = columns,
                                   .k = g->group_out_c,
                                   .lda = g->out_c,
                                   .ldw = g->group_out_c,
                                   .c = c,
                                   .ldc = ldc};
  return lb_gemm_plan_layout(plan, op->data_kernel, &problem, 1);
}

/* The layout of a dW GEMM of one group and tap: Ng rows of dY^T, columns channels of X^T. */
static lb_status lb_weights_plan(const lb_conv2d_backward *op, size_t columns, void *c,
                                 lb_gemm_plan *plan) {
  const lb_conv_geometry *g = &op->geometry;
  const lb_gemm_problem problem = {.a_operand = op->dy,
                                   .w_operand = op->x,
                                   .m = g->group_out_c,
                                   .n = columns,
                                   .k = g->rows,
                                   .lda = g->rows,
                                   .ldw = g->rows,
                                   .c = c,
                                   .ldc = g->k};
  return lb_gemm_plan_layout(plan, op->weights_kernel, &problem, 1);
}

/* dX units as the forward operator sizes them: rows first, columns (whole W^T panels) split only
 * when the rows of every group give fewer units than the threads want. */
static void lb_size_data_units(lb_conv2d_backward *op, size_t chunk_rows) {
  const lb_conv_geometry *g = &op->geometry;
  const size_t mr = op->data_kernel->mr, nr = op->data_kernel->nr;
  const size_t wanted = op->threads > 1 ? (size_t)op->threads * LB_UNITS_PER_THREAD : 1;
  op->dx_unit_rows = lb_round_up(
      lb_min(lb_divide_up(chunk_rows, lb_divide_up(wanted, g->groups)), LB_UNIT_MAX_ROWS), mr);
  const size_t row_units = lb_divide_up(chunk_rows, op->dx_unit_rows) * g->groups;
  const size_t panels = lb_divide_up(g->k, nr);
  const size_t column_blocks =
      row_units < wanted ? lb_min(lb_divide_up(wanted, row_units), panels) : 1;
  op->dx_unit_columns = lb_divide_up(panels, column_blocks) * nr;
}

/* Sizes both products' layouts and slots and checks that their sums stay exact in int64. */
static lb_status lb_backward_layout(lb_conv2d_backward *op) {
  const lb_conv_geometry *g = &op->geometry;
  const size_t pixels = g->out_h * g->out_w;
  size_t da_image_bytes;
  if (op->identity) {
    op->da_images = g->batch;
  } else if (__builtin_mul_overflow(pixels * g->taps, g->in_c * lb_sum_bytes(op->da64),
                                    &da_image_bytes)) {
    return LB_OUT_OF_MEMORY;
  } else {
    op->da_images = lb_min(g->batch, LB_DA_MAX_BYTES / da_image_bytes);
    op->da_images = op->da_images >= 1 ? op->da_images : 1;
  }
  lb_size_data_units(op, op->da_images * pixels);

  lb_gemm_plan plan;
  lb_status status = lb_data_plan(op, op->dx_unit_rows, g->k, NULL, g->k, &plan);
  if (status != LB_OK) {
    return status;
  }
  op->wt_panels = plan.w.panels;
  op->wt_panel_bytes = plan.w.panel_bytes;
  size_t total = 0, at;
  if (__builtin_mul_overflow(plan.a.panels, plan.a.panel_bytes, &at) ||
      !lb_reserve(&total, at, &at) ||
      !lb_reserve(&total, plan.a.panels * plan.a.panel_rows * sizeof(int64_t), &op->dx_slot_sums)) {
    return LB_OUT_OF_MEMORY;
  }
  op->dx_slot_bytes = total;

  status = lb_weights_plan(op, g->group_in_c, NULL, &plan);
  if (status != LB_OK) {
    return status;
  }
  op->dyt_panels = plan.a.panels;
  op->dyt_panel_bytes = plan.a.panel_bytes;
  op->xt_panel_bytes = plan.w.panel_bytes;
  total = 0;
  if (!lb_reserve(&total, op->xt_panel_bytes, &at) ||
      !lb_reserve(&total, plan.w.panel_rows * sizeof(int64_t), &op->dw_slot_sums)) {
    return LB_OUT_OF_MEMORY;
  }
  op->dw_slot_bytes = total;
  return LB_OK;
}

/* W^T panels and their code sums, the W row pointers and the padding run, in one allocation. */
static lb_status lb_allocate_weights(lb_conv2d_backward *op, int32_t zero_point) {
  const lb_conv_geometry *g = &op->geometry;
  size_t packed_bytes;
  if (__builtin_mul_overflow(op->wt_panels, op->wt_panel_bytes, &op->wt_group_bytes) ||
      __builtin_mul_overflow(op->wt_group_bytes, g->groups, &packed_bytes)) {
    return LB_OUT_OF_MEMORY;
  }
  /* wt_panels * NR <= k + NR per group, and out_c * k elements fit: the counts below fit too. */
  const size_t sums_bytes = g->groups * op->wt_panels * op->data_kernel->nr * sizeof(int64_t);
  size_t total = 0, packed_at, sums_at, columns_at, pad_at;
  if (!lb_reserve(&total, packed_bytes, &packed_at) || !lb_reserve(&total, sums_bytes, &sums_at) ||
      !lb_reserve(&total, g->out_c * sizeof(const void *), &columns_at) ||
      !lb_reserve(&total, g->in_c * op->x_bytes, &pad_at)) {
    return LB_OUT_OF_MEMORY;
  }
  unsigned char *buffer = aligned_alloc(LB_ALIGNMENT, total);
  if (buffer == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  op->memory = buffer;
  op->wt_packed = buffer + packed_at;
  op->wt_code_sums = (int64_t *)(buffer + sums_at);
  op->w_columns = (const void **)(buffer + columns_at);
  op->pad_run = buffer + pad_at;
  if (op->x.encoding == LB_BIPOLAR) {
    memset(op->pad_run, 1, g->in_c); /* +1, which the dW units correct to a real zero */
  } else if (op->x_bytes == 1) {
    memset(op->pad_run, (unsigned char)zero_point, g->in_c);
  } else {
    const uint16_t bits = (uint16_t)zero_point;
    for (size_t i = 0; i < g->in_c; i++) {
      memcpy(op->pad_run + 2 * i, &bits, sizeof bits);
    }
  }
  return LB_OK;
}

typedef struct lb_weight_packing {
  const lb_conv2d_backward *op;
  lb_gemm_plan plan; /* of one group's dX GEMM: W^T's codes */
} lb_weight_packing;

/* One W^T panel of one group: rows are the forward K, K runs over the group's out channels, whose
 * weight rows are the columns. */
static void lb_pack_weight_panel(void *context, size_t item) {
  const lb_weight_packing *packing = context;
  const lb_conv2d_backward *op = packing->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t group = item / op->wt_panels, panel = item % op->wt_panels;
  const size_t nr = op->data_kernel->nr, first = panel * nr;
  op->data_kernel->pack_w_transposed(
      lb_min(nr, g->k - first), g->group_out_c, op->w_columns + group * g->group_out_c, first,
      op->wt_packed + group * op->wt_group_bytes + panel * op->wt_panel_bytes,
      op->wt_code_sums + (group * op->wt_panels + panel) * nr, &packing->plan.w.args);
}

static void lb_pack_weights(lb_conv2d_backward *op, const void *weights) {
  const lb_conv_geometry *g = &op->geometry;
  for (size_t oc = 0; oc < g->out_c; oc++) {
    op->w_columns[oc] = (const unsigned char *)weights + oc * g->k * op->w_bytes;
  }
  lb_weight_packing packing = {.op = op};
  const lb_status status = lb_data_plan(op, op->data_kernel->mr, g->k, NULL, g->k, &packing.plan);
  assert(status == LB_OK); /* create laid out the same GEMM */
  (void)status;
  lb_parallel_for(op->threads, g->groups * op->wt_panels, lb_pack_weight_panel, &packing);
}

static int lb_kernels_have_packs(const lb_gemm_kernel_info *data,
                                 const lb_gemm_kernel_info *weights) {
  return data->pack_a != NULL && data->pack_w_transposed != NULL &&
         weights->pack_a_transposed != NULL && weights->pack_w_transposed != NULL;
}

static uint64_t lb_max_abs_value(lb_operand op) {
  switch (op.encoding) {
  case LB_UNSIGNED: return ((uint64_t)1 << op.bits) - 1;
  case LB_SIGNED: return (uint64_t)1 << (op.bits - 1);
  case LB_BIPOLAR: break;
  }
  return 1;
}

lb_status lb_conv2d_backward_create(const lb_conv2d_backward_desc *desc, const void *weights,
                                    lb_conv2d_backward **out) {
  if (desc == NULL || weights == NULL || out == NULL || desc->forward.input != LB_INPUT_CODES ||
      !lb_operand_is_valid(desc->dy) || !lb_strategy_choice_is_valid(desc->strategy)) {
    return LB_INVALID_ARGUMENT;
  }
  /* The forward checks on the fields backward reads: shape, operands, zero point. */
  lb_conv2d_desc forward = desc->forward;
  forward.strategy = desc->strategy;
  forward.output = LB_OUTPUT_SUMS;
  lb_conv_geometry geometry;
  if (!lb_conv2d_desc_is_valid(&forward, &geometry)) {
    return LB_INVALID_ARGUMENT;
  }
  const size_t overlap = lb_overlap(geometry.kernel_h, geometry.stride_h, geometry.dilation_h) *
                         lb_overlap(geometry.kernel_w, geometry.stride_w, geometry.dilation_w);
  /* The col2im sums reach overlap * Ng products of dY and W values. */
  const uint64_t max_product = lb_max_abs_value(desc->dy) * lb_max_abs_value(forward.w);
  if (geometry.group_out_c > (uint64_t)INT64_MAX / max_product / overlap) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_gemm_kernel_info *data =
      lb_gemm_select(desc->dy, forward.w, desc->strategy, geometry.group_out_c);
  const lb_gemm_kernel_info *weights_kernel =
      lb_gemm_select(desc->dy, forward.a, desc->strategy, geometry.rows);
  if (data == NULL || weights_kernel == NULL || !lb_kernels_have_packs(data, weights_kernel)) {
    return LB_NO_KERNEL;
  }
  lb_conv2d_backward *op = calloc(1, sizeof *op);
  if (op == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  *op = (lb_conv2d_backward){
      .geometry = geometry,
      .x = forward.a,
      .w = forward.w,
      .dy = desc->dy,
      .data_kernel = data,
      .weights_kernel = weights_kernel,
      .threads = lb_gemm_threads(desc->threads, geometry.rows, geometry.k, geometry.out_c),
      .dx64 = lb_output_type(desc->dy, forward.w, overlap * geometry.group_out_c) == LB_OUT_INT64,
      .dw64 = lb_output_type(desc->dy, forward.a, geometry.rows) == LB_OUT_INT64,
      .da64 = lb_output_type(desc->dy, forward.w, geometry.group_out_c) == LB_OUT_INT64,
      .identity = geometry.taps == 1 && geometry.stride_h == 1 && geometry.stride_w == 1 &&
                  !geometry.padded,
      .x_bytes = lb_element_bytes(forward.a),
      .dy_bytes = lb_element_bytes(desc->dy),
      .w_bytes = lb_element_bytes(forward.w)};
  lb_status status = lb_backward_layout(op);
  if (status == LB_OK) {
    status = lb_allocate_weights(op, forward.a_zero_point);
  }
  if (status != LB_OK) {
    lb_conv2d_backward_destroy(op);
    return status;
  }
  lb_pack_weights(op, weights);
  *out = op;
  return LB_OK;
}

lb_status lb_conv2d_backward_set_weights(lb_conv2d_backward *op, const void *weights) {
  if (op == NULL || weights == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  lb_pack_weights(op, weights);
  return LB_OK;
}

/* Units of a run, each computed whole in the slot of the thread that takes it. */
typedef struct lb_units {
  void (*compute)(void *context, size_t unit, unsigned char *slot);
  void *context;
  unsigned char *workspace;
  size_t slot_bytes, count;
  atomic_size_t next;
} lb_units;

static void lb_units_slot(void *context, size_t slot) {
  lb_units *units = context;
  unsigned char *workspace = units->workspace + slot * units->slot_bytes;
  for (;;) {
    const size_t unit = atomic_fetch_add_explicit(&units->next, 1, memory_order_relaxed);
    if (unit >= units->count) {
      return;
    }
    units->compute(units->context, unit, workspace);
  }
}

static size_t lb_slots(unsigned threads, size_t units) {
  return lb_min(lb_min(threads, units), LB_POOL_MAX_THREADS);
}

static void lb_units_run(lb_units *units, unsigned threads) {
  const size_t slots = lb_slots(threads, units->count);
  atomic_init(&units->next, 0);
  lb_parallel_for((unsigned)slots, slots, lb_units_slot, units);
}

typedef struct lb_data_run {
  const lb_conv2d_backward *op;
  const unsigned char *dy;
  unsigned char *dx;
  unsigned char *da;  /* the chunk's dA [rows][groups][k], or dX itself (identity) */
  size_t first_image; /* of the chunk */
  size_t rows;        /* of the chunk */
  size_t row_blocks, column_blocks;
} lb_data_run;

/* One unit of dA: rows of a group's dY against a block of W^T panels. */
static void lb_data_unit(void *context, size_t index, unsigned char *slot) {
  const lb_data_run *run = context;
  const lb_conv2d_backward *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t first_row = index % run->row_blocks * op->dx_unit_rows;
  const size_t first_column = index / run->row_blocks % run->column_blocks * op->dx_unit_columns;
  const size_t group = index / run->row_blocks / run->column_blocks;
  const size_t rows = lb_min(op->dx_unit_rows, run->rows - first_row);
  const size_t columns = lb_min(op->dx_unit_columns, g->k - first_column);
  const size_t ldc = g->groups * g->k;
  unsigned char *c =
      run->da + (first_row * ldc + group * g->k + first_column) * lb_sum_bytes(op->da64);
  lb_gemm_plan plan;
  const lb_status status = lb_data_plan(op, rows, columns, c, ldc, &plan);
  assert(status == LB_OK); /* create laid out a unit at least as large */
  (void)status;
  const size_t image_rows = run->first_image * g->out_h * g->out_w;
  plan.a.source =
      run->dy + ((image_rows + first_row) * g->out_c + group * g->group_out_c) * op->dy_bytes;
  plan.a.packed = slot;
  plan.a.code_sums = (int64_t *)(slot + op->dx_slot_sums);
  const size_t nr = op->data_kernel->nr, first_panel = first_column / nr;
  plan.w.packed = op->wt_packed + group * op->wt_group_bytes + first_panel * op->wt_panel_bytes;
  plan.w.code_sums = op->wt_code_sums + group * op->wt_panels * nr + first_column;
  for (size_t panel = 0; panel < plan.a.panels; panel++) {
    lb_pack_item(&plan, panel);
  }
  for (size_t item = 0; item < lb_drive_item_count(&plan); item++) {
    lb_drive_item(&plan, item);
  }
}

/* The output position a tap reads from `in` along one dimension, or SIZE_MAX if none does. */
static size_t lb_output_position(size_t in, size_t tap, size_t stride, size_t dilation, size_t pad,
                                 size_t out_size) {
  const size_t padded = in + pad, offset = tap * dilation;
  if (padded < offset || (padded - offset) % stride != 0) {
    return SIZE_MAX;
  }
  const size_t out = (padded - offset) / stride;
  return out < out_size ? out : SIZE_MAX;
}

/* Adds count dA sums (int32 or int64) to dX sums: int64 exactly, int32 modulo 2^32, exact since
 * the whole sum fits int32. */
static void lb_add_sums(void *dx, int dx64, const unsigned char *da, int da64, size_t count) {
  if (dx64 && da64) {
    int64_t *to = dx;
    const int64_t *from = (const int64_t *)da;
    for (size_t i = 0; i < count; i++) {
      to[i] += from[i];
    }
  } else if (dx64) {
    int64_t *to = dx;
    const int32_t *from = (const int32_t *)da;
    for (size_t i = 0; i < count; i++) {
      to[i] += from[i];
    }
  } else {
    int32_t *to = dx;
    const int32_t *from = (const int32_t *)da;
    for (size_t i = 0; i < count; i++) {
      to[i] = (int32_t)((uint32_t)to[i] + (uint32_t)from[i]);
    }
  }
}

/* col2im of one input row of the chunk: each input pixel sums the dA runs of the (output pixel,
 * tap) pairs that read it. */
static void lb_col2im_row(void *context, size_t item) {
  const lb_data_run *run = context;
  const lb_conv2d_backward *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t image = item / g->in_h, iy = item % g->in_h;
  const size_t dx_bytes = lb_sum_bytes(op->dx64), da_bytes = lb_sum_bytes(op->da64);
  const size_t da_row = g->groups * g->k;
  unsigned char *dx_row =
      run->dx + ((run->first_image + image) * g->in_h + iy) * g->in_w * g->in_c * dx_bytes;
  memset(dx_row, 0, g->in_w * g->in_c * dx_bytes);
  for (size_t ky = 0; ky < g->kernel_h; ky++) {
    const size_t oy = lb_output_position(iy, ky, g->stride_h, g->dilation_h, g->pad_top, g->out_h);
    if (oy == SIZE_MAX) {
      continue;
    }
    for (size_t ix = 0; ix < g->in_w; ix++) {
      unsigned char *dx = dx_row + ix * g->in_c * dx_bytes;
      for (size_t kx = 0; kx < g->kernel_w; kx++) {
        const size_t ox =
            lb_output_position(ix, kx, g->stride_w, g->dilation_w, g->pad_left, g->out_w);
        if (ox == SIZE_MAX) {
          continue;
        }
        const size_t tap = ky * g->kernel_w + kx;
        const unsigned char *da =
            run->da + ((image * g->out_h + oy) * g->out_w + ox) * da_row * da_bytes;
        for (size_t group = 0; group < g->groups; group++) {
          lb_add_sums(dx + group * g->group_in_c * dx_bytes, op->dx64,
                      da + (group * g->k + tap * g->group_in_c) * da_bytes, op->da64,
                      g->group_in_c);
        }
      }
    }
  }
}

lb_status lb_conv2d_backward_data(const lb_conv2d_backward *op, const void *dy, void *dx) {
  if (op == NULL || dy == NULL || dx == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_conv_geometry *g = &op->geometry;
  const size_t pixels = g->out_h * g->out_w;
  lb_data_run run = {.op = op, .dy = dy, .dx = dx};
  lb_units units = {.compute = lb_data_unit, .context = &run, .slot_bytes = op->dx_slot_bytes};
  const size_t chunk_rows = op->da_images * pixels;
  const size_t most_units = lb_divide_up(chunk_rows, op->dx_unit_rows) *
                            lb_divide_up(g->k, op->dx_unit_columns) * g->groups;
  /* The slots, then (unless col2im is the identity) the chunk's dA. */
  size_t total = 0, at, da_at = 0;
  if (!lb_reserve(&total, lb_slots(op->threads, most_units) * op->dx_slot_bytes, &at) ||
      (!op->identity &&
       !lb_reserve(&total, chunk_rows * g->groups * g->k * lb_sum_bytes(op->da64), &da_at))) {
    return LB_OUT_OF_MEMORY;
  }
  unsigned char *workspace = aligned_alloc(LB_ALIGNMENT, total);
  if (workspace == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  units.workspace = workspace;
  for (run.first_image = 0; run.first_image < g->batch; run.first_image += op->da_images) {
    const size_t images = lb_min(op->da_images, g->batch - run.first_image);
    run.rows = images * pixels;
    run.da = op->identity ? run.dx : workspace + da_at;
    run.row_blocks = lb_divide_up(run.rows, op->dx_unit_rows);
    run.column_blocks = lb_divide_up(g->k, op->dx_unit_columns);
    units.count = run.row_blocks * run.column_blocks * g->groups;
    lb_units_run(&units, op->threads);
    if (!op->identity) {
      lb_parallel_for(op->threads, images * g->in_h, lb_col2im_row, &run);
    }
  }
  free(workspace);
  return LB_OK;
}

typedef struct lb_weights_run {
  const lb_conv2d_backward *op;
  const unsigned char *dy, *x;
  unsigned char *dw;
  const void **dy_columns; /* [rows]: row m of dY */
  const void **x_columns;  /* [taps][rows]: the input pixel tap t of row m reads, or pad_run */
  unsigned char *dyt;      /* the dY^T panels of every group */
  int64_t *dyt_sums;       /* [groups][dyt_panels * MR] */
  int64_t *pad_sums;       /* bipolar padded X: [taps][out_c] sums of dY over the padded rows */
  size_t xt_panels;        /* per group and tap */
  lb_gemm_plan plan;       /* of one group and tap with Cg columns: the packs' arguments */
} lb_weights_run;

/* Items [0, groups * dyt_panels): a dY^T panel; then one per tap: its X^T column pointers and,
 * for bipolar X, the sums of dY over the rows where the tap is in the padding. */
static void lb_weights_prepare(void *context, size_t item) {
  lb_weights_run *run = context;
  const lb_conv2d_backward *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t mr = op->weights_kernel->mr;
  if (item < g->groups * op->dyt_panels) {
    const size_t group = item / op->dyt_panels, panel = item % op->dyt_panels;
    const size_t first = panel * mr;
    op->weights_kernel->pack_a_transposed(lb_min(mr, g->group_out_c - first), g->rows,
                                          run->dy_columns, group * g->group_out_c + first,
                                          run->dyt + item * op->dyt_panel_bytes,
                                          run->dyt_sums + item * mr, &run->plan.a.args);
    return;
  }
  const size_t tap = item - g->groups * op->dyt_panels;
  const size_t ky = tap / g->kernel_w, kx = tap % g->kernel_w, pixels = g->out_h * g->out_w;
  const void **columns = run->x_columns + tap * g->rows;
  int64_t *pad_sums = run->pad_sums != NULL ? run->pad_sums + tap * g->out_c : NULL;
  if (pad_sums != NULL) {
    memset(pad_sums, 0, g->out_c * sizeof *pad_sums);
  }
  for (size_t m = 0; m < g->rows; m++) {
    const size_t image = m / pixels, oy = m % pixels / g->out_w, ox = m % g->out_w;
    const size_t iy =
        lb_conv_input_position(oy, ky, g->stride_h, g->dilation_h, g->pad_top, g->in_h);
    const size_t ix =
        lb_conv_input_position(ox, kx, g->stride_w, g->dilation_w, g->pad_left, g->in_w);
    if (iy != SIZE_MAX && ix != SIZE_MAX) {
      columns[m] = run->x + ((image * g->in_h + iy) * g->in_w + ix) * g->in_c * op->x_bytes;
      continue;
    }
    columns[m] = op->pad_run;
    for (size_t oc = 0; pad_sums != NULL && oc < g->out_c; oc++) {
      pad_sums[oc] += lb_source_value(run->dy, m * g->out_c + oc, op->dy);
    }
  }
}

/* One unit of dW: group, tap and X^T panel; its panel against every dY^T panel of the group. */
static void lb_weights_unit(void *context, size_t index, unsigned char *slot) {
  const lb_weights_run *run = context;
  const lb_conv2d_backward *op = run->op;
  const lb_conv_geometry *g = &op->geometry;
  const size_t panel = index % run->xt_panels, tap = index / run->xt_panels % g->taps;
  const size_t group = index / run->xt_panels / g->taps;
  const size_t nr = op->weights_kernel->nr, first = panel * nr;
  const size_t columns = lb_min(nr, g->group_in_c - first);
  const size_t sum_bytes = lb_sum_bytes(op->dw64);
  unsigned char *c =
      run->dw + (group * g->group_out_c * g->k + tap * g->group_in_c + first) * sum_bytes;
  lb_gemm_plan plan;
  const lb_status status = lb_weights_plan(op, columns, c, &plan);
  assert(status == LB_OK); /* create laid out the same GEMM with more columns */
  (void)status;
  plan.a.packed = run->dyt + group * op->dyt_panels * op->dyt_panel_bytes;
  plan.a.code_sums = run->dyt_sums + group * op->dyt_panels * op->weights_kernel->mr;
  plan.w.packed = slot;
  plan.w.code_sums = (int64_t *)(slot + op->dw_slot_sums);
  op->weights_kernel->pack_w_transposed(columns, g->rows, run->x_columns + tap * g->rows,
                                        group * g->group_in_c + first, plan.w.packed,
                                        plan.w.code_sums, &plan.w.args);
  for (size_t item = 0; item < lb_drive_item_count(&plan); item++) {
    lb_drive_item(&plan, item);
  }
  if (run->pad_sums == NULL) {
    return;
  }
  /* +1 padding added dY once per padded row: subtract it (int32 modulo 2^32, exact because the
   * zero-padded sum fits). */
  const int64_t *pad_sums = run->pad_sums + tap * g->out_c + group * g->group_out_c;
  for (size_t n = 0; n < g->group_out_c; n++) {
    unsigned char *row = c + n * g->k * sum_bytes;
    for (size_t j = 0; j < columns; j++) {
      if (op->dw64) {
        ((int64_t *)row)[j] -= pad_sums[n];
      } else {
        ((int32_t *)row)[j] = (int32_t)((uint32_t)((int32_t *)row)[j] - (uint32_t)pad_sums[n]);
      }
    }
  }
}

lb_status lb_conv2d_backward_weights(const lb_conv2d_backward *op, const void *dy, const void *x,
                                     void *dw) {
  if (op == NULL || dy == NULL || x == NULL || dw == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_conv_geometry *g = &op->geometry;
  lb_weights_run run = {.op = op, .dy = dy, .x = x, .dw = dw};
  const lb_status status = lb_weights_plan(op, g->group_in_c, NULL, &run.plan);
  assert(status == LB_OK);
  (void)status;
  run.xt_panels = run.plan.w.panels;
  lb_units units = {.compute = lb_weights_unit,
                    .context = &run,
                    .slot_bytes = op->dw_slot_bytes,
                    .count = g->groups * g->taps * run.xt_panels};
  const int bipolar_padding = op->x.encoding == LB_BIPOLAR && g->padded;
  const size_t mr = op->weights_kernel->mr, dyt_count = g->groups * op->dyt_panels;
  size_t total = 0, slots_at, dy_at, x_at, dyt_at, sums_at, pad_at = 0, bytes;
  /* rows * taps pointers and the panels' sizes were bounded at create (rows * out_c and
   * rows * in_c elements fit); the products below cannot overflow where those did not. */
  if (__builtin_mul_overflow(dyt_count, op->dyt_panel_bytes, &bytes) ||
      !lb_reserve(&total, lb_slots(op->threads, units.count) * op->dw_slot_bytes, &slots_at) ||
      !lb_reserve(&total, g->rows * sizeof(const void *), &dy_at) ||
      !lb_reserve(&total, g->taps * g->rows * sizeof(const void *), &x_at) ||
      !lb_reserve(&total, bytes, &dyt_at) ||
      !lb_reserve(&total, dyt_count * mr * sizeof(int64_t), &sums_at) ||
      (bipolar_padding && !lb_reserve(&total, g->taps * g->out_c * sizeof(int64_t), &pad_at))) {
    return LB_OUT_OF_MEMORY;
  }
  unsigned char *workspace = aligned_alloc(LB_ALIGNMENT, total);
  if (workspace == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  units.workspace = workspace + slots_at;
  run.dy_columns = (const void **)(workspace + dy_at);
  run.x_columns = (const void **)(workspace + x_at);
  run.dyt = workspace + dyt_at;
  run.dyt_sums = (int64_t *)(workspace + sums_at);
  run.pad_sums = bipolar_padding ? (int64_t *)(workspace + pad_at) : NULL;
  for (size_t m = 0; m < g->rows; m++) {
    run.dy_columns[m] = run.dy + m * g->out_c * op->dy_bytes;
  }
  lb_parallel_for(op->threads, dyt_count + g->taps, lb_weights_prepare, &run);
  lb_units_run(&units, op->threads);
  free(workspace);
  return LB_OK;
}

lb_out_type lb_conv2d_backward_data_type(const lb_conv2d_backward *op) {
  return op != NULL && op->dx64 ? LB_OUT_INT64 : LB_OUT_INT32;
}

lb_out_type lb_conv2d_backward_weights_type(const lb_conv2d_backward *op) {
  return op != NULL && op->dw64 ? LB_OUT_INT64 : LB_OUT_INT32;
}

const lb_gemm_kernel_info *lb_conv2d_backward_data_kernel(const lb_conv2d_backward *op) {
  return op != NULL ? op->data_kernel : NULL;
}

const lb_gemm_kernel_info *lb_conv2d_backward_weights_kernel(const lb_conv2d_backward *op) {
  return op != NULL ? op->weights_kernel : NULL;
}

void lb_conv2d_backward_destroy(lb_conv2d_backward *op) {
  if (op != NULL) {
    free(op->memory);
    free(op);
  }
}

/* Dense: the backward products of the 1x1 convolution of a 1x1 image. */
struct lb_dense_backward {
  lb_conv2d_backward *conv;
};

lb_status lb_dense_backward_create(const lb_dense_backward_desc *desc, const void *weights,
                                   lb_dense_backward **op) {
  if (desc == NULL || weights == NULL || op == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_dense_desc *f = &desc->forward;
  const lb_conv2d_backward_desc conv = {.forward = {.batch = f->batch,
                                                    .in_h = 1,
                                                    .in_w = 1,
                                                    .in_c = f->in_c,
                                                    .out_c = f->out_c,
                                                    .kernel_h = 1,
                                                    .kernel_w = 1,
                                                    .stride_h = 1,
                                                    .stride_w = 1,
                                                    .dilation_h = 1,
                                                    .dilation_w = 1,
                                                    .groups = 1,
                                                    .a = f->a,
                                                    .w = f->w,
                                                    .input = f->input,
                                                    .a_zero_point = 0},
                                        .dy = desc->dy,
                                        .strategy = desc->strategy,
                                        .threads = desc->threads};
  lb_dense_backward *dense = malloc(sizeof *dense);
  if (dense == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  const lb_status status = lb_conv2d_backward_create(&conv, weights, &dense->conv);
  if (status != LB_OK) {
    free(dense);
    return status;
  }
  *op = dense;
  return LB_OK;
}

lb_status lb_dense_backward_set_weights(lb_dense_backward *op, const void *weights) {
  return op != NULL ? lb_conv2d_backward_set_weights(op->conv, weights) : LB_INVALID_ARGUMENT;
}

lb_status lb_dense_backward_data(const lb_dense_backward *op, const void *dy, void *dx) {
  return op != NULL ? lb_conv2d_backward_data(op->conv, dy, dx) : LB_INVALID_ARGUMENT;
}

lb_status lb_dense_backward_weights(const lb_dense_backward *op, const void *dy, const void *x,
                                    void *dw) {
  return op != NULL ? lb_conv2d_backward_weights(op->conv, dy, x, dw) : LB_INVALID_ARGUMENT;
}

lb_out_type lb_dense_backward_data_type(const lb_dense_backward *op) {
  return op != NULL ? lb_conv2d_backward_data_type(op->conv) : LB_OUT_INT32;
}

lb_out_type lb_dense_backward_weights_type(const lb_dense_backward *op) {
  return op != NULL ? lb_conv2d_backward_weights_type(op->conv) : LB_OUT_INT32;
}

const lb_gemm_kernel_info *lb_dense_backward_data_kernel(const lb_dense_backward *op) {
  return op != NULL ? lb_conv2d_backward_data_kernel(op->conv) : NULL;
}

const lb_gemm_kernel_info *lb_dense_backward_weights_kernel(const lb_dense_backward *op) {
  return op != NULL ? lb_conv2d_backward_weights_kernel(op->conv) : NULL;
}

void lb_dense_backward_destroy(lb_dense_backward *op) {
  if (op != NULL) {
    lb_conv2d_backward_destroy(op->conv);
    free(op);
  }
}
