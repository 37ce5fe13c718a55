/* liblowbit backward products of conv2d and dense layers, at their own bit-widths, exact.
 *
 * For the forward layer Y = conv(X, W) of lowbit/operators.h (NHWC, groups, strides, dilations,
 * padding), with an error dY of its own operand (bits and encoding, independent of X's and W's):
 *   dX[b][iy][ix][g * Cg + c] = sum over the taps (ky, kx) and output pixels (oy, ox) with
 *       oy * stride_h + ky * dilation_h - pad_top = iy, ox * stride_w + kx * dilation_w - pad_left
 *       = ix, and over the group's output channels n, of dY[b][oy][ox][g * Ng + n] *
 *       W[g * Ng + n][ky][kx][c]                          (dY x W, then col2im)
 *   dW[g * Ng + n][ky][kx][c] = sum over b, oy, ox of dY[b][oy][ox][g * Ng + n] *
 *       X'[b][oy * stride_h + ky * dilation_h - pad_top][ox * stride_w + kx * dilation_w -
 *       pad_left][g * Cg + c]                              (dY^T x im2col(X))
 * with Cg = in_c / groups, Ng = out_c / groups, and X' = X inside the image and, in the padding,
 * the forward descriptor's a_zero_point for unsigned and signed X (as the forward operator pads)
 * and 0 for bipolar X (a real zero, which the operator corrects exactly). A dense layer is the
 * same with a 1x1 image and a 1x1 kernel: dX = dY x W, dW = dY^T x X.
 *
 * Every sum is exact, in int32_t or int64_t as lb_gemm_output_type(dy, w, L) says for dX and
 * lb_gemm_output_type(dy, x, batch * out_h * out_w) for dW, L being the most products one dX
 * element sums: Ng times the taps that can reach one input pixel (at most kernel_h * kernel_w;
 * fewer where the stride skips taps). lb_*_backward_data_type and _weights_type return them.
 *
 * Layouts and source elements are those of lowbit/operators.h: dY [batch][out_h][out_w][out_c],
 * X [batch][in_h][in_w][in_c], W [out_c][kernel_h][kernel_w][in_c / groups]; dX and dW have the
 * layouts of X and W. The products run on the generated GEMM kernels (lb_gemm_select(dy, w, ...)
 * over K = out_c / groups and lb_gemm_select(dy, x, ...) over K = batch * out_h * out_w, with the
 * descriptor's strategy), whose transposed packs read dY^T, X^T and
 * W^T from their row-major sources (no transposed copy); W^T is packed at create and set_weights.
 * Results do not depend on the thread count. Runs of one operator may proceed at once on several
 * threads on distinct outputs; set_weights not during a run.
 *
 * Include this header on its own (it includes lowbit/operators.h). */
#ifndef LOWBIT_BACKWARD_H
#define LOWBIT_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"
#include "lowbit/operators.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The forward layer's shape, its operands (X = forward.a, W = forward.w) and X's padding value
 * (forward.a_zero_point) are read; forward.input must be LB_INPUT_CODES (X comes as codes). Its
 * strategy, threads and output fields are not read: the backward products have their own. */
typedef struct lb_conv2d_backward_desc {
  lb_conv2d_desc forward;
  lb_operand dy;
  lb_strategy_choice strategy; /* for both products */
  unsigned threads;            /* as lb_gemm_desc.threads */
} lb_conv2d_backward_desc;

typedef struct lb_conv2d_backward lb_conv2d_backward;

/* LB_INVALID_ARGUMENT for a NULL pointer, a forward layer lb_conv2d_create refuses (shape,
 * operands, a_zero_point), float input, an invalid dy operand, strategy, or sums beyond int64;
 * LB_NO_KERNEL when no built kernel runs dy x w or dy x x on this CPU. weights are W, packed as
 * W^T at once; *op is set only on success. */
lb_status lb_conv2d_backward_create(const lb_conv2d_backward_desc *desc, const void *weights,
                                    lb_conv2d_backward **op);
lb_status lb_conv2d_backward_set_weights(lb_conv2d_backward *op, const void *weights);
/* dx: batch * in_h * in_w * in_c sums of lb_conv2d_backward_data_type (every element is written,
 * 0 where no tap reaches an input pixel). LB_INVALID_ARGUMENT for NULL pointers, LB_OUT_OF_MEMORY
 * if the workspace cannot be allocated; dx is untouched on error. */
lb_status lb_conv2d_backward_data(const lb_conv2d_backward *op, const void *dy, void *dx);
/* dw: out_c * kernel_h * kernel_w * (in_c / groups) sums of lb_conv2d_backward_weights_type. */
lb_status lb_conv2d_backward_weights(const lb_conv2d_backward *op, const void *dy, const void *x,
                                     void *dw);
/* LB_OUT_INT32 or LB_OUT_INT64; LB_OUT_INT32 for a NULL op. */
lb_out_type lb_conv2d_backward_data_type(const lb_conv2d_backward *op);
lb_out_type lb_conv2d_backward_weights_type(const lb_conv2d_backward *op);
/* The kernels of dY x W and dY^T x X. */
const lb_gemm_kernel_info *lb_conv2d_backward_data_kernel(const lb_conv2d_backward *op);
const lb_gemm_kernel_info *lb_conv2d_backward_weights_kernel(const lb_conv2d_backward *op);
void lb_conv2d_backward_destroy(lb_conv2d_backward *op);

/* Dense: forward.batch, in_c, out_c, a (X), w and input are read, as for conv2d. */
typedef struct lb_dense_backward_desc {
  lb_dense_desc forward;
  lb_operand dy;
  lb_strategy_choice strategy;
  unsigned threads;
} lb_dense_backward_desc;

typedef struct lb_dense_backward lb_dense_backward;

lb_status lb_dense_backward_create(const lb_dense_backward_desc *desc, const void *weights,
                                   lb_dense_backward **op);
lb_status lb_dense_backward_set_weights(lb_dense_backward *op, const void *weights);
/* dy [batch][out_c] -> dx [batch][in_c]. */
lb_status lb_dense_backward_data(const lb_dense_backward *op, const void *dy, void *dx);
/* dy [batch][out_c], x [batch][in_c] -> dw [out_c][in_c]. */
lb_status lb_dense_backward_weights(const lb_dense_backward *op, const void *dy, const void *x,
                                    void *dw);
lb_out_type lb_dense_backward_data_type(const lb_dense_backward *op);
lb_out_type lb_dense_backward_weights_type(const lb_dense_backward *op);
const lb_gemm_kernel_info *lb_dense_backward_data_kernel(const lb_dense_backward *op);
const lb_gemm_kernel_info *lb_dense_backward_weights_kernel(const lb_dense_backward *op);
void lb_dense_backward_destroy(lb_dense_backward *op);

#ifdef __cplusplus
}
#endif

#endif
