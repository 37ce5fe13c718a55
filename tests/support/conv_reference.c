#include "conv_reference.h"

#include <math.h>
#include <stdlib.h>

#include "reference.h"

static size_t out_size(size_t in, size_t pad_before, size_t pad_after, size_t kernel, size_t stride,
                       size_t dilation) {
  if (kernel == 0 || stride == 0 || dilation == 0) {
    return 0;
  }
  const size_t padded = in + pad_before + pad_after;
  const size_t extent = (kernel - 1) * dilation + 1;
  return extent > padded ? 0 : (padded - extent) / stride + 1;
}

size_t lb_ref_conv2d_out_h(const lb_ref_conv2d_shape *s) {
  return out_size(s->in_h, s->pad_top, s->pad_bottom, s->kernel_h, s->stride_h, s->dilation_h);
}

size_t lb_ref_conv2d_out_w(const lb_ref_conv2d_shape *s) {
  return out_size(s->in_w, s->pad_left, s->pad_right, s->kernel_w, s->stride_w, s->dilation_w);
}

size_t lb_ref_conv2d_k(const lb_ref_conv2d_shape *s) {
  return s->groups == 0 ? 0 : s->kernel_h * s->kernel_w * (s->in_c / s->groups);
}

size_t lb_ref_conv2d_input_count(const lb_ref_conv2d_shape *s) {
  return s->batch * s->in_h * s->in_w * s->in_c;
}

size_t lb_ref_conv2d_weight_count(const lb_ref_conv2d_shape *s) {
  return s->out_c * lb_ref_conv2d_k(s);
}

size_t lb_ref_conv2d_output_count(const lb_ref_conv2d_shape *s) {
  return s->batch * lb_ref_conv2d_out_h(s) * lb_ref_conv2d_out_w(s) * s->out_c;
}

/* Values decoded once: the tap loop below then stays cheap under QEMU. */
static int64_t *decode_all(lb_operand op, const void *m, size_t count) {
  int64_t *values = malloc((count > 0 ? count : 1) * sizeof(int64_t));
  if (values != NULL) {
    lb_test_decode(op, m, 0, count, values);
  }
  return values;
}

int lb_ref_conv2d(const lb_ref_conv2d_shape *s, lb_operand aop, const void *input, lb_operand wop,
                  const void *weights, int64_t *sums) {
  const size_t oh_count = lb_ref_conv2d_out_h(s), ow_count = lb_ref_conv2d_out_w(s);
  if (oh_count == 0 || ow_count == 0 || s->groups == 0 || s->in_c % s->groups != 0 ||
      s->out_c % s->groups != 0) {
    return 0;
  }
  const size_t cg = s->in_c / s->groups;  /* input channels per group */
  const size_t og = s->out_c / s->groups; /* output channels per group */
  int64_t *in = decode_all(aop, input, lb_ref_conv2d_input_count(s));
  int64_t *w = decode_all(wop, weights, lb_ref_conv2d_weight_count(s));
  const int ok = in != NULL && w != NULL;
  int64_t *out = sums;
  for (size_t b = 0; b < s->batch && ok; b++) {
    for (size_t oh = 0; oh < oh_count; oh++) {
      for (size_t ow = 0; ow < ow_count; ow++) {
        for (size_t oc = 0; oc < s->out_c; oc++) {
          const size_t first_c = (oc / og) * cg;
          int64_t sum = 0;
          for (size_t kh = 0; kh < s->kernel_h; kh++) {
            /* Row in padded coordinates; rows outside the input are padding: real zeros. */
            const size_t ph = oh * s->stride_h + kh * s->dilation_h;
            if (ph < s->pad_top || ph - s->pad_top >= s->in_h) {
              continue;
            }
            const size_t ih = ph - s->pad_top;
            for (size_t kw = 0; kw < s->kernel_w; kw++) {
              const size_t pw = ow * s->stride_w + kw * s->dilation_w;
              if (pw < s->pad_left || pw - s->pad_left >= s->in_w) {
                continue;
              }
              const size_t iw = pw - s->pad_left;
              const int64_t *ir = in + ((b * s->in_h + ih) * s->in_w + iw) * s->in_c + first_c;
              const int64_t *wr = w + ((oc * s->kernel_h + kh) * s->kernel_w + kw) * cg;
              for (size_t c = 0; c < cg; c++) {
                sum += ir[c] * wr[c];
              }
            }
          }
          *out++ = sum;
        }
      }
    }
  }
  free(in);
  free(w);
  return ok;
}

int lb_ref_dense(size_t batch, size_t in_c, size_t out_c, lb_operand aop, const void *input,
                 lb_operand wop, const void *weights, int64_t *sums) {
  /* A dense layer is the GEMM of its batch rows with the weight rows, as the GEMM tests define
   * it: the same independent reference serves both. */
  return lb_reference_gemm(aop, wop, batch, out_c, in_c, input, in_c, weights, in_c, sums);
}

/* An unsigned 128-bit integer as two halves: armv7 has no __int128. */
typedef struct u128 {
  uint64_t hi, lo;
} u128;

static u128 mul_64x32(uint64_t a, uint32_t b) {
  const uint64_t lo_part = (a & 0xffffffffu) * b; /* < 2^64 */
  const uint64_t hi_part = (a >> 32) * b;         /* < 2^64, weight 2^32 */
  u128 r;
  r.lo = lo_part + (hi_part << 32);
  r.hi = (hi_part >> 32) + (r.lo < lo_part ? 1 : 0);
  return r;
}

static u128 add_pow2(u128 x, unsigned e) { /* x + 2^e, e < 128 */
  if (e >= 64) {
    x.hi += (uint64_t)1 << (e - 64);
  } else {
    const uint64_t lo = x.lo + ((uint64_t)1 << e);
    x.hi += lo < x.lo ? 1 : 0;
    x.lo = lo;
  }
  return x;
}

static u128 shift_right(u128 x, unsigned n) { /* n < 128 */
  if (n == 0) {
    return x;
  }
  if (n >= 64) {
    return (u128){0, x.hi >> (n - 64)};
  }
  return (u128){x.hi >> n, (x.lo >> n) | (x.hi << (64 - n))};
}

int64_t lb_ref_requantize(int64_t sum, int32_t multiplier, int shift, int32_t bias,
                          int32_t zero_point, int32_t clamp_min, int32_t clamp_max) {
  /* Rounded on the magnitude, then signed: that is what ties away from zero means. */
  const uint64_t magnitude = sum < 0 ? (uint64_t)0 - (uint64_t)sum : (uint64_t)sum;
  const unsigned n = (unsigned)(31 + shift);
  /* |sum| < 2^64 and multiplier < 2^31, so the product < 2^95 and the quotient for n >= 96 is
   * below one half: 0. */
  int64_t q = 0;
  if (n < 96) {
    u128 p = mul_64x32(magnitude, (uint32_t)multiplier);
    if (n > 0) {
      p = add_pow2(p, n - 1);
    }
    p = shift_right(p, n);
    /* Any |q| beyond 2^40 stays beyond every clamp after adding two int32 (bias, zero point). */
    const uint64_t limit = (uint64_t)1 << 40;
    const uint64_t qm = p.hi != 0 || p.lo > limit ? limit : p.lo;
    q = sum < 0 ? -(int64_t)qm : (int64_t)qm;
  }
  q += (int64_t)bias + (int64_t)zero_point;
  return q < clamp_min ? clamp_min : q > clamp_max ? clamp_max : q;
}

double lb_ref_float_output(int64_t sum, float scale, float bias) {
  return (double)sum * (double)scale + (double)bias;
}

int lb_ref_float_close(float got, int64_t sum, float scale, float bias) {
  const double want = lb_ref_float_output(sum, scale, bias);
  const double tolerance = ldexp(fabs((double)sum * (double)scale) + fabs((double)bias), -21);
  return fabs((double)got - want) <= tolerance;
}
