/* The plain conv2d and dense that the operators are checked against, and the requantization and
 * float output that lowbit/operators.h documents, written from the documentation alone: one int64
 * multiply-add per product, padding skipped (a padded tap contributes 0, whatever the encoding).
 *
 * Layouts (NHWC) and elements as lb_gemm's source elements (operands.h):
 *   input   [batch][in_h][in_w][in_c]
 *   weights [out_c][kernel_h][kernel_w][in_c / groups]
 *   sums    [batch][out_h][out_w][out_c], int64
 * Output channel oc belongs to group oc / (out_c / groups), which reads input channels
 * [g * in_c / groups, (g + 1) * in_c / groups).
 *
 * This header does not include lowbit/operators.h, so that the reference (and its self-check
 * against lb_gemm) builds whether or not the library has the operators. */
#ifndef LOWBIT_TEST_CONV_REFERENCE_H
#define LOWBIT_TEST_CONV_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "operands.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lb_ref_conv2d_shape {
  size_t batch, in_h, in_w, in_c, out_c;
  size_t kernel_h, kernel_w;
  size_t stride_h, stride_w;
  size_t dilation_h, dilation_w;
  size_t pad_top, pad_bottom, pad_left, pad_right;
  size_t groups;
} lb_ref_conv2d_shape;

/* floor((in + pads - dilated kernel) / stride) + 1, or 0 when the dilated kernel is larger than
 * the padded input or a stride, dilation or kernel size is 0. */
size_t lb_ref_conv2d_out_h(const lb_ref_conv2d_shape *s);
size_t lb_ref_conv2d_out_w(const lb_ref_conv2d_shape *s);

/* C_in * kh * kw / groups: the K of every output's sum. */
size_t lb_ref_conv2d_k(const lb_ref_conv2d_shape *s);

/* Number of elements of each tensor. */
size_t lb_ref_conv2d_input_count(const lb_ref_conv2d_shape *s);
size_t lb_ref_conv2d_weight_count(const lb_ref_conv2d_shape *s);
size_t lb_ref_conv2d_output_count(const lb_ref_conv2d_shape *s);

/* sums = conv2d(input, weights); 0 when out of memory or the shape has no output. */
int lb_ref_conv2d(const lb_ref_conv2d_shape *s, lb_operand aop, const void *input, lb_operand wop,
                  const void *weights, int64_t *sums);

/* sums[batch][out_c] = input[batch][in_c] * weights[out_c][in_c]^T; 0 when out of memory. */
int lb_ref_dense(size_t batch, size_t in_c, size_t out_c, lb_operand aop, const void *input,
                 lb_operand wop, const void *weights, int64_t *sums);

/* operators.h's requantization of one exact sum:
 *   clamp(round(sum * multiplier / 2^(31 + shift)) + bias + zero_point, clamp_min, clamp_max)
 * rounding to nearest, ties away from zero, exact for every int64 sum (the product needs up to
 * 94 bits, so it is formed in two 64-bit halves). Needs shift >= -31 and multiplier >= 0. */
int64_t lb_ref_requantize(int64_t sum, int32_t multiplier, int shift, int32_t bias,
                          int32_t zero_point, int32_t clamp_min, int32_t clamp_max);

/* operators.h's float output, sum * scale + bias, in double. */
double lb_ref_float_output(int64_t sum, float scale, float bias);

/* 1 when a float output `got` is within the rounding an operator may add to the exact value of
 * sum * scale + bias: float conversion of the sum, the product and the addition each round once by
 * at most 2^-24 of their size, and a fused multiply-add rounds fewer times, so 2^-21 (8 units
 * of the last place) of |sum * scale| + |bias| bounds every order of evaluation. */
int lb_ref_float_close(float got, int64_t sum, float scale, float bias);

#ifdef __cplusplus
}
#endif

#endif
