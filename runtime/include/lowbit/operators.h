/* liblowbit operators: conv2d and dense layers at any bit-width, with prepacked weights.
 *
 * Life cycle, as in XNNPACK operators and oneDNN primitives: lb_*_create validates the
 * descriptor, picks the kernel, packs the weights once (bit planes or direct panels, with their
 * code sums) and keeps what a run needs; lb_*_run packs only the activations and may be called
 * many times, also from several threads at once on distinct input and output buffers;
 * lb_*_set_weights re-packs new weights of the same shape in place (the training engine calls it
 * after every step); lb_*_destroy frees everything.
 *
 * Layouts (NHWC): input [batch][in_h][in_w][in_c], weights [out_c][kernel_h][kernel_w][in_c /
 * groups], output [batch][out_h][out_w][out_c]. Elements are the source elements of lb_gemm: 1 byte
 * when bits <= 8, else 2 bytes, signed for the signed and bipolar encodings. Dense is the same with
 * input [batch][in_c], weights [out_c][in_c], output [batch][out_c].
 *
 * Padding means a real zero: a padded input value contributes 0 to every sum, also for bipolar
 * (+1/-1) activations, which have no zero code (the operator corrects the border outputs
 * exactly; docs/design.md, section 12).
 *
 * Include this header on its own (lowbit/lowbit.h does not include it). */
#ifndef LOWBIT_OPERATORS_H
#define LOWBIT_OPERATORS_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an operator writes. */
typedef enum lb_output_kind {
  /* The exact sums, int32_t or int64_t as lb_gemm_output_type(a, w, kernel_h * kernel_w * in_c /
   * groups) says. */
  LB_OUTPUT_SUMS = 0,
  /* Codes of the next layer's operand (lb_requantize below), 1 or 2 bytes per element. */
  LB_OUTPUT_CODES = 1,
  /* float: sum * scale[oc] + bias[oc]. */
  LB_OUTPUT_FLOAT = 2
} lb_output_kind;

/* Requantization of an exact sum s of output channel oc into a code of `out`:
 *   q = clamp(round(s * multiplier[oc] / 2^(31 + shift[oc])) + bias[oc] + zero_point,
 *             clamp_min, clamp_max)
 * with the fixed-point multiplier in [2^30, 2^31) (gemmlowp's convention), shift >= -31, and the
 * rounding to nearest with ties away from zero, computed exactly in 64-bit integers (int64 sums
 * too). clamp_min <= clamp_max lie within the range of `out` (so ReLU and ReLU6 fuse as a clamp).
 * A bipolar `out` takes the sign: the code is +1 when the rounded value plus bias and zero point
 * is >= 0 and -1 otherwise, then clamped (clamp_min and clamp_max are -1 or +1 each).
 * create checks every channel and copies the arrays: they need not outlive it. */
typedef struct lb_requantize {
  lb_operand out;
  const int32_t *multiplier; /* [out_c] */
  const int8_t *shift;       /* [out_c] */
  const int32_t *bias;       /* [out_c] or NULL: in output codes, added after the scaling */
  int32_t zero_point;
  int32_t clamp_min, clamp_max;
} lb_requantize;

/* sum * scale[oc] + bias[oc], computed in double and rounded to float; create copies the arrays. */
typedef struct lb_float_output {
  const float *scale; /* [out_c] */
  const float *bias;  /* [out_c] or NULL */
} lb_float_output;

/* What an operator reads. */
typedef enum lb_input_kind {
  /* Source elements of the operand `a`, as lb_gemm takes them. */
  LB_INPUT_CODES = 0,
  /* float, quantized to `a` as the activations are packed, in one pass (no code copy of the
   * input is made): v = clamp(round(x / a_scale) + a_zero_point, min, max) over a's values,
   * round to nearest with ties to even, NaN read as 0.0; bipolar: +1 for x >= 0 and NaN, else -1
   * (lb_quantize_args of lowbit/ukernel.h). */
  LB_INPUT_FLOAT = 1
} lb_input_kind;

typedef struct lb_conv2d_desc {
  size_t batch, in_h, in_w, in_c, out_c;
  unsigned kernel_h, kernel_w;
  unsigned stride_h, stride_w;     /* 1..4 */
  unsigned dilation_h, dilation_w; /* 1..4 */
  unsigned pad_top, pad_bottom, pad_left, pad_right;
  size_t groups; /* 1, ..., in_c (depthwise: groups = in_c = out_c); divides in_c and out_c */
  lb_operand a, w;
  lb_strategy_choice strategy;
  unsigned threads; /* as lb_gemm_desc.threads */
  lb_output_kind output;
  lb_requantize requantize;  /* LB_OUTPUT_CODES */
  lb_float_output float_out; /* LB_OUTPUT_FLOAT */
  lb_input_kind input;
  float a_scale; /* LB_INPUT_FLOAT: the real step of a's values, > 0 and finite */
  /* The value of a that stands for a real zero: what a padded tap holds (0 for bipolar operands,
   * whose padding the operator corrects). Within a's range. */
  int32_t a_zero_point;
} lb_conv2d_desc;

/* Padding helpers. VALID: none. SAME: a total of (kernel - 1) * dilation per dimension, the
 * smaller half (floor) before and the rest after, so out = ceil(in / stride) at every stride and
 * an odd kernel pads symmetrically: ResNet-18's 3x3 stride-2 layers pad 1 on every side, as in
 * its float definition (not TensorFlow's 0 before and 1 after). */
void lb_conv2d_pad_valid(lb_conv2d_desc *desc);
void lb_conv2d_pad_same(lb_conv2d_desc *desc);

/* Output spatial size: (in + pad_before + pad_after - (kernel - 1) * dilation - 1) / stride + 1;
 * 0 when the descriptor is invalid (as lb_conv2d_create checks it). */
size_t lb_conv2d_out_h(const lb_conv2d_desc *desc);
size_t lb_conv2d_out_w(const lb_conv2d_desc *desc);

typedef struct lb_conv2d lb_conv2d;

/* LB_INVALID_ARGUMENT for a NULL pointer, a size of 0, a kernel outside 1..7, a stride or
 * dilation outside 1..4, groups not dividing in_c and out_c, a padded input smaller than the
 * dilated kernel, invalid operands, strategy, output kind or output parameters, or sums too
 * large for int64; LB_NO_KERNEL when no built kernel runs the operands on this CPU. *op is set
 * only on success. */
lb_status lb_conv2d_create(const lb_conv2d_desc *desc, const void *weights, lb_conv2d **op);
/* Not while a run of the same operator is in progress. */
lb_status lb_conv2d_set_weights(lb_conv2d *op, const void *weights);
/* output holds batch * out_h * out_w * out_c elements of the output type; input and output are
 * left untouched and LB_INVALID_ARGUMENT returned if either is NULL (LB_OUT_OF_MEMORY if the
 * run's workspace cannot be allocated). */
lb_status lb_conv2d_run(const lb_conv2d *op, const void *input, void *output);
/* The kernel the operator runs. */
const lb_gemm_kernel_info *lb_conv2d_kernel(const lb_conv2d *op);
void lb_conv2d_destroy(lb_conv2d *op);

/* Dense: the 1x1 convolution of a 1x1 image, batch images; the same checks, kinds and calls. */
typedef struct lb_dense_desc {
  size_t batch, in_c, out_c;
  lb_operand a, w;
  lb_strategy_choice strategy;
  unsigned threads;
  lb_output_kind output;
  lb_requantize requantize;
  lb_float_output float_out;
  lb_input_kind input;
  float a_scale;
  int32_t a_zero_point; /* as in lb_conv2d_desc (a dense layer has no padding) */
} lb_dense_desc;

typedef struct lb_dense lb_dense;

lb_status lb_dense_create(const lb_dense_desc *desc, const void *weights, lb_dense **op);
lb_status lb_dense_set_weights(lb_dense *op, const void *weights);
lb_status lb_dense_run(const lb_dense *op, const void *input, void *output);
const lb_gemm_kernel_info *lb_dense_kernel(const lb_dense *op);
void lb_dense_destroy(lb_dense *op);

#ifdef __cplusplus
}
#endif

#endif
