/* The activations a conv2d or dense operator reads (lowbit/operators.h, lb_input_kind): float
 * input quantized as it is packed, and codes with a zero point, where padding means the zero
 * point (a real zero). Expected sums: the values quantized by the test's own reference
 * (support/quantize.c), the border filled with the zero point by hand, and the plain reference
 * convolution of that padded image without padding; bipolar activations, which have no zero,
 * against the reference with padding skipped. Prints "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/conv_reference.h"
#include "support/operator_check.h"
#include "support/quantize.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct layer_shape {
  size_t batch, in_h, in_w, in_c, out_c;
  unsigned kh, kw, stride, dilation, pad;
  size_t groups;
} layer_shape;

/* Padded, strided, dilated, grouped, and the 1x1 unpadded layer that packs rows directly. */
static const layer_shape shapes[] = {
    {1, 7, 6, 5, 3, 3, 3, 1, 1, 1, 1}, {2, 9, 8, 8, 4, 3, 2, 2, 1, 1, 2},
    {1, 8, 8, 3, 5, 3, 3, 1, 2, 2, 1}, {2, 5, 4, 65, 7, 1, 1, 1, 1, 0, 1},
    {1, 6, 6, 4, 4, 3, 3, 1, 1, 1, 4},
};

static const lb_operand operands[] = {{1, LB_BIPOLAR},  {2, LB_UNSIGNED}, {3, LB_SIGNED},
                                      {8, LB_UNSIGNED}, {8, LB_SIGNED},   {16, LB_SIGNED}};

static lb_conv2d_desc desc_of(const layer_shape *s, lb_operand a, lb_operand w) {
  lb_conv2d_desc d;
  memset(&d, 0, sizeof d);
  d.batch = s->batch;
  d.in_h = s->in_h;
  d.in_w = s->in_w;
  d.in_c = s->in_c;
  d.out_c = s->out_c;
  d.kernel_h = s->kh;
  d.kernel_w = s->kw;
  d.stride_h = d.stride_w = s->stride;
  d.dilation_h = d.dilation_w = s->dilation;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = s->pad;
  d.groups = s->groups;
  d.a = a;
  d.w = w;
  d.strategy = LB_AUTO;
  d.threads = 2;
  d.output = LB_OUTPUT_SUMS;
  return d;
}

static lb_ref_conv2d_shape ref_shape(const lb_conv2d_desc *d) {
  return (lb_ref_conv2d_shape){d->batch,      d->in_h,       d->in_w,       d->in_c,
                               d->out_c,      d->kernel_h,   d->kernel_w,   d->stride_h,
                               d->stride_w,   d->dilation_h, d->dilation_w, d->pad_top,
                               d->pad_bottom, d->pad_left,   d->pad_right,  d->groups};
}

/* The sums a real-zero padding gives: bipolar values skip the padded taps (the reference's own
 * padding); any other operand reads its zero point there, which the test writes into a padded
 * copy of the values before a convolution without padding. */
static int expected_sums(const lb_conv2d_desc *d, const void *values, const void *weights,
                         int64_t *sums) {
  lb_ref_conv2d_shape s = ref_shape(d);
  if (d->a.encoding == LB_BIPOLAR) {
    return lb_ref_conv2d(&s, d->a, values, d->w, weights, sums);
  }
  const size_t ph = d->in_h + d->pad_top + d->pad_bottom, pw = d->in_w + d->pad_left + d->pad_right;
  const size_t bytes = lb_test_elem_bytes(d->a);
  unsigned char *padded = malloc(d->batch * ph * pw * d->in_c * bytes);
  if (padded == NULL) {
    return 0;
  }
  for (size_t i = 0; i < d->batch * ph * pw * d->in_c; i++) {
    lb_test_store_value(padded, i, d->a_zero_point, d->a);
  }
  for (size_t b = 0; b < d->batch; b++) {
    for (size_t y = 0; y < d->in_h; y++) {
      const size_t to = ((b * ph + y + d->pad_top) * pw + d->pad_left) * d->in_c;
      const size_t from = (b * d->in_h + y) * d->in_w * d->in_c;
      memcpy(padded + to * bytes, (const unsigned char *)values + from * bytes,
             d->in_w * d->in_c * bytes);
    }
  }
  s.in_h = ph;
  s.in_w = pw;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 0;
  const int ok = lb_ref_conv2d(&s, d->a, padded, d->w, weights, sums);
  free(padded);
  return ok;
}

/* One layer: float input (or codes) through the operator against the expected sums. */
static int check_layer(lb_conv2d_desc d, uint64_t *rng) {
  const lb_ref_conv2d_shape s = ref_shape(&d);
  const size_t inputs = lb_ref_conv2d_input_count(&s), outputs = lb_ref_conv2d_output_count(&s);
  void *values = lb_test_matrix(d.a, inputs, 1, 1, LB_FILL_RANDOM, rng);
  void *weights = lb_test_matrix(d.w, lb_ref_conv2d_weight_count(&s), 1, 1, LB_FILL_RANDOM, rng);
  float *floats = malloc(inputs * sizeof *floats);
  int64_t *sums = malloc(outputs * sizeof *sums);
  const lb_out_type type = lb_gemm_output_type(d.a, d.w, lb_ref_conv2d_k(&s));
  void *got = lb_test_output_alloc(outputs, type == LB_OUT_INT64 ? 8 : 4);
  int ok = values != NULL && weights != NULL && floats != NULL && sums != NULL && got != NULL;
  if (ok && d.input == LB_INPUT_FLOAT) {
    for (size_t i = 0; i < inputs; i++) {
      floats[i] = lb_test_random_float(d.a_scale, d.a_zero_point, d.a, rng);
      lb_test_store_value(values, i, lb_test_quantize(floats[i], d.a_scale, d.a_zero_point, d.a),
                          d.a);
    }
  }
  ok = ok && expected_sums(&d, values, weights, sums);
  lb_conv2d *op = NULL;
  char what[160];
  snprintf(what, sizeof what, "%s input a%u%c zero %d, %zux%zux%zu kernel %ux%u stride %u pad %u",
           d.input == LB_INPUT_FLOAT ? "float" : "codes", d.a.bits, (char)d.a.encoding,
           (int)d.a_zero_point, d.in_h, d.in_w, d.in_c, d.kernel_h, d.kernel_w, d.stride_h,
           d.pad_top);
  if (ok && lb_conv2d_create(&d, weights, &op) != LB_OK) {
    fprintf(stderr, "FAIL %s: create refused a valid descriptor\n", what);
    ok = 0;
  }
  if (ok) {
    const lb_status status =
        lb_conv2d_run(op, d.input == LB_INPUT_FLOAT ? (const void *)floats : values, got);
    const lb_test_output out = {LB_OUTPUT_SUMS, type, NULL, NULL};
    ok = status == LB_OK && lb_test_compare(&out, outputs / d.out_c, d.out_c, sums, got, what) &&
         lb_test_guard_intact(got, outputs, type == LB_OUT_INT64 ? 8 : 4);
    if (status != LB_OK) {
      fprintf(stderr, "FAIL %s: run returned %s\n", what, lb_status_string(status));
    }
  }
  lb_conv2d_destroy(op);
  free(values);
  free(weights);
  free(floats);
  free(sums);
  free(got);
  return ok;
}

/* A zero point near the middle of the operand's range, so that padding differs from 0. */
static int32_t middle_zero(lb_operand a) {
  if (a.encoding == LB_BIPOLAR) {
    return 0;
  }
  return (int32_t)((lb_test_min_value(a) + lb_test_max_value(a) + 1) / 2);
}

/* A dense layer with float input against the reference on the quantized values. */
static int check_dense(lb_operand a, uint64_t *rng) {
  const size_t batch = 3, in_c = 300, out_c = 5;
  const lb_operand w = {2, LB_SIGNED};
  lb_dense_desc d;
  memset(&d, 0, sizeof d);
  d.batch = batch;
  d.in_c = in_c;
  d.out_c = out_c;
  d.a = a;
  d.w = w;
  d.strategy = LB_AUTO;
  d.threads = 1;
  d.output = LB_OUTPUT_SUMS;
  d.input = LB_INPUT_FLOAT;
  d.a_scale = 0.125f;
  d.a_zero_point = middle_zero(a);
  void *values = lb_test_matrix(a, batch, in_c, in_c, LB_FILL_RANDOM, rng);
  void *weights = lb_test_matrix(w, out_c, in_c, in_c, LB_FILL_RANDOM, rng);
  float *floats = malloc(batch * in_c * sizeof *floats);
  int64_t sums[3 * 5];
  const lb_out_type type = lb_gemm_output_type(a, w, in_c);
  void *got = lb_test_output_alloc(batch * out_c, type == LB_OUT_INT64 ? 8 : 4);
  lb_dense *op = NULL;
  int ok = values != NULL && weights != NULL && floats != NULL && got != NULL;
  for (size_t i = 0; ok && i < batch * in_c; i++) {
    floats[i] = lb_test_random_float(d.a_scale, d.a_zero_point, a, rng);
    lb_test_store_value(values, i, lb_test_quantize(floats[i], d.a_scale, d.a_zero_point, a), a);
  }
  ok = ok && lb_ref_dense(batch, in_c, out_c, a, values, w, weights, sums) &&
       lb_dense_create(&d, weights, &op) == LB_OK && lb_dense_run(op, floats, got) == LB_OK;
  const lb_test_output out = {LB_OUTPUT_SUMS, type, NULL, NULL};
  char what[80];
  snprintf(what, sizeof what, "dense float input a%u%c", a.bits, (char)a.encoding);
  ok = ok && lb_test_compare(&out, batch, out_c, sums, got, what);
  if (!ok) {
    fprintf(stderr, "FAIL %s\n", what);
  }
  lb_dense_destroy(op);
  free(values);
  free(weights);
  free(floats);
  free(got);
  return ok;
}

/* Descriptors with a bad input kind, scale or zero point: refused, nothing allocated. */
static void check_invalid(lb_test_tally *t) {
  const lb_operand a = {4, LB_UNSIGNED}, w = {2, LB_SIGNED};
  const float scales[] = {0.0f, -1.0f, 1.0f / 0.0f, 0.0f / 0.0f};
  int8_t weights[3 * 3 * 5 * 3] = {0};
  for (size_t i = 0; i < COUNT(scales) + 4; i++) {
    lb_conv2d_desc d = desc_of(&shapes[0], a, w);
    d.input = LB_INPUT_FLOAT;
    d.a_scale = 1.0f;
    if (i < COUNT(scales)) {
      d.a_scale = scales[i];
    } else if (i == COUNT(scales)) {
      d.a_zero_point = 16; /* past 4-bit unsigned */
    } else if (i == COUNT(scales) + 1) {
      d.a_zero_point = -1;
    } else if (i == COUNT(scales) + 2) {
      d.input = (lb_input_kind)7;
    } else {
      d.a = (lb_operand){1, LB_BIPOLAR};
      d.a_zero_point = 1; /* bipolar values have no zero */
    }
    lb_conv2d *op = (lb_conv2d *)&weights; /* must stay as it is */
    const lb_status status = lb_conv2d_create(&d, weights, &op);
    const int ok = status == LB_INVALID_ARGUMENT && op == (lb_conv2d *)&weights;
    if (!ok) {
      fprintf(stderr, "FAIL invalid input case %zu: create returned %s\n", i,
              lb_status_string(status));
    }
    lb_test_record(t, ok);
  }
}

int main(void) {
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x6a09e667f3bcc908u;
  lb_test_tally tally = {0, 0};
  const lb_operand w = {2, LB_SIGNED};
  for (size_t s = 0; s < COUNT(shapes); s++) {
    for (size_t o = 0; o < COUNT(operands); o++) {
      lb_conv2d_desc d = desc_of(&shapes[s], operands[o], w);
      d.input = LB_INPUT_FLOAT;
      d.a_scale = 0.25f;
      lb_test_record(&tally, check_layer(d, &rng));
      d.a_zero_point = middle_zero(operands[o]);
      lb_test_record(&tally, check_layer(d, &rng));
      d.input = LB_INPUT_CODES;
      lb_test_record(&tally, check_layer(d, &rng));
    }
  }
  for (size_t o = 0; o < COUNT(operands); o++) {
    lb_test_record(&tally, check_dense(operands[o], &rng));
  }
  check_invalid(&tally);
  return lb_test_finish(&tally);
}
