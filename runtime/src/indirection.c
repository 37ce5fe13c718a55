/* The indirection buffer of a run unit: for each output row and kernel tap, where its run of
 * group_in_c input channels starts (NHWC: the channels of one input pixel are contiguous), so
 * that the kernel's indirect pack gathers im2col rows without an im2col buffer. */
#include "operator.h"

void lb_indirection_build(const lb_operator *op, const lb_run_unit *unit, const void **pointers) {
  const lb_conv_geometry *g = &op->geometry;
  const size_t element_bytes = op->input_bytes;
  const size_t pixels = g->out_h * g->out_w;
  const unsigned char *group_input = unit->input + unit->group * g->group_in_c * element_bytes;
  for (size_t r = 0; r < unit->rows; r++) {
    const size_t row = unit->first_row + r;
    const size_t image = row / pixels, oy = row % pixels / g->out_w, ox = row % g->out_w;
    const unsigned char *image_input =
        group_input + image * g->in_h * g->in_w * g->in_c * element_bytes;
    for (size_t ky = 0; ky < g->kernel_h; ky++) {
      const size_t iy =
          lb_conv_input_position(oy, ky, g->stride_h, g->dilation_h, g->pad_top, g->in_h);
      for (size_t kx = 0; kx < g->kernel_w; kx++) {
        const size_t ix =
            lb_conv_input_position(ox, kx, g->stride_w, g->dilation_w, g->pad_left, g->in_w);
        *pointers++ = iy == SIZE_MAX || ix == SIZE_MAX
                          ? (const void *)op->pad_run
                          : image_input + (iy * g->in_w + ix) * g->in_c * element_bytes;
      }
    }
  }
}
