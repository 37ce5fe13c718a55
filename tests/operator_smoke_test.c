/* A quick check of the conv2d and dense operators against a plain convolution in this file: one
 * case per path of the runtime (indirect and direct A packs, groups and depthwise, bipolar padding
 * on the XOR, AND and direct kernels, int64 sums, several units and threads, requantized and float
 * outputs, set_weights, concurrent runs, rejected descriptors). The full suite is
 * tests/conv2d_test.c and tests/dense_test.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/operators.h"
#include "support/operands.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct conv_case {
  const char *name;
  size_t batch, in_h, in_w, in_c, out_c, groups;
  unsigned kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int same; /* lb_conv2d_pad_same, else the explicit pads below */
  unsigned pad_top, pad_bottom, pad_left, pad_right;
  lb_operand a, w;
  lb_strategy_choice strategy;
  unsigned threads;
} conv_case;

static const conv_case cases[] = {
    {"3x3 same a2u w1u", 1,       7, 6, 5, 3, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, {2, LB_UNSIGNED},
     {1, LB_UNSIGNED},   LB_AUTO, 1},
    {"3x2 groups bipolar xor",
     2,
     9,
     8,
     4,
     6,
     2,
     3,
     2,
     2,
     1,
     1,
     2,
     0,
     1,
     0,
     2,
     1,
     {1, LB_BIPOLAR},
     {1, LB_BIPOLAR},
     LB_BITSERIAL,
     2},
    {"3x3 same bipolar direct",
     1,
     5,
     5,
     3,
     4,
     1,
     3,
     3,
     1,
     1,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     {1, LB_BIPOLAR},
     {2, LB_SIGNED},
     LB_DIRECT,
     1},
    {"7x7 dilated strided bipolar and",
     1,
     5,
     6,
     3,
     2,
     1,
     7,
     7,
     3,
     2,
     2,
     2,
     1,
     0,
     0,
     0,
     0,
     {1, LB_BIPOLAR},
     {1, LB_UNSIGNED},
     LB_BITSERIAL,
     1},
    {"depthwise a8s w8s", 1,       6, 6, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, {8, LB_SIGNED},
     {8, LB_SIGNED},      LB_AUTO, 2},
    {"1x1 direct rows groups",
     2,
     4,
     5,
     6,
     9,
     3,
     1,
     1,
     1,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     0,
     {3, LB_UNSIGNED},
     {3, LB_SIGNED},
     LB_AUTO,
     1},
    {"1x1 stride 2 a4s w4u",
     1,
     7,
     7,
     5,
     4,
     1,
     1,
     1,
     2,
     2,
     1,
     1,
     0,
     0,
     0,
     0,
     0,
     {4, LB_SIGNED},
     {4, LB_UNSIGNED},
     LB_AUTO,
     1},
    {"3x3 int64 sums a16s w16s",
     1,
     4,
     5,
     3,
     5,
     1,
     3,
     3,
     1,
     1,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     {16, LB_SIGNED},
     {16, LB_SIGNED},
     LB_AUTO,
     1},
    {"many units signed padding",
     2,
     20,
     21,
     3,
     5,
     1,
     3,
     3,
     1,
     2,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     {2, LB_SIGNED},
     {2, LB_SIGNED},
     LB_AUTO,
     2},
    {"many units bipolar",
     1,
     19,
     17,
     2,
     3,
     1,
     3,
     3,
     1,
     1,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     {1, LB_BIPOLAR},
     {1, LB_BIPOLAR},
     LB_AUTO,
     2},
    /* 9 rows for 2 threads: units split the 40 channels too. */
    {"column blocks bipolar",
     1,
     3,
     3,
     3,
     40,
     1,
     3,
     3,
     1,
     1,
     1,
     1,
     1,
     0,
     0,
     0,
     0,
     {1, LB_BIPOLAR},
     {2, LB_UNSIGNED},
     LB_AUTO,
     2},
};
#define COLUMN_BLOCKS_CASE 10

typedef struct conv_data {
  lb_conv2d_desc desc;
  size_t out_h, out_w, input_count, weight_count, output_count;
  void *input, *weights;
  int64_t *expected;
} conv_data;

static void describe(const conv_case *c, lb_conv2d_desc *d) {
  *d = (lb_conv2d_desc){.batch = c->batch,
                        .in_h = c->in_h,
                        .in_w = c->in_w,
                        .in_c = c->in_c,
                        .out_c = c->out_c,
                        .kernel_h = c->kernel_h,
                        .kernel_w = c->kernel_w,
                        .stride_h = c->stride_h,
                        .stride_w = c->stride_w,
                        .dilation_h = c->dilation_h,
                        .dilation_w = c->dilation_w,
                        .pad_top = c->pad_top,
                        .pad_bottom = c->pad_bottom,
                        .pad_left = c->pad_left,
                        .pad_right = c->pad_right,
                        .groups = c->groups,
                        .a = c->a,
                        .w = c->w,
                        .strategy = c->strategy,
                        .threads = c->threads,
                        .output = LB_OUTPUT_SUMS};
  if (c->same) {
    lb_conv2d_pad_same(d);
  }
}

/* The convolution of the zero-padded input, straight from its definition. */
static void reference(const lb_conv2d_desc *d, size_t out_h, size_t out_w, const int64_t *input,
                      const int64_t *weights, int64_t *out) {
  const size_t gin = d->in_c / d->groups, gout = d->out_c / d->groups;
  for (size_t b = 0; b < d->batch; b++) {
    for (size_t oy = 0; oy < out_h; oy++) {
      for (size_t ox = 0; ox < out_w; ox++) {
        for (size_t oc = 0; oc < d->out_c; oc++) {
          int64_t sum = 0;
          for (size_t ky = 0; ky < d->kernel_h; ky++) {
            const long iy = (long)(oy * d->stride_h + ky * d->dilation_h) - (long)d->pad_top;
            for (size_t kx = 0; kx < d->kernel_w; kx++) {
              const long ix = (long)(ox * d->stride_w + kx * d->dilation_w) - (long)d->pad_left;
              if (iy < 0 || ix < 0 || iy >= (long)d->in_h || ix >= (long)d->in_w) {
                continue;
              }
              for (size_t c = 0; c < gin; c++) {
                sum += input[((b * d->in_h + (size_t)iy) * d->in_w + (size_t)ix) * d->in_c +
                             oc / gout * gin + c] *
                       weights[((oc * d->kernel_h + ky) * d->kernel_w + kx) * gin + c];
              }
            }
          }
          out[((b * out_h + oy) * out_w + ox) * d->out_c + oc] = sum;
        }
      }
    }
  }
}

static int64_t *decoded(lb_operand op, const void *m, size_t count) {
  int64_t *values = malloc(count * sizeof *values);
  if (values != NULL) {
    lb_test_decode(op, m, 0, count, values);
  }
  return values;
}

/* Random operands and the expected sums of one case; 0 if out of memory. */
static int prepare(const conv_case *c, conv_data *data, uint64_t *rng) {
  memset(data, 0, sizeof *data);
  describe(c, &data->desc);
  const lb_conv2d_desc *d = &data->desc;
  data->out_h = lb_conv2d_out_h(d);
  data->out_w = lb_conv2d_out_w(d);
  data->input_count = d->batch * d->in_h * d->in_w * d->in_c;
  data->weight_count = d->out_c * d->kernel_h * d->kernel_w * (d->in_c / d->groups);
  data->output_count = d->batch * data->out_h * data->out_w * d->out_c;
  data->input = lb_test_matrix(d->a, 1, data->input_count, data->input_count, LB_FILL_RANDOM, rng);
  data->weights =
      lb_test_matrix(d->w, 1, data->weight_count, data->weight_count, LB_FILL_RANDOM, rng);
  data->expected = malloc(data->output_count * sizeof *data->expected);
  int64_t *input = decoded(d->a, data->input, data->input_count);
  int64_t *weights = decoded(d->w, data->weights, data->weight_count);
  const int ok = data->input != NULL && data->weights != NULL && data->expected != NULL &&
                 input != NULL && weights != NULL;
  if (ok) {
    reference(d, data->out_h, data->out_w, input, weights, data->expected);
  }
  free(input);
  free(weights);
  return ok;
}

static void release(conv_data *data) {
  free(data->input);
  free(data->weights);
  free(data->expected);
}

static size_t sum_bytes(const conv_data *data) {
  const lb_conv2d_desc *d = &data->desc;
  return lb_gemm_output_type(d->a, d->w, d->kernel_h * d->kernel_w * (d->in_c / d->groups)) ==
                 LB_OUT_INT64
             ? sizeof(int64_t)
             : sizeof(int32_t);
}

static int64_t sum_at(const void *out, size_t bytes, size_t i) {
  return bytes == sizeof(int64_t) ? ((const int64_t *)out)[i] : ((const int32_t *)out)[i];
}

/* 1 when every output sum equals the reference; prints the first difference. */
static int sums_match(const char *name, const conv_data *data, const void *out) {
  for (size_t i = 0; i < data->output_count; i++) {
    const int64_t got = sum_at(out, sum_bytes(data), i);
    if (got != data->expected[i]) {
      fprintf(stderr, "FAIL %s: output %zu is %lld, expected %lld\n", name, i, (long long)got,
              (long long)data->expected[i]);
      return 0;
    }
  }
  return 1;
}

static int check_sums(const conv_case *c, uint64_t *rng) {
  conv_data data;
  lb_conv2d *op = NULL;
  void *out = NULL;
  int ok = prepare(c, &data, rng);
  if (ok) {
    out = malloc(data.output_count * sum_bytes(&data));
    ok = out != NULL && lb_conv2d_create(&data.desc, data.weights, &op) == LB_OK &&
         lb_conv2d_run(op, data.input, out) == LB_OK && sums_match(c->name, &data, out);
    if (ok) {
      printf("ok %s (%s)\n", c->name, lb_conv2d_kernel(op)->name);
    } else {
      fprintf(stderr, "FAIL %s\n", c->name);
    }
  }
  lb_conv2d_destroy(op);
  free(out);
  release(&data);
  return ok;
}

/* round(s * m / 2^(31 + shift)), ties away from zero, for sums where the product fits int64. */
static int64_t requantized(int64_t sum, int32_t multiplier, int shift) {
  const int64_t product = sum * multiplier;
  const unsigned n = (unsigned)(31 + shift);
  const int64_t magnitude = product < 0 ? -product : product;
  const int64_t rounded = n == 0 ? magnitude : (magnitude + ((int64_t)1 << (n - 1))) >> n;
  return product < 0 ? -rounded : rounded;
}

static int64_t clamped(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Requantized codes (unsigned with a ReLU-like clamp, and bipolar by the sign rule) and floats,
 * from a case with bipolar padding and two groups and one whose units split the columns. */
static int check_output_stages(const conv_case *c, uint64_t *rng) {
  conv_data data;
  if (!prepare(c, &data, rng)) {
    release(&data);
    return 0;
  }
  const size_t out_c = data.desc.out_c;
  int32_t multiplier[40], bias[40];
  int8_t shift[40];
  float scale[40], float_bias[40];
  for (size_t oc = 0; oc < out_c; oc++) {
    multiplier[oc] = (int32_t)((1u << 30) + (uint32_t)(lb_test_random(rng) >> 34));
    shift[oc] = (int8_t)((int)(oc % 3) - 2); /* -2..0: scales from 1 to 4 */
    bias[oc] = (int32_t)oc - 3;
    scale[oc] = 0.25f * (float)(oc % 6 + 1);
    float_bias[oc] = (float)oc - 1.5f;
  }
  int ok = 1;
  const lb_operand outs[] = {{4, LB_UNSIGNED}, {1, LB_BIPOLAR}, {9, LB_SIGNED}};
  const int32_t clamps[][2] = {{0, 6}, {-1, 1}, {-200, 255}};
  for (size_t o = 0; o < COUNT(outs) && ok; o++) {
    lb_conv2d_desc desc = data.desc;
    desc.output = LB_OUTPUT_CODES;
    desc.requantize =
        (lb_requantize){outs[o], multiplier, shift, bias, 1, clamps[o][0], clamps[o][1]};
    lb_conv2d *op = NULL;
    const size_t bytes = outs[o].bits <= 8 ? 1 : 2;
    void *out = malloc(data.output_count * bytes);
    int64_t *codes = malloc(data.output_count * sizeof *codes);
    ok = out != NULL && codes != NULL && lb_conv2d_create(&desc, data.weights, &op) == LB_OK &&
         lb_conv2d_run(op, data.input, out) == LB_OK;
    if (ok) {
      lb_test_decode(outs[o], out, 0, data.output_count, codes);
    }
    for (size_t i = 0; ok && i < data.output_count; i++) {
      const size_t oc = i % out_c;
      int64_t q = requantized(data.expected[i], multiplier[oc], shift[oc]) + bias[oc] + 1;
      if (outs[o].encoding == LB_BIPOLAR) {
        q = q >= 0 ? 1 : -1;
      }
      q = clamped(q, clamps[o][0], clamps[o][1]);
      if (codes[i] != q) {
        fprintf(stderr, "FAIL codes %u%c: output %zu is %lld, expected %lld\n", outs[o].bits,
                outs[o].encoding, i, (long long)codes[i], (long long)q);
        ok = 0;
      }
    }
    lb_conv2d_destroy(op);
    free(out);
    free(codes);
  }

  lb_conv2d_desc desc = data.desc;
  desc.output = LB_OUTPUT_FLOAT;
  desc.float_out = (lb_float_output){scale, float_bias};
  lb_conv2d *op = NULL;
  float *out = malloc(data.output_count * sizeof *out);
  ok = ok && out != NULL && lb_conv2d_create(&desc, data.weights, &op) == LB_OK &&
       lb_conv2d_run(op, data.input, out) == LB_OK;
  for (size_t i = 0; ok && i < data.output_count; i++) {
    const size_t oc = i % out_c;
    const float expected = (float)data.expected[i] * scale[oc] + float_bias[oc];
    if (out[i] != expected) { /* exact: small sums, scales of a few bits */
      fprintf(stderr, "FAIL float: output %zu is %g, expected %g\n", i, out[i], expected);
      ok = 0;
    }
  }
  lb_conv2d_destroy(op);
  free(out);
  release(&data);
  printf("%s output stages of %s (codes u4, b1, s9; float)\n", ok ? "ok" : "FAIL", c->name);
  return ok;
}

#ifdef __SIZEOF_INT128__
/* int64 sums through the requantization's 96-bit product: 16-bit x 16-bit sums over K = 9 * 3
 * reach 2^35, times a multiplier of 2^31, past int64. */
static int check_wide_requantize(uint64_t *rng) {
  const conv_case *c = &cases[7];
  conv_data data;
  int ok = prepare(c, &data, rng);
  int32_t multiplier[5];
  int8_t shift[5];
  for (size_t oc = 0; oc < COUNT(multiplier); oc++) {
    multiplier[oc] = INT32_MAX - (int32_t)oc;
    shift[oc] = (int8_t)(18 + oc); /* results near 2^13: some saturate, most do not */
  }
  lb_conv2d_desc desc = data.desc;
  desc.output = LB_OUTPUT_CODES;
  desc.requantize =
      (lb_requantize){{16, LB_SIGNED}, multiplier, shift, NULL, 0, INT16_MIN, INT16_MAX};
  lb_conv2d *op = NULL;
  int16_t *out = ok ? malloc(data.output_count * sizeof *out) : NULL;
  ok = out != NULL && lb_conv2d_create(&desc, data.weights, &op) == LB_OK &&
       lb_conv2d_run(op, data.input, out) == LB_OK;
  for (size_t i = 0; ok && i < data.output_count; i++) {
    const size_t oc = i % desc.out_c;
    const __int128 product = (__int128)data.expected[i] * multiplier[oc];
    const __int128 magnitude = product < 0 ? -product : product;
    const unsigned n = 31u + (unsigned)shift[oc];
    const __int128 rounded = (magnitude + ((__int128)1 << (n - 1))) >> n;
    const int64_t q = clamped((int64_t)(product < 0 ? -rounded : rounded), INT16_MIN, INT16_MAX);
    if (out[i] != q) {
      fprintf(stderr, "FAIL wide requantize: output %zu is %d, expected %lld\n", i, out[i],
              (long long)q);
      ok = 0;
    }
  }
  lb_conv2d_destroy(op);
  free(out);
  release(&data);
  printf("%s requantize of int64 sums\n", ok ? "ok" : "FAIL");
  return ok;
}
#endif

/* New weights through set_weights give the sums of the new weights. */
static int check_set_weights(uint64_t *rng) {
  const conv_case *c = &cases[3];
  conv_data first, second;
  int ok = prepare(c, &first, rng) && prepare(c, &second, rng);
  lb_conv2d *op = NULL;
  void *out = ok ? malloc(first.output_count * sum_bytes(&first)) : NULL;
  ok = out != NULL && lb_conv2d_create(&first.desc, first.weights, &op) == LB_OK &&
       lb_conv2d_set_weights(op, second.weights) == LB_OK &&
       lb_conv2d_run(op, second.input, out) == LB_OK && sums_match("set_weights", &second, out);
  lb_conv2d_destroy(op);
  free(out);
  release(&first);
  release(&second);
  printf("%s set_weights\n", ok ? "ok" : "FAIL");
  return ok;
}

typedef struct concurrent_run {
  const lb_conv2d *op;
  const void *input;
  void *output;
  lb_status status;
} concurrent_run;

static void *run_thread(void *argument) {
  concurrent_run *run = argument;
  run->status = lb_conv2d_run(run->op, run->input, run->output);
  return NULL;
}

/* Two threads run one operator at once on their own buffers. */
static int check_concurrent_runs(uint64_t *rng) {
  const conv_case *c = &cases[8];
  conv_data data[2];
  int ok = prepare(c, &data[0], rng) && prepare(c, &data[1], rng);
  lb_conv2d *op = NULL;
  concurrent_run runs[2] = {{0}, {0}};
  pthread_t threads[2];
  ok = ok && lb_conv2d_create(&data[0].desc, data[0].weights, &op) == LB_OK;
  for (int t = 0; ok && t < 2; t++) {
    runs[t] = (concurrent_run){
        op, data[t].input, malloc(data[t].output_count * sum_bytes(&data[t])), LB_INVALID_ARGUMENT};
    ok = runs[t].output != NULL;
  }
  /* The second input's sums are those of the first weights, which the operator holds. */
  if (ok) {
    int64_t *input = decoded(data[1].desc.a, data[1].input, data[1].input_count);
    int64_t *weights = decoded(data[0].desc.w, data[0].weights, data[0].weight_count);
    ok = input != NULL && weights != NULL;
    if (ok) {
      reference(&data[1].desc, data[1].out_h, data[1].out_w, input, weights, data[1].expected);
    }
    free(input);
    free(weights);
  }
  for (int t = 0; ok && t < 2; t++) {
    ok = pthread_create(&threads[t], NULL, run_thread, &runs[t]) == 0;
    if (!ok) {
      for (int u = 0; u < t; u++) {
        pthread_join(threads[u], NULL);
      }
    }
  }
  for (int t = 0; ok && t < 2; t++) {
    pthread_join(threads[t], NULL);
  }
  for (int t = 0; ok && t < 2; t++) {
    ok = runs[t].status == LB_OK && sums_match("concurrent", &data[t], runs[t].output);
  }
  free(runs[0].output);
  free(runs[1].output);
  lb_conv2d_destroy(op);
  release(&data[0]);
  release(&data[1]);
  printf("%s concurrent runs\n", ok ? "ok" : "FAIL");
  return ok;
}

/* Dense layers against the same reference as 1x1 convolutions of a 1x1 image: a small batch,
 * and batch 1 with enough channels for its units to split them. */
static int check_dense(size_t batch, size_t in_c, size_t out_c, lb_operand a, lb_operand w,
                       uint64_t *rng) {
  const lb_dense_desc desc = {.batch = batch,
                              .in_c = in_c,
                              .out_c = out_c,
                              .a = a,
                              .w = w,
                              .strategy = LB_AUTO,
                              .threads = 2,
                              .output = LB_OUTPUT_SUMS};
  const conv_case as_conv = {"dense", batch, 1, 1, in_c, out_c, 1, 1, 1, 1,       1,
                             1,       1,     0, 0, 0,    0,     0, a, w, LB_AUTO, 2};
  conv_data data;
  lb_dense *op = NULL;
  int ok = prepare(&as_conv, &data, rng);
  void *out = ok ? malloc(data.output_count * sum_bytes(&data)) : NULL;
  ok = out != NULL && lb_dense_create(&desc, data.weights, &op) == LB_OK &&
       lb_dense_run(op, data.input, out) == LB_OK && sums_match("dense", &data, out);
  printf("%s dense %zu x %zu -> %zu (%s)\n", ok ? "ok" : "FAIL", batch, in_c, out_c,
         op != NULL ? lb_dense_kernel(op)->name : "not created");
  lb_dense_destroy(op);
  free(out);
  release(&data);
  return ok;
}

/* Bad descriptors and pointers are refused without touching *op or the output. */
static int check_rejections(uint64_t *rng) {
  conv_data data;
  int ok = prepare(&cases[0], &data, rng);
  lb_conv2d_desc bad[6];
  for (size_t i = 0; i < COUNT(bad); i++) {
    bad[i] = data.desc;
  }
  bad[0].groups = 2;     /* does not divide in_c = 5 */
  bad[1].kernel_w = 8;   /* above 7 */
  bad[2].stride_h = 0;   /* below 1 */
  bad[3].dilation_w = 5; /* above 4 */
  lb_conv2d_pad_valid(&bad[4]);
  bad[4].in_h = 2; /* smaller than the 3x3 kernel */
  bad[5].a.bits = 17;
  lb_conv2d *sentinel = (lb_conv2d *)&data;
  for (size_t i = 0; ok && i < COUNT(bad); i++) {
    lb_conv2d *op = sentinel;
    ok = lb_conv2d_create(&bad[i], data.weights, &op) == LB_INVALID_ARGUMENT && op == sentinel;
    if (!ok) {
      fprintf(stderr, "FAIL rejection %zu\n", i);
    }
  }
  lb_conv2d *op = NULL;
  unsigned char out[4] = {0xa5, 0xa5, 0xa5, 0xa5};
  int refused[7];
  refused[0] = lb_conv2d_out_h(&bad[4]) == 0;
  refused[1] = lb_conv2d_out_w(&bad[5]) == 0;
  refused[2] = lb_conv2d_create(&data.desc, NULL, &op) == LB_INVALID_ARGUMENT && op == NULL;
  refused[3] = lb_conv2d_create(&data.desc, data.weights, &op) == LB_OK;
  refused[4] = lb_conv2d_run(op, NULL, out) == LB_INVALID_ARGUMENT && out[0] == 0xa5;
  refused[5] = lb_conv2d_run(op, data.input, NULL) == LB_INVALID_ARGUMENT;
  refused[6] = lb_conv2d_set_weights(op, NULL) == LB_INVALID_ARGUMENT;
  for (size_t i = 0; i < COUNT(refused); i++) {
    if (!refused[i]) {
      fprintf(stderr, "FAIL refusal %zu\n", i);
      ok = 0;
    }
  }
  lb_conv2d_destroy(op);
  release(&data);
  printf("%s rejections\n", ok ? "ok" : "FAIL");
  return ok;
}

int main(void) {
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x452821e638d01377u;
  int results[COUNT(cases) + 8];
  size_t checks = 0;
  for (size_t i = 0; i < COUNT(cases); i++) {
    results[checks++] = check_sums(&cases[i], &rng);
  }
  results[checks++] = check_output_stages(&cases[1], &rng);
  results[checks++] = check_output_stages(&cases[COLUMN_BLOCKS_CASE], &rng);
#ifdef __SIZEOF_INT128__
  results[checks++] = check_wide_requantize(&rng);
#else
  printf("skipped requantize of int64 sums: no 128-bit integers for the reference\n");
#endif
  results[checks++] = check_set_weights(&rng);
  results[checks++] = check_concurrent_runs(&rng);
  results[checks++] =
      check_dense(3, 37, 11, (lb_operand){4, LB_UNSIGNED}, (lb_operand){2, LB_SIGNED}, &rng);
  results[checks++] =
      check_dense(1, 300, 70, (lb_operand){1, LB_BIPOLAR}, (lb_operand){1, LB_BIPOLAR}, &rng);
  results[checks++] = check_rejections(&rng);
  size_t passed = 0;
  for (size_t i = 0; i < checks; i++) {
    passed += results[i] != 0;
  }
  /* The line scripts/count-cases.sh sums. */
  printf("%zu passed, %zu failed\n", passed, checks - passed);
  return passed == checks ? 0 : 1;
}
