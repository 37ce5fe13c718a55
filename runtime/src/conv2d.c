/* lb_conv2d: the descriptor's checks and shape, the padding helpers, and the public calls, which
 * operator.c carries out. Every check passes before anything is allocated or written. */
#include <float.h>

#include "codes.h"
#include "operator.h"

#define LB_CONV_MAX_KERNEL 7u
#define LB_CONV_MAX_STRIDE 4u
#define LB_CONV_MAX_DILATION 4u
/* The widest element of input, weights or output: an int64 sum. */
#define LB_MAX_ELEMENT_BYTES sizeof(int64_t)

/* The output size along one dimension, or 0 when the padded input is smaller than the dilated
 * kernel (or overflows). */
static size_t lb_conv_out_size(size_t in, unsigned pad_before, unsigned pad_after, unsigned kernel,
                               unsigned stride, unsigned dilation) {
  size_t padded;
  if (__builtin_add_overflow(in, (size_t)pad_before, &padded) ||
      __builtin_add_overflow(padded, (size_t)pad_after, &padded)) {
    return 0;
  }
  const size_t extent = (size_t)(kernel - 1) * dilation + 1;
  return padded < extent ? 0 : (padded - extent) / stride + 1;
}

static int lb_multiply(size_t x, size_t y, size_t *product) {
  return !__builtin_mul_overflow(x, y, product);
}

static int lb_in_range(unsigned value, unsigned max) { return value >= 1 && value <= max; }

/* Fills *g from the descriptor's sizes, kernel, strides, dilations, paddings and groups; 0 when
 * any is out of its range or a byte count of input, weights or output overflows size_t. */
static int lb_conv_geometry_init(const lb_conv2d_desc *desc, lb_conv_geometry *g) {
  if (desc == NULL || desc->batch < 1 || desc->in_h < 1 || desc->in_w < 1 || desc->in_c < 1 ||
      desc->out_c < 1 || !lb_in_range(desc->kernel_h, LB_CONV_MAX_KERNEL) ||
      !lb_in_range(desc->kernel_w, LB_CONV_MAX_KERNEL) ||
      !lb_in_range(desc->stride_h, LB_CONV_MAX_STRIDE) ||
      !lb_in_range(desc->stride_w, LB_CONV_MAX_STRIDE) ||
      !lb_in_range(desc->dilation_h, LB_CONV_MAX_DILATION) ||
      !lb_in_range(desc->dilation_w, LB_CONV_MAX_DILATION) || desc->groups < 1 ||
      desc->in_c % desc->groups != 0 || desc->out_c % desc->groups != 0) {
    return 0;
  }
  *g = (lb_conv_geometry){
      .batch = desc->batch,
      .in_h = desc->in_h,
      .in_w = desc->in_w,
      .in_c = desc->in_c,
      .out_c = desc->out_c,
      .kernel_h = desc->kernel_h,
      .kernel_w = desc->kernel_w,
      .stride_h = desc->stride_h,
      .stride_w = desc->stride_w,
      .dilation_h = desc->dilation_h,
      .dilation_w = desc->dilation_w,
      .pad_top = desc->pad_top,
      .pad_left = desc->pad_left,
      .padded = (desc->pad_top | desc->pad_bottom | desc->pad_left | desc->pad_right) != 0,
      .groups = desc->groups,
      .group_in_c = desc->in_c / desc->groups,
      .group_out_c = desc->out_c / desc->groups,
      .taps = (size_t)desc->kernel_h * desc->kernel_w};
  g->out_h = lb_conv_out_size(desc->in_h, desc->pad_top, desc->pad_bottom, desc->kernel_h,
                              desc->stride_h, desc->dilation_h);
  g->out_w = lb_conv_out_size(desc->in_w, desc->pad_left, desc->pad_right, desc->kernel_w,
                              desc->stride_w, desc->dilation_w);
  size_t pixels, bytes;
  return g->out_h != 0 && g->out_w != 0 && lb_multiply(g->batch, g->out_h, &g->rows) &&
         lb_multiply(g->rows, g->out_w, &g->rows) && lb_multiply(g->taps, g->group_in_c, &g->k) &&
         lb_multiply(g->batch, g->in_h, &pixels) && lb_multiply(pixels, g->in_w, &pixels) &&
         lb_multiply(pixels, g->in_c, &bytes) && lb_multiply(bytes, LB_MAX_ELEMENT_BYTES, &bytes) &&
         lb_multiply(g->out_c, g->k, &bytes) && lb_multiply(bytes, LB_MAX_ELEMENT_BYTES, &bytes) &&
         lb_multiply(g->rows, g->out_c, &bytes) && lb_multiply(bytes, LB_MAX_ELEMENT_BYTES, &bytes);
}

/* The input kind, its scale and the zero point, for a valid operand a. */
static int lb_input_is_valid(const lb_conv2d_desc *desc) {
  if (desc->input != LB_INPUT_CODES && desc->input != LB_INPUT_FLOAT) {
    return 0;
  }
  /* Not written as a_scale <= 0: NaN fails every comparison. */
  if (desc->input == LB_INPUT_FLOAT && !(desc->a_scale > 0.0f && desc->a_scale <= FLT_MAX)) {
    return 0;
  }
  if (desc->a.encoding == LB_BIPOLAR) {
    return desc->a_zero_point == 0;
  }
  const int64_t zero = desc->a_zero_point;
  if (desc->a.encoding == LB_UNSIGNED) {
    return zero >= 0 && zero <= ((int64_t)1 << desc->a.bits) - 1;
  }
  return zero >= -((int64_t)1 << (desc->a.bits - 1)) && zero < ((int64_t)1 << (desc->a.bits - 1));
}

int lb_conv2d_desc_is_valid(const lb_conv2d_desc *desc, lb_conv_geometry *g) {
  return lb_conv_geometry_init(desc, g) && lb_operand_is_valid(desc->a) &&
         lb_operand_is_valid(desc->w) && lb_input_is_valid(desc) &&
         (desc->strategy == LB_AUTO || desc->strategy == LB_BITSERIAL ||
          desc->strategy == LB_DIRECT) &&
         lb_output_stage_is_valid(desc->output, &desc->requantize, &desc->float_out, desc->out_c);
}

void lb_conv2d_pad_valid(lb_conv2d_desc *desc) {
  if (desc != NULL) {
    desc->pad_top = desc->pad_bottom = desc->pad_left = desc->pad_right = 0;
  }
}

void lb_conv2d_pad_same(lb_conv2d_desc *desc) {
  if (desc == NULL) {
    return;
  }
  const unsigned total_h = desc->kernel_h >= 1 ? (desc->kernel_h - 1) * desc->dilation_h : 0;
  const unsigned total_w = desc->kernel_w >= 1 ? (desc->kernel_w - 1) * desc->dilation_w : 0;
  desc->pad_top = total_h / 2;
  desc->pad_bottom = total_h - total_h / 2;
  desc->pad_left = total_w / 2;
  desc->pad_right = total_w - total_w / 2;
}

size_t lb_conv2d_out_h(const lb_conv2d_desc *desc) {
  lb_conv_geometry g;
  return lb_conv2d_desc_is_valid(desc, &g) ? g.out_h : 0;
}

size_t lb_conv2d_out_w(const lb_conv2d_desc *desc) {
  lb_conv_geometry g;
  return lb_conv2d_desc_is_valid(desc, &g) ? g.out_w : 0;
}

lb_status lb_conv2d_create(const lb_conv2d_desc *desc, const void *weights, lb_conv2d **op) {
  lb_conv_geometry geometry;
  if (weights == NULL || op == NULL || !lb_conv2d_desc_is_valid(desc, &geometry)) {
    return LB_INVALID_ARGUMENT;
  }
  return lb_operator_create(desc, &geometry, weights, op);
}

lb_status lb_conv2d_set_weights(lb_conv2d *op, const void *weights) {
  if (op == NULL || weights == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  lb_operator_pack_weights(op, weights);
  return LB_OK;
}

lb_status lb_conv2d_run(const lb_conv2d *op, const void *input, void *output) {
  if (op == NULL || input == NULL || output == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  return lb_operator_run(op, input, output);
}

const lb_gemm_kernel_info *lb_conv2d_kernel(const lb_conv2d *op) {
  return op != NULL ? op->kernel : NULL;
}

void lb_conv2d_destroy(lb_conv2d *op) { lb_operator_destroy(op); }
