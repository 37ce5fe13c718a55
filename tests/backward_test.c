/* The backward products of lowbit/backward.h against an int64 reference written here (plain loops
 * over the definitions, no GEMM, no im2col), and the transposed packs of every registered kernel
 * against its row-major packs. Usage: lowbit-test-backward PART [ARG]; ctest runs every part:
 *   packs       pack_a_transposed and pack_w_transposed of every kernel against pack_a and pack_w
 *               of the same rows stored row-major (rows 1..R, K across blocks and gather chunks)
 *   dense BITS  dY at BITS (u, s, and b at 1) x every W/X operand of 1..8 and 16 bits and every
 *               encoding; random, all-max and all-min data; LB_AUTO, LB_BITSERIAL, LB_DIRECT
 *   conv        strides 1 and 2, dilation 2, padding (symmetric, asymmetric, bipolar X, a zero
 *               point), groups, depthwise, 1x1, 3x3, 7x7 stride 2, for several operand triples
 *   large       sums that need int64: a batch of 40000, and col2im sums past int32 whose GEMM
 *               sums fit int32
 *   threads     1 and 2 threads give the same, exact results; set_weights repacks
 *   invalid     every bad argument: LB_INVALID_ARGUMENT (LB_NO_KERNEL where no kernel exists),
 *               nothing set or written */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/backward.h"
#include "support/operands.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static size_t failures, cases;

static void fail(const char *what) {
  failures++;
  fprintf(stderr, "FAIL %s\n", what);
}

/* ---- transposed packs ---- */

/* Values and pack arguments that a code format holds, with an offset where it needs one. */
static void operand_for(int format, unsigned fixed_bits, lb_operand *op, lb_pack_args *args) {
  memset(args, 0, sizeof *args);
  switch (format) {
  case LB_CODE_BITPLANES:
    if (fixed_bits == 1) {
      *op = (lb_operand){1, LB_BIPOLAR};
      args->code_offset = -1;
      args->code_shift = 1;
      args->planes = 1;
    } else {
      *op = (lb_operand){3, LB_SIGNED};
      args->planes = 3;
    }
    break;
  case LB_CODE_U8:
    *op = (lb_operand){8, LB_SIGNED};
    args->code_offset = -128;
    break;
  case LB_CODE_S8: *op = (lb_operand){7, LB_SIGNED}; break;
  default:
    *op = (lb_operand){16, LB_UNSIGNED};
    args->code_offset = 32768;
    break;
  }
  args->bits = op->bits;
  args->source_signed = op->encoding != LB_UNSIGNED;
}

static size_t block_bytes(int format, size_t rows, unsigned kblock, const lb_pack_args *args) {
  switch (format) {
  case LB_CODE_BITPLANES: return args->planes * rows * (kblock / 64) * sizeof(uint64_t);
  case LB_CODE_S16: return rows * kblock * sizeof(int16_t);
  default: return rows * kblock;
  }
}

/* One side of a kernel: its row-major pack against its transposed pack of the same values, laid
 * out as columns (K-major) in scattered runs that start first_row elements before the rows. */
static void check_transposed_pack(const lb_gemm_kernel_info *kernel, int a_side, size_t rows,
                                  size_t k, uint64_t *rng) {
  const int format = a_side ? kernel->a_format : kernel->w_format;
  const size_t panel_rows = a_side ? kernel->mr : kernel->nr;
  lb_operand op;
  lb_pack_args args;
  operand_for(format, a_side ? kernel->abits : kernel->wbits, &op, &args);
  const size_t bytes = lb_test_elem_bytes(op), first_row = 5, run = first_row + rows + 2;
  const size_t panel_bytes = (k + kernel->kblock - 1) / kernel->kblock *
                             block_bytes(format, panel_rows, kernel->kblock, &args);
  unsigned char *matrix = lb_test_matrix(op, rows, k, k + 1, LB_FILL_RANDOM, rng);
  unsigned char *pool = calloc(k * run, bytes);
  const void **columns = calloc(k, sizeof *columns);
  unsigned char *direct = malloc(panel_bytes), *transposed = malloc(panel_bytes);
  int64_t direct_sums[64], transposed_sums[64];
  char what[256];
  snprintf(what, sizeof what, "%s: %s transposed pack, rows %zu, k %zu", kernel->name,
           a_side ? "A" : "W", rows, k);
  cases++;
  if (matrix == NULL || pool == NULL || columns == NULL || direct == NULL || transposed == NULL) {
    fail("out of memory");
  } else {
    /* Column j lies at run (j * 7) % k of the pool: not in K order (no k is a multiple of 7). */
    for (size_t j = 0; j < k; j++) {
      unsigned char *column = pool + (j * 7 % k) * run * bytes;
      columns[j] = column;
      for (size_t r = 0; r < rows; r++) {
        memcpy(column + (first_row + r) * bytes, matrix + (r * (k + 1) + j) * bytes, bytes);
      }
    }
    memset(direct, 0xa5, panel_bytes);
    memset(transposed, 0x5a, panel_bytes);
    const lb_pack_fn pack = a_side ? kernel->pack_a : kernel->pack_w;
    const lb_pack_transposed_fn pack_t =
        a_side ? kernel->pack_a_transposed : kernel->pack_w_transposed;
    pack(rows, k, matrix, k + 1, direct, direct_sums, &args);
    pack_t(rows, k, columns, first_row, transposed, transposed_sums, &args);
    if (memcmp(direct, transposed, panel_bytes) != 0 ||
        memcmp(direct_sums, transposed_sums, rows * sizeof direct_sums[0]) != 0) {
      fail(what);
    }
  }
  free(matrix);
  free(pool);
  free(columns);
  free(direct);
  free(transposed);
}

static int part_packs(void) {
  uint64_t rng = 0x9e3779b97f4a7c15u;
  const size_t ks[] = {1, 3, 64, 130, 1000, 4100};
  size_t kernels = 0;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (!lb_cpu_has_isa(kernel->isa)) {
      printf("skipped %s: this CPU lacks %s\n", kernel->name, kernel->isa);
      continue;
    }
    kernels++;
    for (int side = 0; side < 2; side++) {
      const size_t r_max = side ? kernel->mr : kernel->nr;
      const size_t row_counts[] = {r_max, 1, r_max > 1 ? r_max - 1 : 1};
      for (size_t r = 0; r < COUNT(row_counts); r++) {
        for (size_t j = 0; j < COUNT(ks); j++) {
          check_transposed_pack(kernel, side, row_counts[r], ks[j], &rng);
        }
      }
    }
  }
  printf("%zu kernels\n", kernels);
  return kernels > 0;
}

/* ---- the reference ---- */

typedef struct shape {
  const char *name;
  size_t batch, in_h, in_w, in_c, out_c;
  unsigned kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
  size_t groups;
} shape;

static size_t out_size(size_t in, unsigned before, unsigned after, unsigned kernel, unsigned stride,
                       unsigned dilation) {
  return (in + before + after - (size_t)(kernel - 1) * dilation - 1) / stride + 1;
}

typedef struct problem {
  shape s;
  size_t out_h, out_w, cg, ng, k, rows;
  lb_operand dy, w, x;
  int32_t zero_point;
  void *dy_data, *w_data, *x_data;
  int64_t *dx_ref, *dw_ref;
} problem;

static int64_t value_at(lb_operand op, const void *m, size_t index) {
  int64_t v;
  lb_test_decode(op, m, index, 1, &v);
  return v;
}

/* dX by scattering every product to the input pixel it came from; dW by summing over output
 * pixels, padding read as the zero point (u, s) or 0 (bipolar). */
static void reference(problem *p) {
  const shape *s = &p->s;
  memset(p->dx_ref, 0, s->batch * s->in_h * s->in_w * s->in_c * sizeof *p->dx_ref);
  memset(p->dw_ref, 0, s->out_c * p->k * sizeof *p->dw_ref);
  for (size_t b = 0; b < s->batch; b++) {
    for (size_t oy = 0; oy < p->out_h; oy++) {
      for (size_t ox = 0; ox < p->out_w; ox++) {
        const size_t m = (b * p->out_h + oy) * p->out_w + ox;
        for (unsigned ky = 0; ky < s->kh; ky++) {
          for (unsigned kx = 0; kx < s->kw; kx++) {
            const long iy = (long)(oy * s->sh + ky * s->dh) - (long)s->pt;
            const long ix = (long)(ox * s->sw + kx * s->dw) - (long)s->pl;
            const int inside = iy >= 0 && ix >= 0 && iy < (long)s->in_h && ix < (long)s->in_w;
            const size_t pixel = inside ? (b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix : 0;
            const size_t tap = ky * s->kw + kx;
            for (size_t oc = 0; oc < s->out_c; oc++) {
              const size_t g = oc / p->ng;
              const int64_t d = value_at(p->dy, p->dy_data, m * s->out_c + oc);
              for (size_t c = 0; c < p->cg; c++) {
                const size_t wi = oc * p->k + tap * p->cg + c;
                int64_t xv = p->x.encoding == LB_BIPOLAR ? 0 : p->zero_point;
                if (inside) {
                  p->dx_ref[pixel * s->in_c + g * p->cg + c] += d * value_at(p->w, p->w_data, wi);
                  xv = value_at(p->x, p->x_data, pixel * s->in_c + g * p->cg + c);
                }
                p->dw_ref[wi] += d * xv;
              }
            }
          }
        }
      }
    }
  }
}

/* The most taps that reach one input position along a dimension, by counting per position. */
static size_t taps_reaching(unsigned kernel, unsigned stride, unsigned dilation) {
  size_t most = 0;
  for (size_t position = 0; position < (size_t)kernel * dilation * stride; position++) {
    size_t count = 0;
    for (unsigned tap = 0; tap < kernel; tap++) {
      count += position >= (size_t)tap * dilation && (position - tap * dilation) % stride == 0;
    }
    most = count > most ? count : most;
  }
  return most;
}

static int problem_init(problem *p, const shape *s, lb_operand dy, lb_operand w, lb_operand x,
                        int32_t zero_point, lb_test_fill fill, uint64_t *rng) {
  memset(p, 0, sizeof *p);
  p->s = *s;
  p->out_h = out_size(s->in_h, s->pt, s->pb, s->kh, s->sh, s->dh);
  p->out_w = out_size(s->in_w, s->pl, s->pr, s->kw, s->sw, s->dw);
  p->cg = s->in_c / s->groups;
  p->ng = s->out_c / s->groups;
  p->k = (size_t)s->kh * s->kw * p->cg;
  p->rows = s->batch * p->out_h * p->out_w;
  p->dy = dy;
  p->w = w;
  p->x = x;
  p->zero_point = zero_point;
  const size_t pixels = s->batch * s->in_h * s->in_w;
  p->dy_data = lb_test_matrix(dy, p->rows, s->out_c, s->out_c, fill, rng);
  p->w_data = lb_test_matrix(w, s->out_c, p->k, p->k, fill, rng);
  p->x_data = lb_test_matrix(x, pixels, s->in_c, s->in_c, fill, rng);
  p->dx_ref = malloc(pixels * s->in_c * sizeof *p->dx_ref);
  p->dw_ref = malloc(s->out_c * p->k * sizeof *p->dw_ref);
  if (p->dy_data == NULL || p->w_data == NULL || p->x_data == NULL || p->dx_ref == NULL ||
      p->dw_ref == NULL) {
    return 0;
  }
  reference(p);
  return 1;
}

static void problem_free(problem *p) {
  free(p->dy_data);
  free(p->w_data);
  free(p->x_data);
  free(p->dx_ref);
  free(p->dw_ref);
}

static lb_conv2d_backward_desc backward_desc(const problem *p, lb_strategy_choice strategy,
                                             unsigned threads) {
  lb_conv2d_backward_desc d;
  memset(&d, 0, sizeof d);
  const shape *s = &p->s;
  d.forward = (lb_conv2d_desc){.batch = s->batch,
                               .in_h = s->in_h,
                               .in_w = s->in_w,
                               .in_c = s->in_c,
                               .out_c = s->out_c,
                               .kernel_h = s->kh,
                               .kernel_w = s->kw,
                               .stride_h = s->sh,
                               .stride_w = s->sw,
                               .dilation_h = s->dh,
                               .dilation_w = s->dw,
                               .pad_top = s->pt,
                               .pad_bottom = s->pb,
                               .pad_left = s->pl,
                               .pad_right = s->pr,
                               .groups = s->groups,
                               .a = p->x,
                               .w = p->w,
                               .a_zero_point = p->zero_point};
  d.dy = p->dy;
  d.strategy = strategy;
  d.threads = threads;
  return d;
}

/* Whether sums of the output type `type` at out equal the reference. */
static int same_sums(lb_out_type type, const void *out, const int64_t *ref, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const int64_t v = type == LB_OUT_INT64 ? ((const int64_t *)out)[i] : ((const int32_t *)out)[i];
    if (v != ref[i]) {
      fprintf(stderr, "  element %zu: %lld, expected %lld\n", i, (long long)v, (long long)ref[i]);
      return 0;
    }
  }
  return 1;
}

static const char *strategy_name(lb_strategy_choice s) {
  return s == LB_AUTO ? "auto" : s == LB_BITSERIAL ? "bitserial" : "direct";
}

/* Runs both products of the problem through an operator (conv2d, or dense when the shape is one)
 * and compares them with the reference and the output types with lb_gemm_output_type. */
static void check_problem(const problem *p, lb_strategy_choice strategy, unsigned threads,
                          int dense) {
  const shape *s = &p->s;
  char what[320];
  snprintf(what, sizeof what, "%s: dy %u%c w %u%c x %u%c zp %d, %s, %u thread%s", s->name,
           p->dy.bits, (char)p->dy.encoding, p->w.bits, (char)p->w.encoding, p->x.bits,
           (char)p->x.encoding, (int)p->zero_point, strategy_name(strategy), threads,
           threads == 1 ? "" : "s");
  cases++;
  const lb_conv2d_backward_desc d = backward_desc(p, strategy, threads);
  lb_conv2d_backward *conv = NULL;
  lb_dense_backward *dn = NULL;
  lb_status status;
  if (dense) {
    lb_dense_backward_desc dd;
    memset(&dd, 0, sizeof dd);
    dd.forward.batch = s->batch;
    dd.forward.in_c = s->in_c;
    dd.forward.out_c = s->out_c;
    dd.forward.a = p->x;
    dd.forward.w = p->w;
    dd.dy = p->dy;
    dd.strategy = strategy;
    dd.threads = threads;
    status = lb_dense_backward_create(&dd, p->w_data, &dn);
  } else {
    status = lb_conv2d_backward_create(&d, p->w_data, &conv);
  }
  /* Whether a strategy has a kernel for the operands does not depend on K. */
  if (status == LB_NO_KERNEL && strategy != LB_AUTO &&
      (lb_gemm_select(p->dy, p->w, strategy, 1) == NULL ||
       lb_gemm_select(p->dy, p->x, strategy, 1) == NULL)) {
    return; /* no kernel of that strategy: right to refuse */
  }
  if (status != LB_OK) {
    fprintf(stderr, "  create: %s\n", lb_status_string(status));
    fail(what);
    return;
  }
  const lb_out_type dx_type =
      dense ? lb_dense_backward_data_type(dn) : lb_conv2d_backward_data_type(conv);
  const lb_out_type dw_type =
      dense ? lb_dense_backward_weights_type(dn) : lb_conv2d_backward_weights_type(conv);
  const size_t reach = taps_reaching(s->kh, s->sh, s->dh) * taps_reaching(s->kw, s->sw, s->dw);
  const lb_out_type dx_expected = lb_gemm_output_type(p->dy, p->w, reach * p->ng);
  const lb_out_type dw_expected = lb_gemm_output_type(p->dy, p->x, p->rows);
  const size_t dx_count = s->batch * s->in_h * s->in_w * s->in_c, dw_count = s->out_c * p->k;
  void *dx = malloc(dx_count * sizeof(int64_t)), *dw = malloc(dw_count * sizeof(int64_t));
  if (dx == NULL || dw == NULL) {
    fail("out of memory");
  } else if (dx_type != dx_expected || dw_type != dw_expected) {
    fprintf(stderr, "  output types %d, %d; expected %d, %d\n", (int)dx_type, (int)dw_type,
            (int)dx_expected, (int)dw_expected);
    fail(what);
  } else {
    memset(dx, 0x5a, dx_count * sizeof(int64_t));
    memset(dw, 0xa5, dw_count * sizeof(int64_t));
    const lb_status data = dense ? lb_dense_backward_data(dn, p->dy_data, dx)
                                 : lb_conv2d_backward_data(conv, p->dy_data, dx);
    const lb_status weights = dense ? lb_dense_backward_weights(dn, p->dy_data, p->x_data, dw)
                                    : lb_conv2d_backward_weights(conv, p->dy_data, p->x_data, dw);
    if (data != LB_OK || weights != LB_OK) {
      fprintf(stderr, "  runs: %s, %s\n", lb_status_string(data), lb_status_string(weights));
      fail(what);
    } else if (!same_sums(dx_type, dx, p->dx_ref, dx_count)) {
      fprintf(
          stderr, "  (dX, kernel %s)\n",
          (dense ? lb_dense_backward_data_kernel(dn) : lb_conv2d_backward_data_kernel(conv))->name);
      fail(what);
    } else if (!same_sums(dw_type, dw, p->dw_ref, dw_count)) {
      fprintf(
          stderr, "  (dW, kernel %s)\n",
          (dense ? lb_dense_backward_weights_kernel(dn) : lb_conv2d_backward_weights_kernel(conv))
              ->name);
      fail(what);
    }
  }
  free(dx);
  free(dw);
  lb_dense_backward_destroy(dn);
  lb_conv2d_backward_destroy(conv);
}

static const lb_strategy_choice strategies[] = {LB_AUTO, LB_BITSERIAL, LB_DIRECT};

/* The operands of 1..8 and 16 bits in every encoding. */
static size_t operand_kinds(lb_operand kinds[]) {
  static const unsigned bits[] = {1, 2, 3, 4, 5, 6, 7, 8, 16};
  size_t count = 0;
  for (size_t i = 0; i < COUNT(bits); i++) {
    lb_encoding enc[3];
    const size_t n = lb_test_encodings(bits[i], enc);
    for (size_t e = 0; e < n; e++) {
      kinds[count++] = (lb_operand){bits[i], enc[e]};
    }
  }
  return count;
}

static int part_dense(unsigned dy_bits) {
  uint64_t rng = 0x2545f4914f6cdd1du ^ dy_bits;
  lb_operand kinds[32];
  const size_t count = operand_kinds(kinds);
  lb_encoding enc[3];
  const size_t dy_encodings = lb_test_encodings(dy_bits, enc);
  const shape s = {.name = "dense 7 x 37 -> 19",
                   .batch = 7,
                   .in_h = 1,
                   .in_w = 1,
                   .in_c = 37,
                   .out_c = 19,
                   .kh = 1,
                   .kw = 1,
                   .sh = 1,
                   .sw = 1,
                   .dh = 1,
                   .dw = 1,
                   .groups = 1};
  const lb_test_fill fills[] = {LB_FILL_RANDOM, LB_FILL_MAX, LB_FILL_MIN};
  for (size_t e = 0; e < dy_encodings; e++) {
    const lb_operand dy = {dy_bits, enc[e]};
    for (size_t i = 0; i < count; i++) {
      /* X takes the next kind after W's, so that W and X differ too. */
      const lb_operand w = kinds[i], x = kinds[(i + 1) % count];
      for (size_t f = 0; f < COUNT(fills); f++) {
        problem p;
        if (!problem_init(&p, &s, dy, w, x, 0, fills[f], &rng)) {
          fail("out of memory");
        } else {
          for (size_t st = 0; st < COUNT(strategies); st++) {
            check_problem(&p, strategies[st], 1, 1);
          }
        }
        problem_free(&p);
      }
    }
  }
  return 1;
}

static const shape conv_shapes[] = {
    {"3x3 s1 same", 2, 6, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s2 same", 1, 9, 8, 3, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 d2 pad 2", 1, 8, 9, 4, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"3x3 groups 2", 2, 5, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"3x3 depthwise s2", 1, 7, 7, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5},
    {"1x1 s1", 2, 4, 5, 9, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 s2", 1, 7, 6, 5, 3, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"7x7 s2 pad 3", 1, 15, 13, 3, 4, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {"5x3 s2x1 d1x2 asymmetric", 1, 9, 8, 3, 2, 5, 3, 2, 1, 1, 2, 2, 0, 1, 3, 1},
    {"3x3 s3 valid (skipped pixels)", 1, 10, 10, 2, 3, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1},
};

typedef struct triple {
  lb_operand dy, w, x;
  int32_t zero_point;
} triple;

static const triple conv_triples[] = {
    {{8, LB_SIGNED}, {8, LB_SIGNED}, {8, LB_UNSIGNED}, 0},
    {{4, LB_SIGNED}, {2, LB_UNSIGNED}, {3, LB_UNSIGNED}, 5},
    {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}, {1, LB_BIPOLAR}, 0},
    {{2, LB_SIGNED}, {1, LB_BIPOLAR}, {1, LB_BIPOLAR}, 0},
    {{8, LB_SIGNED}, {4, LB_SIGNED}, {2, LB_SIGNED}, -1},
    {{16, LB_SIGNED}, {16, LB_SIGNED}, {16, LB_UNSIGNED}, 1000},
};

static int part_conv(void) {
  uint64_t rng = 0x5851f42d4c957f2du;
  for (size_t i = 0; i < COUNT(conv_shapes); i++) {
    for (size_t t = 0; t < COUNT(conv_triples); t++) {
      const triple *tr = &conv_triples[t];
      /* Random data on every strategy and both thread counts; extremes once per case. */
      const lb_test_fill fills[] = {LB_FILL_RANDOM, (i + t) % 2 ? LB_FILL_MIN : LB_FILL_MAX};
      for (size_t f = 0; f < COUNT(fills); f++) {
        problem p;
        if (!problem_init(&p, &conv_shapes[i], tr->dy, tr->w, tr->x, tr->zero_point, fills[f],
                          &rng)) {
          fail("out of memory");
        } else if (fills[f] != LB_FILL_RANDOM) {
          check_problem(&p, LB_AUTO, 2, 0);
        } else {
          for (size_t st = 0; st < COUNT(strategies); st++) {
            check_problem(&p, strategies[st], 1, 0);
            check_problem(&p, strategies[st], 2, 0);
          }
        }
        problem_free(&p);
      }
    }
  }
  return 1;
}

static int part_large(void) {
  uint64_t rng = 1;
  const shape batch = {.name = "dense batch 40000",
                       .batch = 40000,
                       .in_h = 1,
                       .in_w = 1,
                       .in_c = 3,
                       .out_c = 2,
                       .kh = 1,
                       .kw = 1,
                       .sh = 1,
                       .sw = 1,
                       .dh = 1,
                       .dw = 1,
                       .groups = 1};
  const triple triples[] = {
      {{8, LB_UNSIGNED}, {8, LB_UNSIGNED}, {8, LB_UNSIGNED}, 0},
      {{8, LB_SIGNED}, {8, LB_SIGNED}, {8, LB_SIGNED}, 0},
      {{16, LB_UNSIGNED}, {16, LB_SIGNED}, {16, LB_UNSIGNED}, 0},
      {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}, {1, LB_BIPOLAR}, 0},
  };
  const lb_test_fill fills[] = {LB_FILL_MAX, LB_FILL_MIN};
  for (size_t t = 0; t < COUNT(triples); t++) {
    for (size_t f = 0; f < COUNT(fills); f++) {
      problem p;
      if (problem_init(&p, &batch, triples[t].dy, triples[t].w, triples[t].x, 0, fills[f], &rng)) {
        check_problem(&p, LB_AUTO, 2, 1);
        check_problem(&p, LB_DIRECT, 1, 1);
      } else {
        fail("out of memory");
      }
      problem_free(&p);
    }
  }
  /* dY u16 x W u8 over Ng = 64 fits int32 in the GEMM (64 * 65535 * 255 < 2^31); the col2im
   * sums of 9 taps do not: dX is int64 with sums up to 9.6e9. */
  const shape overlap = {.name = "3x3 same, 64 filters",
                         .batch = 1,
                         .in_h = 6,
                         .in_w = 5,
                         .in_c = 3,
                         .out_c = 64,
                         .kh = 3,
                         .kw = 3,
                         .sh = 1,
                         .sw = 1,
                         .dh = 1,
                         .dw = 1,
                         .pt = 1,
                         .pb = 1,
                         .pl = 1,
                         .pr = 1,
                         .groups = 1};
  for (size_t f = 0; f < COUNT(fills); f++) {
    problem p;
    if (problem_init(&p, &overlap, (lb_operand){16, LB_UNSIGNED}, (lb_operand){8, LB_UNSIGNED},
                     (lb_operand){8, LB_UNSIGNED}, 0, fills[f], &rng)) {
      if (lb_gemm_output_type(p.dy, p.w, 64) != LB_OUT_INT32) {
        fail("the overlap case's GEMM sums should fit int32");
      }
      for (size_t st = 0; st < COUNT(strategies); st++) {
        check_problem(&p, strategies[st], 2, 0);
      }
    } else {
      fail("out of memory");
    }
    problem_free(&p);
  }
  return 1;
}

/* 1 and 2 threads on the same layer give bit-identical sums; set_weights takes new weights. */
static int part_threads(void) {
  uint64_t rng = 7;
  const shape s = {
      "threads: 3x3 s1, 24 rows per image", 3, 12, 11, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  problem p;
  if (!problem_init(&p, &s, (lb_operand){3, LB_SIGNED}, (lb_operand){2, LB_SIGNED},
                    (lb_operand){4, LB_UNSIGNED}, 2, LB_FILL_RANDOM, &rng)) {
    fail("out of memory");
    problem_free(&p);
    return 1;
  }
  for (unsigned threads = 1; threads <= 2; threads++) {
    for (size_t st = 0; st < COUNT(strategies); st++) {
      check_problem(&p, strategies[st], threads, 0);
    }
  }
  /* set_weights: an operator made with other weights, given these, computes these. */
  const lb_conv2d_backward_desc d = backward_desc(&p, LB_AUTO, 2);
  void *other = lb_test_matrix(p.w, s.out_c, p.k, p.k, LB_FILL_MAX, &rng);
  lb_conv2d_backward *op = NULL;
  const size_t dx_count = s.batch * s.in_h * s.in_w * s.in_c;
  void *dx = malloc(dx_count * sizeof(int64_t));
  cases++;
  if (other == NULL || dx == NULL || lb_conv2d_backward_create(&d, other, &op) != LB_OK ||
      lb_conv2d_backward_set_weights(op, p.w_data) != LB_OK) {
    fail("set_weights: create or set_weights failed");
  } else {
    memset(other, 0, s.out_c * p.k * lb_test_elem_bytes(p.w)); /* the operator keeps none */
    if (lb_conv2d_backward_data(op, p.dy_data, dx) != LB_OK ||
        !same_sums(lb_conv2d_backward_data_type(op), dx, p.dx_ref, dx_count)) {
      fail("set_weights: dX after set_weights");
    }
  }
  lb_conv2d_backward_destroy(op);
  free(other);
  free(dx);
  problem_free(&p);
  return 1;
}

static void expect_status(lb_status got, lb_status expected, const char *what) {
  cases++;
  if (got != expected) {
    fprintf(stderr, "  %s, expected %s\n", lb_status_string(got), lb_status_string(expected));
    fail(what);
  }
}

/* Create with a descriptor changed by `change`: LB_INVALID_ARGUMENT and *op untouched. */
static void expect_invalid(lb_conv2d_backward_desc d, const void *weights, const char *what) {
  lb_conv2d_backward *op = (lb_conv2d_backward *)&op;
  expect_status(lb_conv2d_backward_create(&d, weights, &op), LB_INVALID_ARGUMENT, what);
  if (op != (lb_conv2d_backward *)&op) {
    fail("create set *op on failure");
  }
}

static int part_invalid(void) {
  uint64_t rng = 3;
  problem p;
  if (!problem_init(&p, &conv_shapes[0], (lb_operand){4, LB_SIGNED}, (lb_operand){2, LB_SIGNED},
                    (lb_operand){2, LB_UNSIGNED}, 0, LB_FILL_RANDOM, &rng)) {
    fail("out of memory");
    problem_free(&p);
    return 1;
  }
  const lb_conv2d_backward_desc good = backward_desc(&p, LB_AUTO, 1);
  lb_conv2d_backward_desc d;
  lb_conv2d_backward *op = NULL;
  expect_status(lb_conv2d_backward_create(NULL, p.w_data, &op), LB_INVALID_ARGUMENT, "NULL desc");
  expect_status(lb_conv2d_backward_create(&good, NULL, &op), LB_INVALID_ARGUMENT, "NULL weights");
  expect_status(lb_conv2d_backward_create(&good, p.w_data, NULL), LB_INVALID_ARGUMENT, "NULL op");
  d = good, d.dy.bits = 0, expect_invalid(d, p.w_data, "dy 0 bits");
  d = good, d.dy.bits = 17, expect_invalid(d, p.w_data, "dy 17 bits");
  d = good, d.dy = (lb_operand){2, LB_BIPOLAR}, expect_invalid(d, p.w_data, "dy 2-bit bipolar");
  d = good, d.dy.encoding = (lb_encoding)'x', expect_invalid(d, p.w_data, "dy encoding");
  d = good, d.strategy = (lb_strategy_choice)7, expect_invalid(d, p.w_data, "strategy");
  d = good, d.forward.input = LB_INPUT_FLOAT, d.forward.a_scale = 1.0f,
  expect_invalid(d, p.w_data, "float input");
  d = good, d.forward.a.bits = 0, expect_invalid(d, p.w_data, "x 0 bits");
  d = good, d.forward.w.bits = 17, expect_invalid(d, p.w_data, "w 17 bits");
  d = good, d.forward.kernel_h = 0, expect_invalid(d, p.w_data, "kernel 0");
  d = good, d.forward.kernel_w = 8, expect_invalid(d, p.w_data, "kernel 8");
  d = good, d.forward.stride_h = 5, expect_invalid(d, p.w_data, "stride 5");
  d = good, d.forward.dilation_w = 0, expect_invalid(d, p.w_data, "dilation 0");
  d = good, d.forward.groups = 2, expect_invalid(d, p.w_data, "groups not dividing in_c");
  d = good, d.forward.batch = 0, expect_invalid(d, p.w_data, "batch 0");
  d = good, d.forward.in_h = 1, d.forward.pad_top = d.forward.pad_bottom = 0,
  expect_invalid(d, p.w_data, "input smaller than the kernel");
  d = good, d.forward.a_zero_point = 4, expect_invalid(d, p.w_data, "zero point out of range");
  d = good, d.forward.in_c = SIZE_MAX / 4, expect_invalid(d, p.w_data, "sizes overflow");
  /* The forward's output stage is not read: an invalid one does not matter. */
  d = good, d.forward.output = (lb_output_kind)9;
  lb_conv2d_backward *unread = NULL;
  expect_status(lb_conv2d_backward_create(&d, p.w_data, &unread), LB_OK, "output stage unread");
  lb_conv2d_backward_destroy(unread);

  /* No kernel: any operand pair and strategy lb_gemm_select has none for. */
  lb_operand kinds[32];
  const size_t count = operand_kinds(kinds);
  size_t refusals = 0;
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < count; j++) {
      for (size_t st = 1; st < COUNT(strategies); st++) {
        if (lb_gemm_select(kinds[i], kinds[j], strategies[st], 1) != NULL) {
          continue;
        }
        d = good, d.dy = kinds[i], d.forward.w = kinds[j], d.strategy = strategies[st];
        d.forward.a = kinds[j];
        lb_conv2d_backward *none = NULL;
        expect_status(lb_conv2d_backward_create(&d, p.w_data, &none), LB_NO_KERNEL, "no kernel");
        lb_conv2d_backward_destroy(none);
        refusals++;
      }
    }
  }
  printf("%zu operand pairs without a kernel of a strategy refused\n", refusals);

  if (lb_conv2d_backward_create(&good, p.w_data, &op) != LB_OK) {
    fail("create");
  } else {
    int64_t out[4] = {1, 2, 3, 4};
    expect_status(lb_conv2d_backward_data(NULL, p.dy_data, out), LB_INVALID_ARGUMENT, "data op");
    expect_status(lb_conv2d_backward_data(op, NULL, out), LB_INVALID_ARGUMENT, "data dy");
    expect_status(lb_conv2d_backward_data(op, p.dy_data, NULL), LB_INVALID_ARGUMENT, "data dx");
    expect_status(lb_conv2d_backward_weights(NULL, p.dy_data, p.x_data, out), LB_INVALID_ARGUMENT,
                  "weights op");
    expect_status(lb_conv2d_backward_weights(op, NULL, p.x_data, out), LB_INVALID_ARGUMENT,
                  "weights dy");
    expect_status(lb_conv2d_backward_weights(op, p.dy_data, NULL, out), LB_INVALID_ARGUMENT,
                  "weights x");
    expect_status(lb_conv2d_backward_weights(op, p.dy_data, p.x_data, NULL), LB_INVALID_ARGUMENT,
                  "weights dw");
    expect_status(lb_conv2d_backward_set_weights(op, NULL), LB_INVALID_ARGUMENT, "set NULL");
    expect_status(lb_conv2d_backward_set_weights(NULL, p.w_data), LB_INVALID_ARGUMENT,
                  "set NULL op");
    if (out[0] != 1 || out[1] != 2 || out[2] != 3 || out[3] != 4) {
      fail("a refused call wrote its output");
    }
    if (lb_conv2d_backward_data_kernel(NULL) != NULL ||
        lb_conv2d_backward_weights_kernel(NULL) != NULL ||
        lb_conv2d_backward_data_type(NULL) != LB_OUT_INT32) {
      fail("NULL op getters");
    }
  }
  lb_conv2d_backward_destroy(op);
  lb_conv2d_backward_destroy(NULL);

  lb_dense_backward_desc dd;
  memset(&dd, 0, sizeof dd);
  dd.forward.batch = 2;
  dd.forward.in_c = 3;
  dd.forward.out_c = 2;
  dd.forward.a = dd.forward.w = dd.dy = (lb_operand){2, LB_SIGNED};
  dd.strategy = LB_AUTO;
  lb_dense_backward *dense = NULL;
  expect_status(lb_dense_backward_create(NULL, p.w_data, &dense), LB_INVALID_ARGUMENT,
                "dense NULL");
  expect_status(lb_dense_backward_create(&dd, NULL, &dense), LB_INVALID_ARGUMENT, "dense weights");
  expect_status(lb_dense_backward_create(&dd, p.w_data, NULL), LB_INVALID_ARGUMENT, "dense op");
  dd.forward.in_c = 0;
  expect_status(lb_dense_backward_create(&dd, p.w_data, &dense), LB_INVALID_ARGUMENT, "dense in 0");
  dd.forward.in_c = 3;
  dd.dy.bits = 0;
  expect_status(lb_dense_backward_create(&dd, p.w_data, &dense), LB_INVALID_ARGUMENT, "dense dy");
  expect_status(lb_dense_backward_data(NULL, p.dy_data, p.dx_ref), LB_INVALID_ARGUMENT,
                "dense data NULL");
  expect_status(lb_dense_backward_weights(NULL, p.dy_data, p.x_data, p.dw_ref), LB_INVALID_ARGUMENT,
                "dense weights NULL");
  expect_status(lb_dense_backward_set_weights(NULL, p.w_data), LB_INVALID_ARGUMENT,
                "dense set NULL");
  if (dense != NULL || lb_dense_backward_data_kernel(NULL) != NULL) {
    fail("dense: refused create set *op");
  }
  lb_dense_backward_destroy(NULL);
  problem_free(&p);
  return 1;
}

int main(int argc, char **argv) {
  printf("cpu: %s\n", lb_cpu_description());
  const char *part = argc > 1 ? argv[1] : "";
  int known;
  if (strcmp(part, "packs") == 0) {
    known = part_packs();
  } else if (strcmp(part, "dense") == 0 && argc > 2) {
    const unsigned bits = (unsigned)atoi(argv[2]);
    known = bits >= 1 && bits <= 16 && part_dense(bits);
  } else if (strcmp(part, "conv") == 0) {
    known = part_conv();
  } else if (strcmp(part, "large") == 0) {
    known = part_large();
  } else if (strcmp(part, "threads") == 0) {
    known = part_threads();
  } else if (strcmp(part, "invalid") == 0) {
    known = part_invalid();
  } else {
    known = 0;
  }
  if (!known) {
    fprintf(stderr, "usage: %s packs|dense BITS|conv|large|threads|invalid\n", argv[0]);
    return 2;
  }
  printf("%zu cases, %zu failed\n", cases, failures);
  return failures == 0 && cases > 0 ? 0 : 1;
}
