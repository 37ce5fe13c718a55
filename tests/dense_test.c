/* lb_dense (lowbit/operators.h) against the plain reference (support/conv_reference.c).
 * Usage: lowbit-test-dense PART [ARG]; ctest runs every part:
 *   bits ABITS  every wbits 1..16 and encoding with this abits, for LB_AUTO, LB_BITSERIAL and
 *               LB_DIRECT, as exact sums
 *   shapes      batch 1..5, channel counts 1..1024 in and 1..1000 out (the paper's 1024 -> 1000)
 *   overflow K  all-ones, all-max and most-negative data at in_c = 4608, 9216 or 65536
 *   requantize  ties, saturation, per-channel multipliers and shifts, bias, zero point; float
 *   weights     lb_dense_set_weights, and that create does not keep the caller's weights
 *   invalid     every bad descriptor and NULL argument: LB_INVALID_ARGUMENT, nothing written
 *   threads     one operator run from two threads at once */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/conv_reference.h"
#include "support/operator_check.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static lb_dense_desc dense_desc(size_t batch, size_t in_c, size_t out_c, lb_operand a, lb_operand w,
                                lb_strategy_choice strategy) {
  lb_dense_desc d;
  memset(&d, 0, sizeof d);
  d.batch = batch;
  d.in_c = in_c;
  d.out_c = out_c;
  d.a = a;
  d.w = w;
  d.strategy = strategy;
  d.threads = 1;
  d.output = LB_OUTPUT_SUMS;
  return d;
}

static const char *strategy_name(lb_strategy_choice s) {
  return s == LB_AUTO ? "auto" : s == LB_BITSERIAL ? "bitserial" : s == LB_DIRECT ? "direct" : "?";
}

static void label(char *buf, size_t n, const lb_dense_desc *d, const char *what) {
  snprintf(buf, n, "%s: a%u%c w%u%c %s threads %u batch %zu in_c %zu out_c %zu output %d", what,
           d->a.bits, (char)d->a.encoding, d->w.bits, (char)d->w.encoding,
           strategy_name(d->strategy), d->threads, d->batch, d->in_c, d->out_c, (int)d->output);
}

/* A layer's data and its reference sums. */
typedef struct layer {
  lb_dense_desc desc;
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
  const lb_dense_desc *d = &l->desc;
  return lb_ref_dense(d->batch, d->in_c, d->out_c, d->a, l->input, d->w, l->weights, l->sums);
}

static int layer_init(layer *l, const lb_dense_desc *d, lb_test_fill afill, lb_test_fill wfill,
                      uint64_t *rng) {
  memset(l, 0, sizeof *l);
  l->desc = *d;
  l->sums_type = lb_gemm_output_type(d->a, d->w, d->in_c);
  l->input = lb_test_matrix(d->a, d->batch, d->in_c, d->in_c, afill, rng);
  l->weights = lb_test_matrix(d->w, d->out_c, d->in_c, d->in_c, wfill, rng);
  l->sums = malloc(d->batch * d->out_c * sizeof(int64_t));
  if (l->input == NULL || l->weights == NULL || l->sums == NULL || !layer_reference(l)) {
    fprintf(stderr, "FAIL out of memory\n");
    layer_free(l);
    return 0;
  }
  return 1;
}

static lb_test_output output_of(const layer *l, const lb_dense_desc *d) {
  const lb_test_output out = {d->output, l->sums_type, &d->requantize, &d->float_out};
  return out;
}

/* Runs op on `input` and compares with `sums`: LB_OK, every output right, nothing written past
 * the end. */
static int check_run(const layer *l, const lb_dense_desc *d, const lb_dense *op, const void *input,
                     const int64_t *sums, const char *what) {
  const lb_test_output out = output_of(l, d);
  const size_t count = d->batch * d->out_c;
  const size_t bytes = lb_test_output_bytes(d->output, l->sums_type, &d->requantize);
  void *buffer = lb_test_output_alloc(count, bytes);
  char text[256];
  label(text, sizeof text, d, what);
  if (buffer == NULL) {
    fprintf(stderr, "FAIL out of memory\n");
    return 0;
  }
  const lb_status st = lb_dense_run(op, input, buffer);
  int ok = st == LB_OK;
  if (!ok) {
    fprintf(stderr, "FAIL %s: lb_dense_run: %s\n", text, lb_status_string(st));
  } else {
    ok = lb_test_compare(&out, d->batch, d->out_c, sums, buffer, text);
    if (ok && !lb_test_guard_intact(buffer, count, bytes)) {
      fprintf(stderr, "FAIL %s: written past the end of the output\n", text);
      ok = 0;
    }
  }
  free(buffer);
  return ok;
}

/* The operator's kernel must exist and follow the requested strategy. */
static int check_kernel(const lb_dense_desc *d, const lb_dense *op, const char *text) {
  const lb_gemm_kernel_info *kernel = lb_dense_kernel(op);
  if (kernel == NULL) {
    fprintf(stderr, "FAIL %s: lb_dense_kernel gives NULL\n", text);
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
static int check_desc(const layer *l, const lb_dense_desc *d, const char *what) {
  char text[256];
  label(text, sizeof text, d, what);
  if (l->sums_type == LB_OUT_INT32 && lb_test_sums_need_int64(d->a, d->w, d->in_c)) {
    fprintf(stderr, "FAIL %s: int32 sums for a bound that needs int64\n", text);
    return 0;
  }
  lb_dense *op = NULL;
  const lb_status st = lb_dense_create(d, l->weights, &op);
  if (st != LB_OK || op == NULL) {
    fprintf(stderr, "FAIL %s: lb_dense_create: %s\n", text, lb_status_string(st));
    return 0;
  }
  const int ok = check_kernel(d, op, text) && check_run(l, d, op, l->input, l->sums, what);
  lb_dense_destroy(op);
  return ok;
}

static int check_layer(const lb_dense_desc *d, lb_test_fill afill, lb_test_fill wfill,
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
  /* One row into 5 outputs over 130 inputs, and 3 rows into 17 over 63: partial tiles in every
   * dimension, cheap enough for QEMU at 6534 cases over all abits. */
  static const size_t shapes[][3] = {{1, 130, 5}, {3, 63, 17}};
  lb_encoding aenc[3], wenc[3];
  const size_t na = lb_test_encodings(abits, aenc);
  for (unsigned wbits = 1; wbits <= 16; wbits++) {
    const size_t nw = lb_test_encodings(wbits, wenc);
    for (size_t ea = 0; ea < na; ea++) {
      for (size_t ew = 0; ew < nw; ew++) {
        for (size_t s = 0; s < COUNT(shapes); s++) {
          for (size_t g = 0; g < COUNT(strategies); g++) {
            lb_dense_desc d =
                dense_desc(shapes[s][0], shapes[s][1], shapes[s][2], (lb_operand){abits, aenc[ea]},
                           (lb_operand){wbits, wenc[ew]}, strategies[g]);
            d.threads = 1 + (wbits & 1);
            lb_test_record(t, check_layer(&d, LB_FILL_RANDOM, LB_FILL_RANDOM, "bits", rng));
          }
        }
      }
    }
  }
}

/* ---- shapes -------------------------------------------------------------------------------- */

static void part_shapes(lb_test_tally *t, uint64_t *rng) {
  static const size_t batches[] = {1, 2, 5};
  static const size_t in_counts[] = {1, 3, 5, 63, 65, 130, 1024};
  static const size_t out_counts[] = {1, 3, 65, 130};
  static const struct {
    lb_operand a, w;
    lb_strategy_choice strategy;
    unsigned threads;
  } configs[] = {
      {{2, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL, 1},
      {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}, LB_BITSERIAL, 2},
      {{8, LB_SIGNED}, {8, LB_SIGNED}, LB_DIRECT, 1},
      {{5, LB_UNSIGNED}, {3, LB_SIGNED}, LB_AUTO, 2},
  };
  for (size_t b = 0; b < COUNT(batches); b++) {
    for (size_t i = 0; i < COUNT(in_counts); i++) {
      for (size_t o = 0; o < COUNT(out_counts); o++) {
        for (size_t c = 0; c < COUNT(configs); c++) {
          lb_dense_desc d = dense_desc(batches[b], in_counts[i], out_counts[o], configs[c].a,
                                       configs[c].w, configs[c].strategy);
          d.threads = configs[c].threads;
          lb_test_record(t, check_layer(&d, LB_FILL_RANDOM, LB_FILL_RANDOM, "shapes", rng));
        }
      }
    }
  }
  /* The paper's dense layer, 1 x 1024 -> 1000, at its bit configurations. */
  static const lb_operand paper[][2] = {{{1, LB_UNSIGNED}, {1, LB_UNSIGNED}},
                                        {{2, LB_UNSIGNED}, {1, LB_UNSIGNED}},
                                        {{2, LB_UNSIGNED}, {2, LB_UNSIGNED}},
                                        {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}}};
  for (size_t p = 0; p < COUNT(paper); p++) {
    for (size_t s = 0; s < COUNT(strategies); s++) {
      const lb_dense_desc d = dense_desc(1, 1024, 1000, paper[p][0], paper[p][1], strategies[s]);
      lb_test_record(t, check_layer(&d, LB_FILL_RANDOM, LB_FILL_RANDOM, "1024 -> 1000", rng));
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
        for (size_t f = 0; f < COUNT(fills); f++) {
          for (size_t s = 1; s < COUNT(strategies); s++) { /* LB_AUTO is one of the two */
            /* 2 rows x 3 outputs: partial tiles; K and the fills carry the overflow. */
            const lb_dense_desc d = dense_desc(2, k, 3, a, w, strategies[s]);
            lb_test_record(t, check_layer(&d, fills[f][0], fills[f][1], "overflow", rng));
          }
        }
      }
    }
  }
}

/* ---- requantize ---------------------------------------------------------------------------- */

static void part_requantize(lb_test_tally *t, uint64_t *rng) {
  /* Sums of about 2^4 (ties are common), 2^17 (int32) and 2^35 (int64: K = 9216 at 16 bits). */
  static const struct {
    size_t batch, in_c, out_c;
    lb_operand a, w;
    unsigned sum_bits;
  } layers[] = {
      {40, 3, 8, {4, LB_SIGNED}, {2, LB_SIGNED}, 4},
      {6, 144, 16, {8, LB_UNSIGNED}, {8, LB_SIGNED}, 17},
      {9, 9216, 4, {16, LB_SIGNED}, {16, LB_SIGNED}, 35},
  };
  for (size_t i = 0; i < COUNT(layers); i++) {
    const lb_dense_desc base = dense_desc(layers[i].batch, layers[i].in_c, layers[i].out_c,
                                          layers[i].a, layers[i].w, LB_AUTO);
    layer l;
    if (!layer_init(&l, &base, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      lb_test_record(t, 0);
      continue;
    }
    lb_test_requant_case cases[LB_TEST_REQUANT_CASES];
    lb_test_requant_cases(cases, base.out_c, layers[i].sum_bits, rng);
    lb_test_float_case floats[2];
    lb_test_float_case_fill(&floats[0], base.out_c, layers[i].sum_bits, 1, rng);
    lb_test_float_case_fill(&floats[1], base.out_c, layers[i].sum_bits, 0, rng);
    for (size_t c = 0; c < COUNT(cases); c++) {
      lb_test_record(t, lb_test_requant_covered(&cases[c], base.batch, base.out_c, l.sums));
    }
    for (size_t s = 0; s < COUNT(strategies); s++) {
      lb_dense_desc d = base;
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
  lb_dense_desc configs[5] = {
      dense_desc(2, 130, 5, (lb_operand){2, LB_UNSIGNED}, (lb_operand){2, LB_UNSIGNED},
                 LB_BITSERIAL),
      dense_desc(3, 65, 7, (lb_operand){1, LB_BIPOLAR}, (lb_operand){1, LB_BIPOLAR}, LB_AUTO),
      dense_desc(1, 63, 9, (lb_operand){8, LB_SIGNED}, (lb_operand){8, LB_SIGNED}, LB_DIRECT),
      dense_desc(4, 3, 8, (lb_operand){4, LB_SIGNED}, (lb_operand){2, LB_SIGNED}, LB_AUTO),
      dense_desc(4, 3, 8, (lb_operand){4, LB_SIGNED}, (lb_operand){2, LB_SIGNED}, LB_AUTO),
  };
  lb_test_requant_case rq[LB_TEST_REQUANT_CASES];
  lb_test_requant_cases(rq, 8, 4, rng);
  configs[3].output = LB_OUTPUT_CODES;
  configs[3].requantize = rq[1].rq; /* bias and zero point */
  lb_test_float_case fl;
  lb_test_float_case_fill(&fl, 8, 4, 1, rng);
  configs[4].output = LB_OUTPUT_FLOAT;
  configs[4].float_out = fl.fo;

  for (size_t c = 0; c < COUNT(configs); c++) {
    const lb_dense_desc *d = &configs[c];
    layer l;
    if (!layer_init(&l, d, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
      lb_test_record(t, 0);
      continue;
    }
    const size_t wbytes = d->out_c * d->in_c * lb_test_elem_bytes(d->w);
    const size_t sbytes = d->batch * d->out_c * sizeof(int64_t);
    void *first = malloc(wbytes);
    void *second = lb_test_matrix(d->w, d->out_c, d->in_c, d->in_c, LB_FILL_RANDOM, rng);
    int64_t *first_sums = malloc(sbytes);
    lb_dense *op = NULL;
    if (first == NULL || second == NULL || first_sums == NULL ||
        lb_dense_create(d, l.weights, &op) != LB_OK) {
      fprintf(stderr, "FAIL weights: create or out of memory\n");
      lb_test_record(t, 0);
    } else {
      memcpy(first, l.weights, wbytes);
      memcpy(first_sums, l.sums, sbytes);
      /* create packs the weights: the caller may reuse the buffer at once. */
      memset(l.weights, LB_TEST_SENTINEL, wbytes);
      lb_test_record(t, check_run(&l, d, op, l.input, first_sums, "weights buffer reused"));

      memcpy(l.weights, second, wbytes);
      layer_reference(&l);
      const lb_status st = lb_dense_set_weights(op, second);
      memset(second, LB_TEST_SENTINEL, wbytes);
      lb_test_record(t, st == LB_OK && check_run(&l, d, op, l.input, l.sums, "after set_weights"));

      const int refused = lb_dense_set_weights(op, NULL) == LB_INVALID_ARGUMENT;
      if (!refused) {
        fprintf(stderr, "FAIL lb_dense_set_weights(op, NULL) is not LB_INVALID_ARGUMENT\n");
      }
      lb_test_record(t,
                     refused && check_run(&l, d, op, l.input, l.sums, "after set_weights(NULL)"));

      lb_test_record(t, lb_dense_set_weights(op, first) == LB_OK &&
                            check_run(&l, d, op, l.input, first_sums, "weights set back"));
    }
    lb_dense_destroy(op);
    free(first);
    free(second);
    free(first_sums);
    layer_free(&l);
  }
}

/* ---- invalid ------------------------------------------------------------------------------- */

static int refused_desc(const lb_dense_desc *d, const void *weights, const char *what) {
  static char marker;
  lb_dense *const untouched = (lb_dense *)(void *)&marker;
  lb_dense *op = untouched;
  const lb_status st = lb_dense_create(d, weights, &op);
  /* On failure the operator pointer is left as it was or set to NULL, never to an operator. */
  const int ok = st == LB_INVALID_ARGUMENT && (op == untouched || op == NULL);
  if (!ok) {
    fprintf(stderr, "FAIL invalid descriptor (%s): lb_dense_create gives %s\n", what,
            lb_status_string(st));
    if (st == LB_OK && op != untouched) {
      lb_dense_destroy(op);
    }
  }
  return ok;
}

typedef void (*mutation)(lb_dense_desc *d);
#define MUTATION(name, ...)                                                                        \
  static void name(lb_dense_desc *d) { __VA_ARGS__; }
MUTATION(batch_0, d->batch = 0)
MUTATION(in_c_0, d->in_c = 0)
MUTATION(out_c_0, d->out_c = 0)
MUTATION(abits_0, d->a.bits = 0)
MUTATION(abits_17, d->a.bits = 17)
MUTATION(wbits_0, d->w.bits = 0)
MUTATION(wbits_17, d->w.bits = 17)
MUTATION(a_bipolar_2_bits, d->a = (lb_operand){2, LB_BIPOLAR})
MUTATION(w_bipolar_2_bits, d->w = (lb_operand){2, LB_BIPOLAR})
MUTATION(w_encoding_unknown, d->w.encoding = (lb_encoding)'x')
MUTATION(output_kind_unknown, d->output = (lb_output_kind)3)
MUTATION(multiplier_null, d->output = LB_OUTPUT_CODES; d->requantize.multiplier = NULL)
MUTATION(shift_null, d->output = LB_OUTPUT_CODES; d->requantize.shift = NULL)
MUTATION(scale_null, d->output = LB_OUTPUT_FLOAT; d->float_out.scale = NULL)
MUTATION(clamp_reversed, d->output = LB_OUTPUT_CODES; d->requantize.clamp_min = 5;
         d->requantize.clamp_max = 4)
MUTATION(clamp_above_out, d->output = LB_OUTPUT_CODES; d->requantize.clamp_max = 128)
MUTATION(clamp_below_out, d->output = LB_OUTPUT_CODES; d->requantize.clamp_min = -129)
MUTATION(out_bits_0, d->output = LB_OUTPUT_CODES; d->requantize.out.bits = 0)
MUTATION(out_bipolar_2_bits, d->output = LB_OUTPUT_CODES;
         d->requantize.out = (lb_operand){2, LB_BIPOLAR})

static const struct {
  mutation apply;
  const char *what;
} mutations[] = {
#define M(name)                                                                                    \
  { name, #name }
    M(batch_0),
    M(in_c_0),
    M(out_c_0),
    M(abits_0),
    M(abits_17),
    M(wbits_0),
    M(wbits_17),
    M(a_bipolar_2_bits),
    M(w_bipolar_2_bits),
    M(w_encoding_unknown),
    M(output_kind_unknown),
    M(multiplier_null),
    M(shift_null),
    M(scale_null),
    M(clamp_reversed),
    M(clamp_above_out),
    M(clamp_below_out),
    M(out_bits_0),
    M(out_bipolar_2_bits),
#undef M
};

static void part_invalid(lb_test_tally *t, uint64_t *rng) {
  static const int32_t multiplier[6] = {1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30};
  static const int8_t shift[6] = {0};
  static const float scale[6] = {1, 1, 1, 1, 1, 1};
  lb_dense_desc base =
      dense_desc(2, 9, 6, (lb_operand){2, LB_UNSIGNED}, (lb_operand){2, LB_UNSIGNED}, LB_AUTO);
  base.requantize = (lb_requantize){{8, LB_SIGNED}, multiplier, shift, NULL, 0, -128, 127};
  base.float_out = (lb_float_output){scale, NULL};
  layer l;
  if (!layer_init(&l, &base, LB_FILL_RANDOM, LB_FILL_RANDOM, rng)) {
    lb_test_record(t, 0);
    return;
  }
  /* The base itself must be accepted, or every refusal below would prove nothing. */
  lb_test_record(t, check_desc(&l, &base, "valid base of the invalid descriptors"));
  for (size_t m = 0; m < COUNT(mutations); m++) {
    lb_dense_desc d = base;
    mutations[m].apply(&d);
    lb_test_record(t, refused_desc(&d, l.weights, mutations[m].what));
  }
  /* A multiplier or shift out of range in the last channel: every channel is checked. */
  int32_t bad_multiplier[6];
  int8_t bad_shift[6];
  memcpy(bad_multiplier, multiplier, sizeof bad_multiplier);
  memcpy(bad_shift, shift, sizeof bad_shift);
  lb_dense_desc d = base;
  d.output = LB_OUTPUT_CODES;
  d.requantize.multiplier = bad_multiplier;
  d.requantize.shift = bad_shift;
  bad_multiplier[5] = (INT32_C(1) << 30) - 1;
  lb_test_record(t, refused_desc(&d, l.weights, "multiplier 2^30 - 1 in the last channel"));
  bad_multiplier[5] = INT32_MIN;
  lb_test_record(t, refused_desc(&d, l.weights, "negative multiplier in the last channel"));
  bad_multiplier[5] = INT32_C(1) << 30;
  bad_shift[5] = -32;
  lb_test_record(t, refused_desc(&d, l.weights, "shift -32 in the last channel"));
  lb_test_record(t, refused_desc(&base, NULL, "NULL weights"));

  lb_dense *op = NULL;
  int ok = lb_dense_create(NULL, l.weights, &op) == LB_INVALID_ARGUMENT;
  ok = lb_dense_create(&base, l.weights, NULL) == LB_INVALID_ARGUMENT && ok;
  if (!ok) {
    fprintf(stderr, "FAIL lb_dense_create with a NULL descriptor or operator pointer\n");
  }
  lb_test_record(t, ok);

  /* Run-time NULLs: the output stays sentinel-filled, the input unchanged. */
  if (lb_dense_create(&base, l.weights, &op) != LB_OK) {
    fprintf(stderr, "FAIL lb_dense_create of the valid base\n");
    lb_test_record(t, 0);
  } else {
    const size_t elem = lb_test_output_bytes(LB_OUTPUT_SUMS, l.sums_type, NULL);
    const size_t out_bytes = base.batch * base.out_c * elem;
    const size_t in_bytes = base.batch * base.in_c * lb_test_elem_bytes(base.a);
    void *output = lb_test_output_alloc(base.batch * base.out_c, elem);
    void *input_copy = malloc(in_bytes);
    if (output == NULL || input_copy == NULL) {
      lb_test_record(t, 0);
    } else {
      memcpy(input_copy, l.input, in_bytes);
      int r = lb_dense_run(op, NULL, output) == LB_INVALID_ARGUMENT &&
              lb_test_untouched(output, out_bytes);
      if (!r) {
        fprintf(stderr, "FAIL lb_dense_run(op, NULL, output)\n");
      }
      lb_test_record(t, r);
      r = lb_dense_run(op, l.input, NULL) == LB_INVALID_ARGUMENT &&
          memcmp(input_copy, l.input, in_bytes) == 0;
      if (!r) {
        fprintf(stderr, "FAIL lb_dense_run(op, input, NULL)\n");
      }
      lb_test_record(t, r);
      r = lb_dense_run(NULL, l.input, output) == LB_INVALID_ARGUMENT &&
          lb_test_untouched(output, out_bytes);
      if (!r) {
        fprintf(stderr, "FAIL lb_dense_run(NULL, input, output)\n");
      }
      lb_test_record(t, r);
      r = lb_dense_set_weights(NULL, l.weights) == LB_INVALID_ARGUMENT;
      if (!r) {
        fprintf(stderr, "FAIL lb_dense_set_weights(NULL, weights)\n");
      }
      lb_test_record(t, r);
      /* After all these refusals the operator still computes the layer. */
      lb_test_record(t, check_run(&l, &base, op, l.input, l.sums, "after the refused calls"));
    }
    free(output);
    free(input_copy);
    lb_dense_destroy(op);
  }
  layer_free(&l);
}

/* ---- threads ------------------------------------------------------------------------------- */

static lb_status run_dense(const void *op, const void *input, void *output) {
  return lb_dense_run((const lb_dense *)op, input, output);
}

static void part_threads(lb_test_tally *t, uint64_t *rng) {
  lb_dense_desc configs[3] = {
      dense_desc(5, 1024, 65, (lb_operand){2, LB_UNSIGNED}, (lb_operand){2, LB_SIGNED}, LB_AUTO),
      dense_desc(3, 130, 63, (lb_operand){1, LB_BIPOLAR}, (lb_operand){1, LB_BIPOLAR},
                 LB_BITSERIAL),
      dense_desc(4, 144, 12, (lb_operand){8, LB_SIGNED}, (lb_operand){8, LB_SIGNED}, LB_DIRECT),
  };
  configs[1].threads = 2; /* each run on its own worker threads as well */
  lb_test_requant_case rq[LB_TEST_REQUANT_CASES];
  lb_test_requant_cases(rq, 12, 16, rng);
  configs[2].output = LB_OUTPUT_CODES;
  configs[2].requantize = rq[1].rq;

  for (size_t c = 0; c < COUNT(configs); c++) {
    const lb_dense_desc *d = &configs[c];
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
    memcpy(l[1].weights, l[0].weights, d->out_c * d->in_c * lb_test_elem_bytes(d->w));
    layer_reference(&l[1]);
    const lb_test_output out = output_of(&l[0], d);
    const size_t count = d->batch * d->out_c;
    const size_t bytes = lb_test_output_bytes(d->output, l[0].sums_type, &d->requantize);
    void *expected[2] = {lb_test_expected(&out, d->batch, d->out_c, l[0].sums),
                         lb_test_expected(&out, d->batch, d->out_c, l[1].sums)};
    void *output[2] = {lb_test_output_alloc(count, bytes), lb_test_output_alloc(count, bytes)};
    lb_dense *op = NULL;
    int ok = expected[0] != NULL && expected[1] != NULL && output[0] != NULL && output[1] != NULL &&
             lb_dense_create(d, l[0].weights, &op) == LB_OK;
    if (ok) {
      const void *const inputs[2] = {l[0].input, l[1].input};
      const void *const wanted[2] = {expected[0], expected[1]};
      ok = lb_test_two_threads(run_dense, op, inputs, output, wanted, count * bytes, 8);
    }
    if (!ok) {
      char text[256];
      label(text, sizeof text, d, "two threads");
      fprintf(stderr, "FAIL %s\n", text);
    }
    lb_test_record(t, ok);
    lb_dense_destroy(op);
    for (int i = 0; i < 2; i++) {
      free(expected[i]);
      free(output[i]);
      layer_free(&l[i]);
    }
  }
}

/* ---- main ---------------------------------------------------------------------------------- */

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s bits ABITS (1..16) | shapes | overflow K (4608, 9216, 65536) | requantize |\n"
          "       weights | invalid | threads\n",
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
  uint64_t rng = 0xbb67ae8584caa73bu ^ arg;
  lb_test_tally t = {0, 0};
  if (strcmp(part, "bits") == 0 && arg >= 1 && arg <= 16) {
    part_bits((unsigned)arg, &t, &rng);
  } else if (strcmp(part, "overflow") == 0 && (arg == 4608 || arg == 9216 || arg == 65536)) {
    part_overflow(arg, &t, &rng);
  } else if (strcmp(part, "shapes") == 0) {
    part_shapes(&t, &rng);
  } else if (strcmp(part, "requantize") == 0) {
    part_requantize(&t, &rng);
  } else if (strcmp(part, "weights") == 0) {
    part_weights(&t, &rng);
  } else if (strcmp(part, "invalid") == 0) {
    part_invalid(&t, &rng);
  } else if (strcmp(part, "threads") == 0) {
    part_threads(&t, &rng);
  } else {
    return usage(argv[0]);
  }
  return lb_test_finish(&t);
}
