/* The conv2d reference (support/conv_reference.c) checked before any operator relies on it:
 * - conv == lb_gemm on an im2col matrix built here, one GEMM per group, padding as zero elements,
 *   on shapes with stride, dilation, asymmetric padding, groups, depthwise, non-square kernels and
 *   batch > 1, for unsigned and signed operands;
 * - bipolar data: without padding the same im2col GEMM in bipolar codes; with padding the same
 *   bytes read as 2-bit signed values (+1/-1 are the same int8 elements), where im2col can hold a
 *   real zero, so borders equal the zero-padded real-valued convolution;
 * - dense == lb_gemm;
 * - requantization against round() in double where the product is exact in double, and against
 *   worked examples at the int64 end; the float tolerance accepts each order of evaluation and
 *   rejects an error of four times itself.
 * Runs on every target today: it needs lb_gemm, not the operators. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/lowbit.h"
#include "support/conv_reference.h"
#include "support/operands.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct tally {
  size_t passed, failed;
} tally;

static void record(tally *t, int ok) {
  if (ok) {
    t->passed++;
  } else {
    t->failed++;
  }
}

/* batch, in_h, in_w, in_c, out_c, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups */
static const lb_ref_conv2d_shape padded_shapes[] = {
    {1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* SAME 3x3 */
    {2, 7, 6, 5, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  /* stride 2, batch 2 */
    {1, 7, 7, 4, 6, 2, 5, 1, 2, 1, 1, 0, 1, 2, 2, 2},  /* 2x5, asymmetric, 2 groups */
    {1, 13, 9, 6, 6, 3, 3, 1, 1, 2, 3, 2, 2, 3, 3, 6}, /* depthwise, dilation 2x3 */
    {1, 6, 8, 65, 5, 1, 3, 3, 1, 1, 1, 0, 0, 1, 0, 1}, /* 1x3, stride 3x1, one side */
    {2, 4, 5, 2, 2, 3, 1, 1, 1, 1, 1, 2, 0, 0, 0, 2},  /* 3x1, top only, depthwise */
    {1, 2, 2, 3, 2, 7, 7, 4, 4, 1, 1, 3, 3, 3, 3, 1},  /* 7x7 on 2x2: mostly padding */
};
static const lb_ref_conv2d_shape valid_shapes[] = {
    {1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {2, 9, 7, 6, 4, 2, 3, 2, 1, 2, 2, 0, 0, 0, 0, 2},
    {1, 3, 3, 130, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
};
static const lb_operand unipolar_pairs[][2] = {
    {{1, LB_UNSIGNED}, {1, LB_UNSIGNED}}, {{2, LB_UNSIGNED}, {1, LB_SIGNED}},
    {{3, LB_SIGNED}, {2, LB_UNSIGNED}},   {{8, LB_SIGNED}, {8, LB_SIGNED}},
    {{16, LB_SIGNED}, {5, LB_UNSIGNED}},  {{12, LB_UNSIGNED}, {16, LB_SIGNED}},
};

static void describe_shape(const lb_ref_conv2d_shape *s, lb_operand a, lb_operand w) {
  fprintf(stderr,
          "  a%u%c w%u%c batch %zu in %zux%zux%zu out_c %zu kernel %zux%zu stride %zux%zu "
          "dilation %zux%zu pad %zu/%zu/%zu/%zu groups %zu\n",
          a.bits, (char)a.encoding, w.bits, (char)w.encoding, s->batch, s->in_h, s->in_w, s->in_c,
          s->out_c, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w, s->dilation_h,
          s->dilation_w, s->pad_top, s->pad_bottom, s->pad_left, s->pad_right, s->groups);
}

/* The im2col rows of group g: row (b, oh, ow) holds taps (kh, kw, c) of that group's channels,
 * zero elements where the tap is padding. Bytes are copied, so the values keep their encoding. */
static void im2col(const lb_ref_conv2d_shape *s, size_t elem, const unsigned char *input, size_t g,
                   unsigned char *cols) {
  const size_t oh_count = lb_ref_conv2d_out_h(s), ow_count = lb_ref_conv2d_out_w(s);
  const size_t cg = s->in_c / s->groups;
  unsigned char *out = cols;
  for (size_t b = 0; b < s->batch; b++) {
    for (size_t oh = 0; oh < oh_count; oh++) {
      for (size_t ow = 0; ow < ow_count; ow++) {
        for (size_t kh = 0; kh < s->kernel_h; kh++) {
          for (size_t kw = 0; kw < s->kernel_w; kw++) {
            const long ih = (long)(oh * s->stride_h + kh * s->dilation_h) - (long)s->pad_top;
            const long iw = (long)(ow * s->stride_w + kw * s->dilation_w) - (long)s->pad_left;
            if (ih < 0 || iw < 0 || ih >= (long)s->in_h || iw >= (long)s->in_w) {
              memset(out, 0, cg * elem);
            } else {
              const size_t pixel = (b * s->in_h + (size_t)ih) * s->in_w + (size_t)iw;
              memcpy(out, input + (pixel * s->in_c + g * cg) * elem, cg * elem);
            }
            out += cg * elem;
          }
        }
      }
    }
  }
}

/* The reference sums of (aref, wop) against lb_gemm of (agemm, wop) on im2col of the same bytes.
 * agemm differs from aref only for bipolar data read as 2-bit signed. */
static int check_conv(const lb_ref_conv2d_shape *s, lb_operand aref, lb_operand agemm,
                      lb_operand wop, uint64_t *rng) {
  const size_t m = s->batch * lb_ref_conv2d_out_h(s) * lb_ref_conv2d_out_w(s);
  const size_t k = lb_ref_conv2d_k(s), og = s->out_c / s->groups;
  const size_t elem = lb_test_elem_bytes(agemm);
  unsigned char *input = lb_test_matrix(aref, 1, lb_ref_conv2d_input_count(s),
                                        lb_ref_conv2d_input_count(s), LB_FILL_RANDOM, rng);
  unsigned char *weights = lb_test_matrix(wop, s->out_c, k, k, LB_FILL_RANDOM, rng);
  int64_t *sums = malloc(m * s->out_c * sizeof(int64_t));
  unsigned char *cols = malloc(m * k * elem);
  int64_t *c = malloc(m * og * sizeof(int64_t));
  int ok = input != NULL && weights != NULL && sums != NULL && cols != NULL && c != NULL && m > 0;
  if (!ok || !lb_ref_conv2d(s, aref, input, wop, weights, sums)) {
    fprintf(stderr, "FAIL out of memory or no output\n");
    describe_shape(s, aref, wop);
    ok = 0;
  }
  const lb_out_type out = lb_gemm_output_type(agemm, wop, k);
  const lb_gemm_desc desc = {agemm, wop, LB_AUTO, NULL, 1};
  for (size_t g = 0; g < s->groups && ok; g++) {
    im2col(s, elem, input, g, cols);
    const void *wg = weights + g * og * k * lb_test_elem_bytes(wop);
    const lb_status st = lb_gemm(&desc, m, og, k, cols, k, wg, k, c, og);
    if (st != LB_OK) {
      fprintf(stderr, "FAIL lb_gemm: %s\n", lb_status_string(st));
      describe_shape(s, aref, wop);
      ok = 0;
      break;
    }
    for (size_t i = 0; i < m && ok; i++) {
      for (size_t j = 0; j < og; j++) {
        const int64_t got = out == LB_OUT_INT32 ? ((const int32_t *)c)[i * og + j] : c[i * og + j];
        const int64_t want = sums[i * s->out_c + g * og + j];
        if (got != want) {
          fprintf(stderr,
                  "FAIL reference conv %" PRId64 " != im2col GEMM %" PRId64
                  " at row %zu channel %zu\n",
                  want, got, i, g * og + j);
          describe_shape(s, aref, wop);
          ok = 0;
          break;
        }
      }
    }
  }
  free(input);
  free(weights);
  free(sums);
  free(cols);
  free(c);
  return ok;
}

static int check_dense(size_t batch, size_t in_c, size_t out_c, lb_operand a, lb_operand w,
                       uint64_t *rng) {
  void *input = lb_test_matrix(a, batch, in_c, in_c, LB_FILL_RANDOM, rng);
  void *weights = lb_test_matrix(w, out_c, in_c, in_c, LB_FILL_RANDOM, rng);
  int64_t *sums = malloc(batch * out_c * sizeof(int64_t));
  int64_t *c = malloc(batch * out_c * sizeof(int64_t));
  int ok = input != NULL && weights != NULL && sums != NULL && c != NULL &&
           lb_ref_dense(batch, in_c, out_c, a, input, w, weights, sums);
  const lb_gemm_desc desc = {a, w, LB_AUTO, NULL, 1};
  ok = ok && lb_gemm(&desc, batch, out_c, in_c, input, in_c, weights, in_c, c, out_c) == LB_OK;
  const lb_out_type out = lb_gemm_output_type(a, w, in_c);
  for (size_t i = 0; i < batch * out_c && ok; i++) {
    const int64_t got = out == LB_OUT_INT32 ? ((const int32_t *)c)[i] : c[i];
    if (got != sums[i]) {
      fprintf(
          stderr, "FAIL dense a%u%c w%u%c %zux%zu->%zu: element %zu %" PRId64 " != %" PRId64 "\n",
          a.bits, (char)a.encoding, w.bits, (char)w.encoding, batch, in_c, out_c, i, sums[i], got);
      ok = 0;
    }
  }
  free(input);
  free(weights);
  free(sums);
  free(c);
  return ok;
}

/* round(sum * multiplier / 2^(31 + shift)) in double with C's round(), which rounds halfway cases
 * away from zero: exact when |sum * multiplier| < 2^53. */
static int64_t requantize_double(int64_t sum, int32_t multiplier, int shift, int32_t bias,
                                 int32_t zero_point, int32_t lo, int32_t hi) {
  const double scaled = ldexp((double)sum * (double)multiplier, -(31 + shift));
  double q = round(scaled) + (double)bias + (double)zero_point;
  q = q < lo ? lo : q > hi ? hi : q;
  return (int64_t)q;
}

static int check_requantize(int64_t sum, int32_t m, int shift, int32_t bias, int32_t zp, int32_t lo,
                            int32_t hi, int64_t want) {
  const int64_t got = lb_ref_requantize(sum, m, shift, bias, zp, lo, hi);
  if (got != want) {
    fprintf(stderr,
            "FAIL requantize(%" PRId64 ", %" PRId32 ", shift %d, bias %" PRId32 ", zp %" PRId32
            ", [%" PRId32 ", %" PRId32 "]) = %" PRId64 ", expected %" PRId64 "\n",
            sum, m, shift, bias, zp, lo, hi, got, want);
    return 0;
  }
  return 1;
}

static int64_t random_in(uint64_t *rng, int64_t lo, int64_t hi) {
  return lo + (int64_t)(lb_test_random(rng) % (uint64_t)(hi - lo + 1));
}

static void requantize_checks(tally *t, uint64_t *rng) {
  const int32_t half = INT32_C(1) << 30; /* 0.5 in Q31 */
  /* Worked by hand: multiplier 0.5 with shift 0 halves, so odd sums land on .5. */
  record(t, check_requantize(3, half, 0, 0, 0, -100, 100, 2));   /* 1.5 -> 2 */
  record(t, check_requantize(-3, half, 0, 0, 0, -100, 100, -2)); /* -1.5 -> -2 */
  record(t, check_requantize(1, half, 0, 0, 0, -100, 100, 1));   /* 0.5 -> 1, not 0 (even) */
  record(t, check_requantize(-1, half, 0, 0, 0, -100, 100, -1)); /* -0.5 -> -1, not 0 (up) */
  record(t, check_requantize(5, half, 1, 0, 0, -100, 100, 1));   /* 1.25 -> 1 */
  record(t, check_requantize(5, half, 0, 7, -3, -100, 100, 7));  /* 2.5 -> 3, + 7 - 3 */
  record(t, check_requantize(100, half, 0, 0, 0, -8, 7, 7));     /* 50 clamps to the top */
  record(t, check_requantize(-100, half, 0, 0, 0, -8, 7, -8));   /* -50 clamps to the bottom */
  record(t,
         check_requantize(1, half, -31, 0, 0, INT32_MIN, INT32_MAX, INT64_C(1) << 30)); /* n = 0 */
  /* int64 sums, where sum * multiplier needs more than 64 bits: 3 * 2^40 * 2^30 / 2^71 = 1.5. */
  record(t, check_requantize(INT64_C(3) << 40, half, 40, 0, 0, -100, 100, 2));
  record(t, check_requantize(-(INT64_C(3) << 40), half, 40, 0, 0, -100, 100, -2));
  record(t, check_requantize((INT64_C(3) << 40) - 1, half, 40, 0, 0, -100, 100, 1));
  record(t, check_requantize(INT64_C(1) << 46, INT32_MAX, -31, 0, 0, -32768, 32767, 32767));
  record(t, check_requantize(INT64_MIN, INT32_MAX, -31, 0, 0, -32768, 32767, -32768));
  record(t, check_requantize(INT64_MAX, INT32_MAX, 100, 5, 0, -32768, 32767, 5)); /* n > 95: 0 */

  /* Random int32 sums (|sum * m| < 2^53 by keeping |sum| < 2^22) and every shift that matters. */
  for (int i = 0; i < 2000; i++) {
    const int64_t sum = random_in(rng, -(INT64_C(1) << 22), INT64_C(1) << 22);
    const int32_t m = (int32_t)random_in(rng, INT64_C(1) << 30, (INT64_C(1) << 31) - 1);
    const int shift = (int)random_in(rng, -31, 40);
    const int32_t bias = (int32_t)random_in(rng, -1000, 1000);
    const int32_t zp = (int32_t)random_in(rng, -128, 127);
    record(t, check_requantize(sum, m, shift, bias, zp, -32768, 32767,
                               requantize_double(sum, m, shift, bias, zp, -32768, 32767)));
  }
  /* Random int64 sums up to 2^45 with multipliers of 8 significant bits: the product has at most
   * 53 significant bits, so double is exact, yet it exceeds 2^64 for large sums. */
  for (int i = 0; i < 2000; i++) {
    const int64_t sum = random_in(rng, -(INT64_C(1) << 45), INT64_C(1) << 45);
    const int32_t m = (int32_t)(random_in(rng, 128, 255) << 23);
    const int shift = (int)random_in(rng, -31, 100);
    record(t, check_requantize(sum, m, shift, 0, 0, INT32_MIN, INT32_MAX,
                               requantize_double(sum, m, shift, 0, 0, INT32_MIN, INT32_MAX)));
  }
}

static void float_checks(tally *t, uint64_t *rng) {
  for (int i = 0; i < 500; i++) {
    const int64_t sum = random_in(rng, -(INT64_C(1) << 40), INT64_C(1) << 40);
    const float scale = (float)ldexp((double)random_in(rng, 1, 1 << 24), -30);
    const float bias = (float)random_in(rng, -1000, 1000) / 7.0f;
    /* The orders an operator may use: float all the way, with and without fusion, and double. */
    const float plain = (float)sum * scale + bias;
    const float fused = fmaf((float)sum, scale, bias);
    const float wide = (float)((double)sum * scale + bias);
    const int accepted = lb_ref_float_close(plain, sum, scale, bias) &&
                         lb_ref_float_close(fused, sum, scale, bias) &&
                         lb_ref_float_close(wide, sum, scale, bias);
    /* Four times the tolerance away must be refused, or the check could never fail. */
    const double size = fabs((double)sum * (double)scale) + fabs((double)bias);
    const float off = (float)((double)wide + ldexp(size, -19));
    const int refused = !lb_ref_float_close(off, sum, scale, bias);
    if (!accepted || !refused) {
      fprintf(stderr, "FAIL float tolerance at sum %" PRId64 " scale %g bias %g: %s\n", sum,
              (double)scale, (double)bias,
              accepted ? "accepts a wrong value" : "refuses a right one");
    }
    record(t, accepted && refused);
  }
}

static int check_out_size(void) {
  /* in 7, pads 1 + 1, 3x3 dilated by 2 spans 5: (9 - 5) / 2 + 1 = 3; kernel larger: 0. */
  const lb_ref_conv2d_shape s = {1, 7, 7, 1, 1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1};
  const lb_ref_conv2d_shape big = {1, 2, 2, 1, 1, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const int ok = lb_ref_conv2d_out_h(&s) == 3 && lb_ref_conv2d_out_w(&s) == 3 &&
                 lb_ref_conv2d_out_h(&big) == 0 && lb_ref_conv2d_out_w(&big) == 0;
  if (!ok) {
    fprintf(stderr, "FAIL reference output sizes\n");
  }
  return ok;
}

int main(void) {
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x3243f6a8885a308du;
  tally t = {0, 0};
  const lb_operand bipolar = {1, LB_BIPOLAR}, s2 = {2, LB_SIGNED};

  record(&t, check_out_size());
  for (size_t p = 0; p < COUNT(unipolar_pairs); p++) {
    for (size_t s = 0; s < COUNT(padded_shapes); s++) {
      record(&t, check_conv(&padded_shapes[s], unipolar_pairs[p][0], unipolar_pairs[p][0],
                            unipolar_pairs[p][1], &rng));
    }
    for (size_t s = 0; s < COUNT(valid_shapes); s++) {
      record(&t, check_conv(&valid_shapes[s], unipolar_pairs[p][0], unipolar_pairs[p][0],
                            unipolar_pairs[p][1], &rng));
    }
  }
  const lb_operand weights_for_bipolar[] = {bipolar, {1, LB_UNSIGNED}, {3, LB_SIGNED}};
  for (size_t w = 0; w < COUNT(weights_for_bipolar); w++) {
    for (size_t s = 0; s < COUNT(valid_shapes); s++) {
      record(&t, check_conv(&valid_shapes[s], bipolar, bipolar, weights_for_bipolar[w], &rng));
    }
    /* Bipolar weights stay bipolar in the GEMM: weights are never padded. */
    for (size_t s = 0; s < COUNT(padded_shapes); s++) {
      record(&t, check_conv(&padded_shapes[s], bipolar, s2, weights_for_bipolar[w], &rng));
    }
  }
  record(&t,
         check_dense(1, 1024, 10, (lb_operand){2, LB_UNSIGNED}, (lb_operand){2, LB_SIGNED}, &rng));
  record(&t, check_dense(3, 65, 7, bipolar, bipolar, &rng));
  record(&t,
         check_dense(2, 130, 3, (lb_operand){16, LB_SIGNED}, (lb_operand){16, LB_SIGNED}, &rng));
  requantize_checks(&t, &rng);
  float_checks(&t, &rng);

  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
