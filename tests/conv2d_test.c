/* lb_conv2d (lowbit/operators.h) against the plain reference (support/conv_reference.c).
 * Usage: lowbit-test-conv2d PART [ARG]; ctest runs every part:
 *   bits ABITS  every wbits 1..16 and encoding with this abits on a 3x3 and a 1x1 layer, for
 *               LB_AUTO, LB_BITSERIAL and LB_DIRECT, as exact sums
 *   geometry    stride, dilation, padding, groups, depthwise, kernel shapes, batch, channel counts
 *               1..130, spatial sizes 1..13
 *   bipolar     padded layers with bipolar operands (and unsigned/signed ones): every border output
 *               is the zero-padded real-valued convolution
 *   overflow K  all-ones, all-max and most-negative data at K = 4608 (3x3x512), 9216 (3x3x1024)
 *               or 65536 (4x4x4096), the sums where peers' counters wrapped
 *   requantize  ties, saturation, per-channel multipliers and shifts, bias, zero point; float
 *   weights     lb_conv2d_set_weights, and that create does not keep the caller's weights
 *   invalid     every bad descriptor and NULL argument: LB_INVALID_ARGUMENT, nothing written
 *   threads     one operator run from two threads at once
 *   same        the padding helpers and the output sizes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/conv_reference.h"
#include "support/operator_check.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static lb_conv2d_desc layer_desc(size_t batch, size_t in_h, size_t in_w, size_t in_c, size_t out_c,
                                 unsigned kh, unsigned kw) {
  lb_conv2d_desc d;
  memset(&d, 0, sizeof d);
  d.batch = batch;
  d.in_h = in_h;
  d.in_w = in_w;
  d.in_c = in_c;
  d.out_c = out_c;
  d.kernel_h = kh;
  d.kernel_w = kw;
  d.stride_h = d.stride_w = 1;
  d.dilation_h = d.dilation_w = 1;
  d.groups = 1;
  d.a = (lb_operand){2, LB_UNSIGNED};
  d.w = (lb_operand){2, LB_UNSIGNED};
  d.strategy = LB_AUTO;
  d.threads = 1;
  d.output = LB_OUTPUT_SUMS;
  return d;
}

static void set_pads(lb_conv2d_desc *d, unsigned top, unsigned bottom, unsigned left,
                     unsigned right) {
  d->pad_top = top;
  d->pad_bottom = bottom;
  d->pad_left = left;
  d->pad_right = right;
}

static lb_ref_conv2d_shape shape_of(const lb_conv2d_desc *d) {
  const lb_ref_conv2d_shape s = {d->batch,      d->in_h,       d->in_w,       d->in_c,
                                 d->out_c,      d->kernel_h,   d->kernel_w,   d->stride_h,
                                 d->stride_w,   d->dilation_h, d->dilation_w, d->pad_top,
                                 d->pad_bottom, d->pad_left,   d->pad_right,  d->groups};
  return s;
}

static const char *strategy_name(lb_strategy_choice s) {
  return s == LB_AUTO ? "auto" : s == LB_BITSERIAL ? "bitserial" : s == LB_DIRECT ? "direct" : "?";
}

static void label(char *buf, size_t n, const lb_conv2d_desc *d, const char *what) {
  snprintf(buf, n,
           "%s: a%u%c w%u%c %s threads %u batch %zu in %zux%zux%zu out_c %zu kernel %ux%u "
           "stride %ux%u dilation %ux%u pad %u/%u/%u/%u groups %zu output %d",
           what, d->a.bits, (char)d->a.encoding, d->w.bits, (char)d->w.encoding,
           strategy_name(d->strategy), d->threads, d->batch, d->in_h, d->in_w, d->in_c, d->out_c,
           d->kernel_h, d->kernel_w, d->stride_h, d->stride_w, d->dilation_h, d->dilation_w,
           d->pad_top, d->pad_bottom, d->pad_left, d->pad_right, d->groups, (int)d->output);
}

/* A layer's data and its reference sums. */
typedef struct layer {
  lb_conv2d_desc desc;
  lb_ref_conv2d_shape shape;
  size_t pixels; /* batch * out_h * out_w: the rows of the output */
  size_t k;
  lb_out_type sums_type;
  void *input, *weights;
  int64_t *sums;
} layer;

static void layer_free(layer *l) {
  free(l->input);
  free(l->weights);
  free(l->sums);
  l->input = l->weights = NULL;
  l->sums = NULL;
}

static int layer_reference(layer *l) {
  return lb_ref_conv2d(&l->shape, l->desc.a, l->input, l->desc.w, l->weights, l->sums);
}

static int layer_init(layer *l, const lb_conv2d_desc *d, lb_test_fill afill, lb_test_fill wfill,
                      uint64_t *rng) {
  memset(l, 0, sizeof *l);
  l->desc = *d;
  l->shape = shape_of(d);
  l->pixels = d->batch * lb_ref_conv2d_out_h(&l->shape) * lb_ref_conv2d_out_w(&l->shape);
  l->k = lb_ref_conv2d_k(&l->shape);
  l->sums_type = lb_gemm_output_type(d->a, d->w, l->k);
  const size_t n_in = lb_ref_conv2d_input_count(&l->shape);
  const size_t n_w = lb_ref_conv2d_weight_count(&l->shape);
  char what[512];
  if (l->pixels == 0) {
    label(what, sizeof what, d, "test error, the layer has no output");
    fprintf(stderr, "FAIL %s\n", what);
    return 0;
  }
  l->input = lb_test_matrix(d->a, 1, n_in, n_in, afill, rng);
  l->weights = lb_test_matrix(d->w, 1, n_w, n_w, wfill, rng);
  l->sums = malloc(l->pixels * d->out_c * sizeof(int64_t));
  if (l->input == NULL || l->weights == NULL || l->sums == NULL || !layer_reference(l)) {
    fprintf(stderr, "FAIL out of memory\n");
    layer_free(l);
    return 0;
  }
  return 1;
}

static lb_test_output output_of(const layer *l, const lb_conv2d_desc *d) {
  const lb_test_output out = {d->output, l->sums_type, &d->requantize, &d->float_out};
  return out;
}

/* Runs op on `input` and compares with `sums`: LB_OK, every output right, nothing written past
 * the end. */
static int check_run(const layer *l, const lb_conv2d_desc *d, const lb_conv2d *op,
                     const void *input, const int64_t *sums, const char *what) {
  const lb_test_output out = output_of(l, d);
  const size_t count = l->pixels * d->out_c;
  const size_t bytes = lb_test_output_bytes(d->output, l->sums_type, &d->requantize);
  void *buffer = lb_test_output_alloc(count, bytes);
  char text[512];
  label(text, sizeof text, d, what);
  if (buffer == NULL) {
    fprintf(stderr, "FAIL out of memory\n");
    return 0;
  }
  const lb_status st = lb_conv2d_run(op, input, buffer);
  int ok = st == LB_OK;
  if (!ok) {
    fprintf(stderr, "FAIL %s: lb_conv2d_run: %s\n", text, lb_status_string(st));
  } else {
    ok = lb_test_compare(&out, l->pixels, d->out_c, sums, buffer, text);
    if (ok && !lb_test_guard_intact(buffer, count, bytes)) {
      fprintf(stderr, "FAIL %s: written past the end of the output\n", text);
      ok = 0;
    }
  }
  free(buffer);
  return ok;
}

/* The operator's kernel must exist and follow the requested strategy. */
static int check_kernel(const lb_conv2d_desc *d, const lb_conv2d *op, const char *text) {
  const lb_gemm_kernel_info *kernel = lb_conv2d_kernel(op);
  if (kernel == NULL) {
    fprintf(stderr, "FAIL %s: lb_conv2d_kernel gives NULL\n", text);
    return 0;
  }
  const int bitserial =
      kernel->strategy == LB_STRATEGY_BITSERIAL || kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
  if ((d->strategy == LB_BITSERIAL && !bitserial) ||
      (d->strategy == LB_DIRECT && kernel->strategy != LB_STRATEGY_DIRECT)) {
    fprintf(stderr, "FAIL %s: kernel %s does not follow the strategy\n", text, kernel->name);
    return 0;
  }
  return 1;
}

/* Creates the operator of d (l's shape, any output kind) with l's weights and checks one run. */
static int check_desc(const layer *l, const lb_conv2d_desc *d, const char *what) {
  char text[512];
  label(text, sizeof text, d, what);
  if (lb_conv2d_out_h(d) != lb_ref_conv2d_out_h(&l->shape) ||
      lb_conv2d_out_w(d) != lb_ref_conv2d_out_w(&l->shape)) {
    fprintf(stderr, "FAIL %s: lb_conv2d_out_h/w give %zux%zu, expected %zux%zu\n", text,
            lb_conv2d_out_h(d), lb_conv2d_out_w(d), lb_ref_conv2d_out_h(&l->shape),
            lb_ref_conv2d_out_w(&l->shape));
    return 0;
  }
  if (l->sums_type == LB_OUT_INT32 && lb_test_sums_need_int64(d->a, d->w, l->k)) {
    fprintf(stderr, "FAIL %s: int32 sums for a bound that needs int64\n", text);
    return 0;
  }
  lb_conv2d *op = NULL;
  const lb_status st = lb_conv2d_create(d, l->weights, &op);
  if (st != LB_OK || op == NULL) {
    fprintf(stderr, "FAIL %s: lb_conv2d_create: %s\n", text, lb_status_string(st));
    return 0;
  }
  const int ok = check_kernel(d, op, text) && check_run(l, d, op, l->input, l->sums, what);
  lb_conv2d_destroy(op);
  return ok;
}

static int check_layer(const lb_conv2d_desc *d, lb_test_fill afill, lb_test_fill wfill,
                       const char *what, uint64_t *rng) {
  layer l;
  if (!layer_init(&l, d, afill, wfill, rng)) {
    return 0;
  }
  const int ok = check_desc(&l, d, what);
  layer_free(&l);
  return ok;
}

static const lb_strategy_choice strategies[] = {LB_AUTO, LB_BITSERIAL, LB_DIRECT};

/* ---- bits ABITS ---------------------------------------------------------------------------- */

static void part_bits(unsigned abits, lb_test_tally *t, uint64_t *rng) {
  /* A 3x3 SAME layer (borders and interior, partial tiles: 20 pixels, 5 channels) and a 1x1
   * layer with batch 2: each small enough for QEMU at 6534 cases over all abits. */
  lb_conv2d_desc layers[2] = {layer_desc(1, 4, 5, 3, 5, 3, 3), layer_desc(2, 3, 3, 7, 4, 1, 1)};
  set_pads(&layers[0], 1, 1, 1, 1);
  lb_encoding aenc[3], wenc[3];
  const size_t na = lb_test_encodings(abits, aenc);
  for (unsigned wbits = 1; wbits <= 16; wbits++) {
    const size_t nw = lb_test_encodings(wbits, wenc);
    for (size_t ea = 0; ea < na; ea++) {
      for (size_t ew = 0; ew < nw; ew++) {
        for (size_t l = 0; l < COUNT(layers); l++) {
          for (size_t s = 0; s < COUNT(strategies); s++) {
            lb_conv2d_desc d = layers[l];
            d.a = (lb_operand){abits, aenc[ea]};
            d.w = (lb_operand){wbits, wenc[ew]};
            d.strategy = strategies[s];
            d.threads = 1 + (wbits & 1);
            lb_test_record(t, check_layer(&d, LB_FILL_RANDOM, LB_FILL_RANDOM, "bits", rng));
          }
        }
      }
    }
  }
}

/* ---- geometry ------------------------------------------------------------------------------ */

enum padding { VALID, SAME, EXPLICIT };

typedef struct geometry {
  size_t batch, in_h, in_w, in_c, out_c;
  unsigned kh, kw, sh, sw, dh, dw;
  enum padding padding;
  unsigned pt, pb, pl, pr; /* EXPLICIT */
  size_t groups;
  const char *what;
} geometry;

static const geometry geometries[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 1, "all sizes 1"},
    {1, 2, 2, 3, 5, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 1, "2x2 input, SAME 3x3"},
    {1, 7, 7, 5, 3, 3, 3, 2, 2, 1, 1, SAME, 0, 0, 0, 0, 1, "stride 2 SAME, odd size"},
    {2, 13, 13, 3, 63, 3, 3, 2, 2, 1, 1, SAME, 0, 0, 0, 0, 1, "batch 2, 63 outputs"},
    {1, 13, 13, 65, 5, 7, 7, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 1, "7x7 SAME, 65 channels"},
    {1, 7, 7, 130, 65, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 1, "130 -> 65 channels"},
    {3, 7, 13, 63, 3, 1, 3, 1, 1, 1, 1, EXPLICIT, 0, 0, 1, 1, 1, "1x3, batch 3"},
    {1, 13, 7, 3, 130, 3, 1, 1, 1, 1, 1, EXPLICIT, 1, 1, 0, 0, 1, "3x1, 130 outputs"},
    {1, 7, 13, 5, 5, 2, 5, 1, 2, 1, 1, EXPLICIT, 0, 1, 2, 2, 1, "2x5, asymmetric"},
    {1, 13, 13, 6, 4, 3, 3, 1, 1, 2, 2, SAME, 0, 0, 0, 0, 1, "dilation 2 SAME"},
    {1, 13, 13, 3, 3, 3, 2, 3, 4, 4, 3, EXPLICIT, 2, 0, 1, 3, 1, "stride 3x4, dilation 4x3"},
    {1, 13, 13, 5, 3, 2, 2, 4, 4, 1, 1, VALID, 0, 0, 0, 0, 1, "stride 4 VALID"},
    {2, 7, 7, 6, 9, 3, 3, 1, 1, 1, 1, EXPLICIT, 1, 1, 1, 1, 3, "3 groups"},
    {1, 13, 13, 10, 5, 2, 2, 2, 2, 1, 1, VALID, 0, 0, 0, 0, 5, "5 groups, 1 output each"},
    {1, 7, 7, 65, 65, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 65, "depthwise 65"},
    {2, 13, 13, 3, 3, 3, 3, 2, 2, 1, 1, SAME, 0, 0, 0, 0, 3, "depthwise stride 2"},
    {1, 7, 7, 3, 6, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 3, "groups = in_c, 2 outputs each"},
    {1, 13, 1, 5, 3, 3, 1, 1, 1, 1, 1, EXPLICIT, 2, 1, 0, 0, 1, "width 1"},
    {1, 1, 13, 3, 5, 1, 5, 1, 4, 1, 1, EXPLICIT, 0, 0, 2, 2, 1, "height 1, stride 4"},
    {1, 2, 7, 1, 1, 2, 2, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 1, "one channel"},
    {1, 7, 7, 1, 1, 7, 7, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 1, "7x7 VALID on 7x7"},
    {1, 2, 2, 3, 3, 7, 7, 1, 1, 1, 1, EXPLICIT, 3, 3, 3, 3, 1, "7x7 on 2x2, mostly padding"},
    {1, 13, 13, 63, 130, 3, 3, 2, 2, 1, 1, EXPLICIT, 0, 1, 0, 1, 1, "padding after only"},
    {1, 13, 13, 5, 7, 1, 1, 2, 2, 1, 1, VALID, 0, 0, 0, 0, 1, "1x1 stride 2"},
    {1, 7, 13, 3, 5, 5, 2, 1, 3, 1, 2, EXPLICIT, 4, 0, 0, 2, 1, "5x2, pads larger than half"},
};

static const struct {
  lb_operand a, w;
  lb_strategy_choice strategy;
  unsigned threads;
} geometry_configs[] = {
    {{2, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL, 1},
    {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}, LB_BITSERIAL, 2},
    {{8, LB_SIGNED}, {8, LB_SIGNED}, LB_DIRECT, 1},
    {{5, LB_UNSIGNED}, {3, LB_SIGNED}, LB_AUTO, 2},
};

static lb_conv2d_desc geometry_desc(const geometry *g) {
  lb_conv2d_desc d = layer_desc(g->batch, g->in_h, g->in_w, g->in_c, g->out_c, g->kh, g->kw);
  d.stride_h = g->sh;
  d.stride_w = g->sw;
  d.dilation_h = g->dh;
  d.dilation_w = g->dw;
  d.groups = g->groups;
  switch (g->padding) {
  case VALID: lb_conv2d_pad_valid(&d); break;
  case SAME: lb_conv2d_pad_same(&d); break;
  case EXPLICIT: set_pads(&d, g->pt, g->pb, g->pl, g->pr); break;
  }
  return d;
}

static void part_geometry(lb_test_tally *t, uint64_t *rng) {
  for (size_t g = 0; g < COUNT(geometries); g++) {
    for (size_t c = 0; c < COUNT(geometry_configs); c++) {
      /* The reference reads the pads from the descriptor, so a wrong helper shows up in the
       * part "same", not here. */
      lb_conv2d_desc d = geometry_desc(&geometries[g]);
      d.a = geometry_configs[c].a;
      d.w = geometry_configs[c].w;
      d.strategy = geometry_configs[c].strategy;
      d.threads = geometry_configs[c].threads;
      lb_test_record(t, check_layer(&d, LB_FILL_RANDOM, LB_FILL_RANDOM, geometries[g].what, rng));
    }
  }
}

/* ---- bipolar ------------------------------------------------------------------------------- */

/* Padded layers only: these are where a +1/-1 code would leak into the sum. */
static const geometry padded[] = {
    {1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 1, "SAME 3x3"},
    {2, 7, 6, 65, 3, 3, 3, 2, 2, 1, 1, SAME, 0, 0, 0, 0, 1, "SAME stride 2, 65 channels"},
    {1, 7, 7, 5, 6, 2, 5, 1, 2, 1, 1, EXPLICIT, 0, 1, 2, 2, 1, "2x5 asymmetric"},
    {1, 9, 9, 4, 5, 3, 3, 1, 1, 2, 2, SAME, 0, 0, 0, 0, 1, "SAME dilation 2"},
    {1, 6, 6, 6, 6, 3, 3, 1, 1, 1, 1, SAME, 0, 0, 0, 0, 6, "depthwise SAME"},
    {1, 2, 2, 3, 3, 7, 7, 1, 1, 1, 1, EXPLICIT, 3, 3, 3, 3, 1, "7x7 on 2x2"},
};

static const lb_operand bipolar_pairs[][2] = {
    {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}},
    {{1, LB_BIPOLAR}, {1, LB_UNSIGNED}},
    {{1, LB_BIPOLAR}, {1, LB_SIGNED}},
    {{1, LB_BIPOLAR}, {2, LB_SIGNED}},
    {{1, LB_BIPOLAR}, {4, LB_UNSIGNED}},
    {{1, LB_BIPOLAR}, {8, LB_SIGNED}},
    {{1, LB_UNSIGNED}, {1, LB_BIPOLAR}},
    {{2, LB_SIGNED}, {1, LB_BIPOLAR}},
    {{4, LB_UNSIGNED}, {1, LB_BIPOLAR}},
    {{8, LB_SIGNED}, {1, LB_BIPOLAR}},
    /* The same borders without bipolar operands. */
    {{2, LB_UNSIGNED}, {2, LB_SIGNED}},
    {{3, LB_SIGNED}, {1, LB_UNSIGNED}},
    {{1, LB_SIGNED}, {1, LB_SIGNED}},
};

static void part_bipolar(lb_test_tally *t, uint64_t *rng) {
  /* All +1 and all -1 (most-negative) data make every border output differ from the interior by
   * exactly the missing taps; random data mixes the signs. */
  static const lb_test_fill fills[][2] = {{LB_FILL_RANDOM, LB_FILL_RANDOM},
                                          {LB_FILL_ONES, LB_FILL_ONES},
                                          {LB_FILL_MIN, LB_FILL_ONES},
                                          {LB_FILL_MIN, LB_FILL_MIN}};
  for (size_t p = 0; p < COUNT(bipolar_pairs); p++) {
    for (size_t g = 0; g < COUNT(padded); g++) {
      for (size_t s = 0; s < COUNT(strategies); s++) {
        for (size_t f = 0; f < COUNT(fills); f++) {
          if (f > 0 && strategies[s] != LB_AUTO) {
            continue; /* the extreme fills once per layer, random data on every strategy */
          }
          lb_conv2d_desc d = geometry_desc(&padded[g]);
          d.a = bipolar_pairs[p][0];
          d.w = bipolar_pairs[p][1];
          d.strategy = strategies[s];
          lb_test_record(t, check_layer(&d, fills[f][0], fills[f][1], padded[g].what, rng));
        }
      }
    }
  }
}

/* ---- overflow K ---------------------------------------------------------------------------- */

static const unsigned overflow_bits[][2] = {{1, 1},  {2, 1},  {1, 2},  {2, 2}, {3, 1},
                                            {1, 3},  {3, 3},  {4, 4},  {7, 7}, {8, 8},
                                            {5, 11}, {16, 1}, {16, 16}};

static void part_overflow(size_t k, lb_test_tally *t, uint64_t *rng) {
  static const lb_test_fill fills[][2] = {{LB_FILL_ONES, LB_FILL_ONES},
                                          {LB_FILL_MAX, LB_FILL_MAX},
                                          {LB_FILL_MIN, LB_FILL_MIN},
                                          {LB_FILL_MIN, LB_FILL_MAX}};
  /* 3x3 SAME on a 3x3 input: the centre output sums all K products, the borders 4/9 and 6/9 of
   * them. 4x4x4096 VALID: one output of K = 65536, plus a padded copy for the ones. */
  lb_conv2d_desc layers[2];
  size_t n_layers = 1;
  if (k == 4608 || k == 9216) {
    layers[0] = layer_desc(1, 3, 3, k / 9, 3, 3, 3);
    set_pads(&layers[0], 1, 1, 1, 1);
  } else {
    layers[0] = layer_desc(1, 4, 4, k / 16, 2, 4, 4);
    layers[1] = layers[0];
    set_pads(&layers[1], 1, 2, 1, 2);
    n_layers = 2;
  }
  for (size_t p = 0; p < COUNT(overflow_bits); p++) {
    lb_encoding aenc[3], wenc[3];
    const size_t na = lb_test_encodings(overflow_bits[p][0], aenc);
    const size_t nw = lb_test_encodings(overflow_bits[p][1], wenc);
    for (size_t ea = 0; ea < na; ea++) {
      for (size_t ew = 0; ew < nw; ew++) {
        const lb_operand a = {overflow_bits[p][0], aenc[ea]}, w = {overflow_bits[p][1], wenc[ew]};
        /* At 65536 the narrowest pairs, the paper's 2-bit pair and the widest, matching
         * encodings: every narrow counter has flushed many times by then. */
        if (k == 65536 &&
            !(a.bits == w.bits && (a.bits <= 2 || a.bits == 16) && a.encoding == w.encoding)) {
          continue;
        }
        for (size_t l = 0; l < n_layers; l++) {
          for (size_t f = 0; f < COUNT(fills); f++) {
            if (l == 1 && f != 0) {
              continue;
            }
            for (size_t s = 1; s < COUNT(strategies); s++) { /* LB_AUTO is one of the two */
              lb_conv2d_desc d = layers[l];
              d.a = a;
              d.w = w;
              d.strategy = strategies[s];
              lb_test_record(t, check_layer(&d, fills[f][0], fills[f][1], "overflow", rng));
            }
          }
        }
      }
    }
  }
}

/* ---- requantize ---------------------------------------------------------------------------- */

static void part_requantize(lb_test_tally *t, uint64_t *rng) {
  /* Sums of about 2^5 (ties are common), 2^17 (int32) and 2^35 (int64: K = 9216 at 16 bits). */
  struct {
    lb_conv2d_desc desc;
    unsigned sum_bits;
  } layers[3] = {{layer_desc(2, 6, 6, 2, 8, 3, 3), 5},
                 {layer_desc(1, 7, 7, 16, 16, 3, 3), 17},
                 {layer_desc(1, 3, 3, 1024, 4, 3, 3), 35}};
  layers[0].desc.a = (lb_operand){4, LB_SIGNED};
  layers[0].desc.w = (lb_operand){2, LB_SIGNED};
  layers[1].desc.a = (lb_operand){8, LB_UNSIGNED};
  layers[1].desc.w = (lb_operand){8, LB_SIGNED};
  layers[2].desc.a = (lb_operand){16, LB_SIGNED};
  layers[2].desc.w = (lb_operand){16, LB_SIGNED};
  for (size_t i = 0; i < COUNT(layers); i++) {
    lb_conv2d_pad_same(&layers[i].desc);
    layer l;
    if (!layer_init(&l, &layers[i].desc, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      lb_test_record(t, 0);
      continue;
    }
    lb_test_requant_case cases[LB_TEST_REQUANT_CASES];
    lb_test_requant_cases(cases, l.desc.out_c, layers[i].sum_bits, rng);
    lb_test_float_case floats[2];
    lb_test_float_case_fill(&floats[0], l.desc.out_c, layers[i].sum_bits, 1, rng);
    lb_test_float_case_fill(&floats[1], l.desc.out_c, layers[i].sum_bits, 0, rng);
    for (size_t c = 0; c < COUNT(cases); c++) {
      lb_test_record(t, lb_test_requant_covered(&cases[c], l.pixels, l.desc.out_c, l.sums));
    }
    for (size_t s = 0; s < COUNT(strategies); s++) {
      lb_conv2d_desc d = l.desc;
      d.strategy = strategies[s];
      d.output = LB_OUTPUT_CODES;
      for (size_t c = 0; c < COUNT(cases); c++) {
        d.requantize = cases[c].rq;
        lb_test_record(t, check_desc(&l, &d, cases[c].name));
      }
      d.output = LB_OUTPUT_FLOAT;
      for (size_t f = 0; f < COUNT(floats); f++) {
        d.float_out = floats[f].fo;
        lb_test_record(t, check_desc(&l, &d, f == 0 ? "float" : "float without bias"));
      }
    }
    layer_free(&l);
  }
}

/* ---- weights ------------------------------------------------------------------------------- */

static void part_weights(lb_test_tally *t, uint64_t *rng) {
  lb_conv2d_desc configs[7];
  configs[0] = layer_desc(1, 6, 5, 5, 4, 3, 3);
  configs[0].strategy = LB_BITSERIAL;
  configs[1] = layer_desc(2, 7, 7, 3, 5, 3, 3);
  configs[1].a = configs[1].w = (lb_operand){1, LB_BIPOLAR}; /* the border corrections use W */
  configs[1].stride_h = configs[1].stride_w = 2;
  configs[2] = layer_desc(1, 5, 5, 4, 3, 3, 3);
  configs[2].a = (lb_operand){1, LB_BIPOLAR};
  configs[2].w = (lb_operand){2, LB_SIGNED};
  configs[2].strategy = LB_DIRECT;
  configs[3] = layer_desc(1, 6, 6, 6, 4, 3, 3);
  configs[3].a = configs[3].w = (lb_operand){8, LB_SIGNED};
  configs[3].groups = 2;
  configs[3].strategy = LB_DIRECT;
  configs[4] = layer_desc(1, 6, 6, 5, 5, 3, 3);
  configs[4].a = (lb_operand){3, LB_UNSIGNED};
  configs[4].w = (lb_operand){1, LB_BIPOLAR};
  configs[4].groups = 5;
  configs[5] = layer_desc(1, 5, 5, 4, 8, 3, 3);
  configs[5].a = (lb_operand){4, LB_SIGNED};
  configs[5].w = (lb_operand){2, LB_SIGNED};
  configs[5].output = LB_OUTPUT_CODES;
  configs[6] = configs[5];
  configs[6].output = LB_OUTPUT_FLOAT;
  lb_test_requant_case rq[LB_TEST_REQUANT_CASES];
  lb_test_requant_cases(rq, 8, 5, rng);
  configs[5].requantize = rq[1].rq; /* bias and zero point */
  lb_test_float_case fl;
  lb_test_float_case_fill(&fl, 8, 5, 1, rng);
  configs[6].float_out = fl.fo;

  for (size_t c = 0; c < COUNT(configs); c++) {
    lb_conv2d_desc *d = &configs[c];
    lb_conv2d_pad_same(d);
    layer l;
    if (!layer_init(&l, d, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      lb_test_record(t, 0);
      continue;
    }
    const size_t n_w = lb_ref_conv2d_weight_count(&l.shape);
    const size_t wbytes = n_w * lb_test_elem_bytes(d->w);
    void *first = malloc(wbytes);
    void *second = lb_test_matrix(d->w, 1, n_w, n_w, LB_FILL_RANDOM, rng);
    int64_t *first_sums = malloc(l.pixels * d->out_c * sizeof(int64_t));
    lb_conv2d *op = NULL;
    if (first == NULL || second == NULL || first_sums == NULL ||
        lb_conv2d_create(d, l.weights, &op) != LB_OK) {
      fprintf(stderr, "FAIL weights: create or out of memory\n");
      lb_test_record(t, 0);
    } else {
      memcpy(first, l.weights, wbytes);
      memcpy(first_sums, l.sums, l.pixels * d->out_c * sizeof(int64_t));
      /* create packs the weights: the caller may reuse the buffer at once. */
      memset(l.weights, LB_TEST_SENTINEL, wbytes);
      lb_test_record(t, check_run(&l, d, op, l.input, first_sums, "weights buffer reused"));

      memcpy(l.weights, second, wbytes);
      layer_reference(&l);
      const lb_status st = lb_conv2d_set_weights(op, second);
      memset(second, LB_TEST_SENTINEL, wbytes);
      lb_test_record(t, st == LB_OK && check_run(&l, d, op, l.input, l.sums, "after set_weights"));

      /* NULL weights are refused and leave the operator as it was. */
      const int refused = lb_conv2d_set_weights(op, NULL) == LB_INVALID_ARGUMENT;
      if (!refused) {
        fprintf(stderr, "FAIL lb_conv2d_set_weights(op, NULL) is not LB_INVALID_ARGUMENT\n");
      }
      lb_test_record(t,
                     refused && check_run(&l, d, op, l.input, l.sums, "after set_weights(NULL)"));

      lb_test_record(t, lb_conv2d_set_weights(op, first) == LB_OK &&
                            check_run(&l, d, op, l.input, first_sums, "weights set back"));
    }
    lb_conv2d_destroy(op);
    free(first);
    free(second);
    free(first_sums);
    layer_free(&l);
  }
}

/* ---- invalid ------------------------------------------------------------------------------- */

static int refused_desc(const lb_conv2d_desc *d, const void *weights, const char *what) {
  static char marker;
  lb_conv2d *const untouched = (lb_conv2d *)(void *)&marker;
  lb_conv2d *op = untouched;
  const lb_status st = lb_conv2d_create(d, weights, &op);
  /* On failure the operator pointer is left as it was or set to NULL, never to an operator. */
  const int ok = st == LB_INVALID_ARGUMENT && (op == untouched || op == NULL);
  if (!ok) {
    fprintf(stderr, "FAIL invalid descriptor (%s): lb_conv2d_create gives %s\n", what,
            lb_status_string(st));
    if (st == LB_OK && op != untouched) {
      lb_conv2d_destroy(op);
    }
  }
  return ok;
}

typedef void (*mutation)(lb_conv2d_desc *d);
#define MUTATION(name, ...)                                                                        \
  static void name(lb_conv2d_desc *d) { __VA_ARGS__; }
MUTATION(batch_0, d->batch = 0)
MUTATION(in_h_0, d->in_h = 0)
MUTATION(in_w_0, d->in_w = 0)
MUTATION(in_c_0, d->in_c = 0)
MUTATION(out_c_0, d->out_c = 0)
MUTATION(kernel_h_0, d->kernel_h = 0)
MUTATION(kernel_w_0, d->kernel_w = 0)
MUTATION(kernel_h_8, d->kernel_h = 8; d->in_h = 13)
MUTATION(kernel_w_8, d->kernel_w = 8; d->in_w = 13)
MUTATION(kernel_h_past_input, d->kernel_h = 7; set_pads(d, 1, 1, 1, 1))  /* 7 > 4 + 2 */
MUTATION(kernel_w_past_input, d->kernel_w = 7; set_pads(d, 1, 1, 0, 1))  /* 7 > 5 + 1 */
MUTATION(dilated_past_input, d->dilation_h = 3; set_pads(d, 0, 0, 0, 0)) /* 7 > 4 */
MUTATION(stride_h_0, d->stride_h = 0)
MUTATION(stride_w_0, d->stride_w = 0)
MUTATION(stride_h_5, d->stride_h = 5)
MUTATION(stride_w_5, d->stride_w = 5)
MUTATION(dilation_h_0, d->dilation_h = 0)
MUTATION(dilation_w_0, d->dilation_w = 0)
MUTATION(dilation_w_5, d->dilation_w = 5; d->in_w = 13)
MUTATION(groups_0, d->groups = 0)
MUTATION(groups_not_dividing_in_c, d->groups = 4) /* in_c 6, out_c 12 */
MUTATION(groups_not_dividing_out_c, d->groups = 3; d->out_c = 4)
MUTATION(groups_above_in_c, d->groups = 12)
MUTATION(abits_0, d->a.bits = 0)
MUTATION(abits_17, d->a.bits = 17)
MUTATION(wbits_0, d->w.bits = 0)
MUTATION(wbits_17, d->w.bits = 17)
MUTATION(a_bipolar_2_bits, d->a = (lb_operand){2, LB_BIPOLAR})
MUTATION(w_bipolar_2_bits, d->w = (lb_operand){2, LB_BIPOLAR})
MUTATION(a_encoding_unknown, d->a.encoding = (lb_encoding)'x')
MUTATION(output_kind_unknown, d->output = (lb_output_kind)3)
MUTATION(multiplier_null, d->output = LB_OUTPUT_CODES; d->requantize.multiplier = NULL)
MUTATION(shift_null, d->output = LB_OUTPUT_CODES; d->requantize.shift = NULL)
MUTATION(scale_null, d->output = LB_OUTPUT_FLOAT; d->float_out.scale = NULL)
MUTATION(clamp_reversed, d->output = LB_OUTPUT_CODES; d->requantize.clamp_min = 5;
         d->requantize.clamp_max = 4)
MUTATION(clamp_above_out, d->output = LB_OUTPUT_CODES; d->requantize.clamp_max = 128)
MUTATION(clamp_below_out, d->output = LB_OUTPUT_CODES; d->requantize.clamp_min = -129)
MUTATION(out_bits_17, d->output = LB_OUTPUT_CODES; d->requantize.out.bits = 17)
MUTATION(out_bipolar_2_bits, d->output = LB_OUTPUT_CODES;
         d->requantize.out = (lb_operand){2, LB_BIPOLAR})

static const struct {
  mutation apply;
  const char *what;
  int geometric; /* lb_conv2d_out_h or _w must give 0 */
} mutations[] = {
#define M(name, geometric)                                                                         \
  { name, #name, geometric }
    M(batch_0, 0),
    M(in_h_0, 1),
    M(in_w_0, 1),
    M(in_c_0, 0),
    M(out_c_0, 0),
    M(kernel_h_0, 1),
    M(kernel_w_0, 1),
    M(kernel_h_8, 1),
    M(kernel_w_8, 1),
    M(kernel_h_past_input, 1),
    M(kernel_w_past_input, 1),
    M(dilated_past_input, 1),
    M(stride_h_0, 1),
    M(stride_w_0, 1),
    M(stride_h_5, 1),
    M(stride_w_5, 1),
    M(dilation_h_0, 1),
    M(dilation_w_0, 1),
    M(dilation_w_5, 1),
    M(groups_0, 0),
    M(groups_not_dividing_in_c, 0),
    M(groups_not_dividing_out_c, 0),
    M(groups_above_in_c, 0),
    M(abits_0, 0),
    M(abits_17, 0),
    M(wbits_0, 0),
    M(wbits_17, 0),
    M(a_bipolar_2_bits, 0),
    M(w_bipolar_2_bits, 0),
    M(a_encoding_unknown, 0),
    M(output_kind_unknown, 0),
    M(multiplier_null, 0),
    M(shift_null, 0),
    M(scale_null, 0),
    M(clamp_reversed, 0),
    M(clamp_above_out, 0),
    M(clamp_below_out, 0),
    M(out_bits_17, 0),
    M(out_bipolar_2_bits, 0),
#undef M
};

/* A multiplier or shift out of its range in the last channel: every channel is checked. */
static void part_invalid_requantize(const lb_conv2d_desc *base, const void *weights,
                                    lb_test_tally *t) {
  int32_t multiplier[12];
  int8_t shift[12];
  for (size_t c = 0; c < 12; c++) {
    multiplier[c] = INT32_C(1) << 30;
    shift[c] = 0;
  }
  lb_conv2d_desc d = *base;
  d.output = LB_OUTPUT_CODES;
  d.requantize.multiplier = multiplier;
  d.requantize.shift = shift;
  multiplier[11] = (INT32_C(1) << 30) - 1;
  lb_test_record(t, refused_desc(&d, weights, "multiplier 2^30 - 1 in the last channel"));
  multiplier[11] = -(INT32_C(1) << 30);
  lb_test_record(t, refused_desc(&d, weights, "negative multiplier in the last channel"));
  multiplier[11] = INT32_C(1) << 30;
  shift[11] = -32;
  lb_test_record(t, refused_desc(&d, weights, "shift -32 in the last channel"));
  shift[11] = 0;
  lb_test_record(t, refused_desc(&d, NULL, "NULL weights with a requantized output"));
}

static void part_invalid(lb_test_tally *t, uint64_t *rng) {
  /* A valid base: 4x5x6 input, 3x3 VALID, 12 outputs, a signed 8-bit requantization ready. */
  static const int32_t multiplier[12] = {1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30,
                                         1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30};
  static const int8_t shift[12] = {0};
  static const float scale[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  lb_conv2d_desc base = layer_desc(1, 4, 5, 6, 12, 3, 3);
  base.requantize = (lb_requantize){{8, LB_SIGNED}, multiplier, shift, NULL, 0, -128, 127};
  base.float_out = (lb_float_output){scale, NULL};
  /* Weights for the largest descriptor any mutation makes (8x8 kernels, 12 outputs). */
  void *weights = lb_test_matrix(base.w, 1, 12 * 8 * 8 * 6, 12 * 8 * 8 * 6, LB_FILL_RANDOM, rng);
  layer l;
  if (weights == NULL || !layer_init(&l, &base, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
    free(weights);
    lb_test_record(t, 0);
    return;
  }
  /* The base itself must be accepted, or every refusal below would prove nothing. */
  lb_test_record(t, check_desc(&l, &base, "valid base of the invalid descriptors"));
  lb_conv2d_desc edge = base;
  edge.kernel_h = 6;
  edge.kernel_w = 7;
  set_pads(&edge, 1, 1, 1, 1); /* kernel = padded input: one output, valid */
  lb_test_record(t, check_layer(&edge, LB_FILL_RANDOM, LB_FILL_RANDOM,
                                "kernel as large as the padded input", rng));

  for (size_t m = 0; m < COUNT(mutations); m++) {
    lb_conv2d_desc d = base;
    mutations[m].apply(&d);
    int ok = refused_desc(&d, weights, mutations[m].what);
    if (mutations[m].geometric && (lb_conv2d_out_h(&d) != 0 && lb_conv2d_out_w(&d) != 0)) {
      fprintf(stderr, "FAIL invalid descriptor (%s): lb_conv2d_out_h/w give %zux%zu, not 0\n",
              mutations[m].what, lb_conv2d_out_h(&d), lb_conv2d_out_w(&d));
      ok = 0;
    }
    lb_test_record(t, ok);
  }
  part_invalid_requantize(&base, weights, t);
  lb_test_record(t, refused_desc(&base, NULL, "NULL weights"));

  lb_conv2d *op = NULL;
  int ok = lb_conv2d_create(NULL, weights, &op) == LB_INVALID_ARGUMENT;
  ok = lb_conv2d_create(&base, weights, NULL) == LB_INVALID_ARGUMENT && ok;
  if (!ok) {
    fprintf(stderr, "FAIL lb_conv2d_create with a NULL descriptor or operator pointer\n");
  }
  lb_test_record(t, ok);

  /* Run-time NULLs: the output stays sentinel-filled, the input unchanged. */
  if (lb_conv2d_create(&base, l.weights, &op) != LB_OK) {
    fprintf(stderr, "FAIL lb_conv2d_create of the valid base\n");
    lb_test_record(t, 0);
  } else {
    const size_t out_bytes =
        l.pixels * base.out_c * lb_test_output_bytes(LB_OUTPUT_SUMS, l.sums_type, NULL);
    const size_t in_bytes = lb_ref_conv2d_input_count(&l.shape) * lb_test_elem_bytes(base.a);
    void *output = lb_test_output_alloc(l.pixels * base.out_c,
                                        lb_test_output_bytes(LB_OUTPUT_SUMS, l.sums_type, NULL));
    void *input_copy = malloc(in_bytes);
    if (output == NULL || input_copy == NULL) {
      lb_test_record(t, 0);
    } else {
      memcpy(input_copy, l.input, in_bytes);
      int r = lb_conv2d_run(op, NULL, output) == LB_INVALID_ARGUMENT &&
              lb_test_untouched(output, out_bytes);
      if (!r) {
        fprintf(stderr, "FAIL lb_conv2d_run(op, NULL, output)\n");
      }
      lb_test_record(t, r);
      r = lb_conv2d_run(op, l.input, NULL) == LB_INVALID_ARGUMENT &&
          memcmp(input_copy, l.input, in_bytes) == 0;
      if (!r) {
        fprintf(stderr, "FAIL lb_conv2d_run(op, input, NULL)\n");
      }
      lb_test_record(t, r);
      r = lb_conv2d_run(NULL, l.input, output) == LB_INVALID_ARGUMENT &&
          lb_test_untouched(output, out_bytes);
      if (!r) {
        fprintf(stderr, "FAIL lb_conv2d_run(NULL, input, output)\n");
      }
      lb_test_record(t, r);
      r = lb_conv2d_set_weights(NULL, l.weights) == LB_INVALID_ARGUMENT;
      if (!r) {
        fprintf(stderr, "FAIL lb_conv2d_set_weights(NULL, weights)\n");
      }
      lb_test_record(t, r);
      /* After all these refusals the operator still computes the layer. */
      lb_test_record(t, check_run(&l, &base, op, l.input, l.sums, "after the refused calls"));
    }
    free(output);
    free(input_copy);
    lb_conv2d_destroy(op);
  }
  layer_free(&l);
  free(weights);
}

/* ---- threads ------------------------------------------------------------------------------- */

static lb_status run_conv(const void *op, const void *input, void *output) {
  return lb_conv2d_run((const lb_conv2d *)op, input, output);
}

static void part_threads(lb_test_tally *t, uint64_t *rng) {
  lb_conv2d_desc configs[3];
  configs[0] = layer_desc(1, 13, 13, 65, 63, 3, 3);
  configs[0].w = (lb_operand){2, LB_SIGNED};
  configs[1] = layer_desc(2, 13, 13, 5, 7, 3, 3);
  configs[1].a = configs[1].w = (lb_operand){1, LB_BIPOLAR};
  configs[1].stride_h = configs[1].stride_w = 2;
  configs[1].strategy = LB_BITSERIAL;
  configs[1].threads = 2; /* each run on its own worker threads as well */
  configs[2] = layer_desc(1, 7, 7, 16, 12, 3, 3);
  configs[2].a = configs[2].w = (lb_operand){8, LB_SIGNED};
  configs[2].strategy = LB_DIRECT;
  configs[2].output = LB_OUTPUT_CODES;
  lb_test_requant_case rq[LB_TEST_REQUANT_CASES];
  lb_test_requant_cases(rq, 12, 16, rng);
  configs[2].requantize = rq[1].rq;

  for (size_t c = 0; c < COUNT(configs); c++) {
    lb_conv2d_desc *d = &configs[c];
    lb_conv2d_pad_same(d);
    layer l[2];
    if (!layer_init(&l[0], d, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      lb_test_record(t, 0);
      continue;
    }
    if (!layer_init(&l[1], d, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      layer_free(&l[0]);
      lb_test_record(t, 0);
      continue;
    }
    /* One operator, two inputs: the second layer takes the first one's weights. */
    memcpy(l[1].weights, l[0].weights,
           lb_ref_conv2d_weight_count(&l[0].shape) * lb_test_elem_bytes(d->w));
    layer_reference(&l[1]);
    const lb_test_output out = output_of(&l[0], d);
    const size_t count = l[0].pixels * d->out_c;
    const size_t bytes = lb_test_output_bytes(d->output, l[0].sums_type, &d->requantize);
    void *expected[2] = {lb_test_expected(&out, l[0].pixels, d->out_c, l[0].sums),
                         lb_test_expected(&out, l[1].pixels, d->out_c, l[1].sums)};
    void *output[2] = {lb_test_output_alloc(count, bytes), lb_test_output_alloc(count, bytes)};
    lb_conv2d *op = NULL;
    int ok = expected[0] != NULL && expected[1] != NULL && output[0] != NULL && output[1] != NULL &&
             lb_conv2d_create(d, l[0].weights, &op) == LB_OK;
    if (ok) {
      const void *const inputs[2] = {l[0].input, l[1].input};
      const void *const wanted[2] = {expected[0], expected[1]};
      ok = lb_test_two_threads(run_conv, op, inputs, output, wanted, count * bytes, 8);
    }
    if (!ok) {
      char text[512];
      label(text, sizeof text, d, "two threads");
      fprintf(stderr, "FAIL %s\n", text);
    }
    lb_test_record(t, ok);
    lb_conv2d_destroy(op);
    for (int i = 0; i < 2; i++) {
      free(expected[i]);
      free(output[i]);
      layer_free(&l[i]);
    }
  }
}

/* ---- same ---------------------------------------------------------------------------------- */

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Field by field: memcmp would also compare the structure's padding bytes. */
static int desc_equal(const lb_conv2d_desc *x, const lb_conv2d_desc *y) {
  return x->batch == y->batch && x->in_h == y->in_h && x->in_w == y->in_w && x->in_c == y->in_c &&
         x->out_c == y->out_c && x->kernel_h == y->kernel_h && x->kernel_w == y->kernel_w &&
         x->stride_h == y->stride_h && x->stride_w == y->stride_w &&
         x->dilation_h == y->dilation_h && x->dilation_w == y->dilation_w &&
         x->pad_top == y->pad_top && x->pad_bottom == y->pad_bottom && x->pad_left == y->pad_left &&
         x->pad_right == y->pad_right && x->groups == y->groups && x->a.bits == y->a.bits &&
         x->a.encoding == y->a.encoding && x->w.bits == y->w.bits &&
         x->w.encoding == y->w.encoding && x->strategy == y->strategy && x->threads == y->threads &&
         x->output == y->output;
}

/* pad_same: total (k - 1) * d, floor half before, the rest after, out = ceil(in / stride), no
 * other field touched; pad_valid: zeros. Height and width differ in every parameter, so a helper
 * that mixes them up fails. */
static int check_same(size_t in, unsigned k, unsigned s, unsigned dil) {
  lb_conv2d_desc d = layer_desc(1, in, in + 3, 2, 2, k, k % 7 + 1);
  d.stride_h = s;
  d.stride_w = s % 4 + 1;
  d.dilation_h = dil;
  d.dilation_w = dil % 4 + 1;
  set_pads(&d, 9, 9, 9, 9);
  lb_conv2d_desc want = d;
  const unsigned total_h = (d.kernel_h - 1) * d.dilation_h,
                 total_w = (d.kernel_w - 1) * d.dilation_w;
  set_pads(&want, total_h / 2, total_h - total_h / 2, total_w / 2, total_w - total_w / 2);
  lb_conv2d_pad_same(&d);
  int ok = desc_equal(&d, &want);
  ok = ok && lb_conv2d_out_h(&d) == ceil_div(d.in_h, d.stride_h) &&
       lb_conv2d_out_w(&d) == ceil_div(d.in_w, d.stride_w);
  lb_conv2d_desc valid = d;
  lb_conv2d_pad_valid(&valid);
  want = d;
  set_pads(&want, 0, 0, 0, 0);
  ok = ok && desc_equal(&valid, &want);
  /* A kernel larger than the unpadded input makes the VALID descriptor one that create refuses,
   * and then both sizes are 0 (operators.h). */
  const lb_ref_conv2d_shape vs = shape_of(&valid);
  const size_t valid_h = lb_ref_conv2d_out_h(&vs), valid_w = lb_ref_conv2d_out_w(&vs);
  const int refused = valid_h == 0 || valid_w == 0;
  ok = ok && lb_conv2d_out_h(&valid) == (refused ? 0 : valid_h) &&
       lb_conv2d_out_w(&valid) == (refused ? 0 : valid_w);
  if (!ok) {
    fprintf(stderr,
            "FAIL padding helpers: in %zux%zu kernel %ux%u stride %ux%u dilation %ux%u: "
            "SAME pads %u/%u/%u/%u out %zux%zu; VALID out %zux%zu\n",
            d.in_h, d.in_w, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
            d.dilation_w, d.pad_top, d.pad_bottom, d.pad_left, d.pad_right, lb_conv2d_out_h(&d),
            lb_conv2d_out_w(&d), lb_conv2d_out_h(&valid), lb_conv2d_out_w(&valid));
  }
  return ok;
}

static void part_same(lb_test_tally *t, uint64_t *rng) {
  for (size_t in = 1; in <= 13; in++) {
    for (unsigned k = 1; k <= 7; k++) {
      for (unsigned s = 1; s <= 4; s++) {
        for (unsigned dil = 1; dil <= 4; dil++) {
          lb_test_record(t, check_same(in, k, s, dil));
        }
      }
    }
  }
  /* ResNet-18's stride-2 layers (C4, C7, C10 at 56, 28, 14; conv1 7x7 at 224): SAME pads the
   * 3x3 by 1 and the 7x7 by 3 on every side, and a 1x1 not at all. */
  static const struct {
    size_t in;
    unsigned k, pad;
  } resnet[] = {{56, 3, 1}, {28, 3, 1}, {14, 3, 1}, {224, 7, 3}, {56, 1, 0}};
  for (size_t r = 0; r < COUNT(resnet); r++) {
    lb_conv2d_desc d = layer_desc(1, resnet[r].in, resnet[r].in, 64, 64, resnet[r].k, resnet[r].k);
    d.stride_h = d.stride_w = 2;
    lb_conv2d_pad_same(&d);
    const unsigned p = resnet[r].pad;
    const int ok = d.pad_top == p && d.pad_bottom == p && d.pad_left == p && d.pad_right == p &&
                   lb_conv2d_out_h(&d) == resnet[r].in / 2 &&
                   lb_conv2d_out_w(&d) == resnet[r].in / 2;
    if (!ok) {
      fprintf(stderr, "FAIL SAME on ResNet-18 %ux%u stride 2 at %zu: pads %u/%u/%u/%u, out %zu\n",
              resnet[r].k, resnet[r].k, resnet[r].in, d.pad_top, d.pad_bottom, d.pad_left,
              d.pad_right, lb_conv2d_out_h(&d));
    }
    lb_test_record(t, ok);
  }
  /* A C4-like layer end to end, against a reference given pads 1 on every side by hand (not read
   * back from the helper), with bipolar activations where wrong padding shows most. */
  lb_conv2d_desc d = layer_desc(1, 14, 14, 8, 6, 3, 3);
  d.stride_h = d.stride_w = 2;
  d.a = (lb_operand){1, LB_BIPOLAR};
  lb_conv2d_pad_same(&d);
  lb_conv2d_desc by_hand = d;
  set_pads(&by_hand, 1, 1, 1, 1);
  layer l;
  if (!layer_init(&l, &by_hand, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
    lb_test_record(t, 0);
    return;
  }
  lb_test_record(t, check_desc(&l, &d, "ResNet-18 C4 shape, SAME helper"));
  layer_free(&l);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s bits ABITS (1..16) | geometry | bipolar | overflow K (4608, 9216, 65536) |\n"
          "       requantize | weights | invalid | threads | same\n",
          argv0);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    return usage(argv[0]);
  }
  const char *part = argv[1];
  unsigned long arg = 0;
  const int takes_arg = strcmp(part, "bits") == 0 || strcmp(part, "overflow") == 0;
  if (takes_arg) {
    char *end = NULL;
    arg = argc == 3 ? strtoul(argv[2], &end, 10) : 0;
    if (argc != 3 || *end != '\0') {
      return usage(argv[0]);
    }
  } else if (argc != 2) {
    return usage(argv[0]);
  }
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x6a09e667f3bcc909u ^ arg;
  lb_test_tally t = {0, 0};
  if (strcmp(part, "bits") == 0 && arg >= 1 && arg <= 16) {
    part_bits((unsigned)arg, &t, &rng);
  } else if (strcmp(part, "overflow") == 0 && (arg == 4608 || arg == 9216 || arg == 65536)) {
    part_overflow(arg, &t, &rng);
  } else if (strcmp(part, "geometry") == 0) {
    part_geometry(&t, &rng);
  } else if (strcmp(part, "bipolar") == 0) {
    part_bipolar(&t, &rng);
  } else if (strcmp(part, "requantize") == 0) {
    part_requantize(&t, &rng);
  } else if (strcmp(part, "weights") == 0) {
    part_weights(&t, &rng);
  } else if (strcmp(part, "invalid") == 0) {
    part_invalid(&t, &rng);
  } else if (strcmp(part, "threads") == 0) {
    part_threads(&t, &rng);
  } else if (strcmp(part, "same") == 0) {
    part_same(&t, &rng);
  } else {
    return usage(argv[0]);
  }
  return lb_test_finish(&t);
}
