/* lb_dense: a dense layer is the 1x1 convolution of a 1x1 image with batch images, whose input rows
 * are the A matrix itself (packed with the kernel's pack_a, no indirection) and whose weights
 * [out_c][in_c] are those of the convolution. */
#include <stdlib.h>

#include "lowbit/operators.h"

struct lb_dense {
  lb_conv2d *conv;
};

static lb_conv2d_desc lb_dense_as_conv2d(const lb_dense_desc *desc) {
  return (lb_conv2d_desc){.batch = desc->batch,
                          .in_h = 1,
                          .in_w = 1,
                          .in_c = desc->in_c,
                          .out_c = desc->out_c,
                          .kernel_h = 1,
                          .kernel_w = 1,
                          .stride_h = 1,
                          .stride_w = 1,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .groups = 1,
                          .a = desc->a,
                          .w = desc->w,
                          .strategy = desc->strategy,
                          .threads = desc->threads,
                          .output = desc->output,
                          .requantize = desc->requantize,
                          .float_out = desc->float_out,
                          .input = desc->input,
                          .a_scale = desc->a_scale,
                          .a_zero_point = desc->a_zero_point};
}

lb_status lb_dense_create(const lb_dense_desc *desc, const void *weights, lb_dense **op) {
  if (desc == NULL || weights == NULL || op == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  lb_dense *dense = malloc(sizeof *dense);
  if (dense == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  const lb_conv2d_desc conv = lb_dense_as_conv2d(desc);
  const lb_status status = lb_conv2d_create(&conv, weights, &dense->conv);
  if (status != LB_OK) {
    free(dense);
    return status;
  }
  *op = dense;
  return LB_OK;
}

lb_status lb_dense_set_weights(lb_dense *op, const void *weights) {
  return op != NULL ? lb_conv2d_set_weights(op->conv, weights) : LB_INVALID_ARGUMENT;
}

lb_status lb_dense_run(const lb_dense *op, const void *input, void *output) {
  return op != NULL ? lb_conv2d_run(op->conv, input, output) : LB_INVALID_ARGUMENT;
}

const lb_gemm_kernel_info *lb_dense_kernel(const lb_dense *op) {
  return op != NULL ? lb_conv2d_kernel(op->conv) : NULL;
}

void lb_dense_destroy(lb_dense *op) {
  if (op != NULL) {
    lb_conv2d_destroy(op->conv);
    free(op);
  }
}
