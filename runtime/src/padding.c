/* Padding as a real zero (docs/design.md, section 12). Unsigned and signed activations pad with
 * their zero point (0 unless the descriptor says otherwise; float input pads with 0.0, which
 * quantizes to it), a value every code format holds (its code sums correct offsets as for any
 * value).
 * Bipolar activations have no 0: they pad with +1, which adds each padded tap's weights once, and
 * the border outputs subtract them again: for output pixel p, channel oc,
 *   sum_zero_padded = sum_plus_one_padded - sum over p's padded taps t of tap_sums[t][oc],
 * tap_sums[t][oc] = sum over the group's input channels c of w[oc][t][c]. */
#include <string.h>

#include "operator.h"

void lb_padding_fill_run(lb_operator *op, int32_t zero_point) {
  const size_t elements = op->geometry.group_in_c;
  if (op->input_bytes == sizeof(float)) {
    const float zero = 0.0f; /* quantizes to the zero point, or to +1 for bipolar operands */
    for (size_t i = 0; i < elements; i++) {
      memcpy(op->pad_run + i * sizeof zero, &zero, sizeof zero);
    }
  } else if (op->a.encoding == LB_BIPOLAR) {
    memset(op->pad_run, 1, elements); /* +1 in the 1-byte elements of 1-bit operands */
  } else if (op->input_bytes == 1) {
    memset(op->pad_run, (unsigned char)zero_point, elements);
  } else {
    const uint16_t bits = (uint16_t)zero_point;
    for (size_t i = 0; i < elements; i++) {
      memcpy(op->pad_run + i * sizeof bits, &bits, sizeof bits);
    }
  }
}

static int64_t lb_source_value(const void *elements, size_t index, lb_operand op) {
  if (op.bits <= 8) {
    return op.encoding == LB_UNSIGNED ? ((const uint8_t *)elements)[index]
                                      : ((const int8_t *)elements)[index];
  }
  return op.encoding == LB_UNSIGNED ? ((const uint16_t *)elements)[index]
                                    : ((const int16_t *)elements)[index];
}

void lb_padding_tap_sums(lb_operator *op, const void *weights) {
  const lb_conv_geometry *g = &op->geometry;
  for (size_t oc = 0; oc < g->out_c; oc++) {
    for (size_t t = 0; t < g->taps; t++) {
      int64_t sum = 0;
      for (size_t c = 0; c < g->group_in_c; c++) {
        sum += lb_source_value(weights, (oc * g->taps + t) * g->group_in_c + c, op->w);
      }
      op->tap_sums[t * g->out_c + oc] = sum;
    }
  }
}

/* An int32 C is corrected modulo 2^32, exact because the zero-padded sum fits int32 (its bound
 * is that of lb_gemm_output_type for the same K). */
static void lb_subtract_tap(const lb_operator *op, const lb_run_unit *unit, size_t tap,
                            void *c_row) {
  const size_t columns = unit->columns;
  const int64_t *sums = op->tap_sums + tap * op->geometry.out_c +
                        unit->group * op->geometry.group_out_c + unit->first_column;
  if (op->sums64) {
    int64_t *c = c_row;
    for (size_t j = 0; j < columns; j++) {
      c[j] -= sums[j];
    }
  } else {
    int32_t *c = c_row;
    for (size_t j = 0; j < columns; j++) {
      c[j] = (int32_t)((uint32_t)c[j] - (uint32_t)sums[j]);
    }
  }
}

void lb_padding_correct_bipolar(const lb_operator *op, const lb_run_unit *unit, void *c,
                                size_t ldc) {
  const lb_conv_geometry *g = &op->geometry;
  const size_t pixels = g->out_h * g->out_w;
  const size_t row_bytes = ldc * (op->sums64 ? sizeof(int64_t) : sizeof(int32_t));
  for (size_t r = 0; r < unit->rows; r++) {
    const size_t row = unit->first_row + r;
    const size_t oy = row % pixels / g->out_w, ox = row % g->out_w;
    for (size_t ky = 0; ky < g->kernel_h; ky++) {
      const int y_padded = lb_conv_input_position(oy, ky, g->stride_h, g->dilation_h, g->pad_top,
                                                  g->in_h) == SIZE_MAX;
      for (size_t kx = 0; kx < g->kernel_w; kx++) {
        if (y_padded || lb_conv_input_position(ox, kx, g->stride_w, g->dilation_w, g->pad_left,
                                               g->in_w) == SIZE_MAX) {
          lb_subtract_tap(op, unit, ky * g->kernel_w + kx, (unsigned char *)c + r * row_bytes);
        }
      }
    }
  }
}
