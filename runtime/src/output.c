/* Output stages: codes of the next layer's operand (requantize.c) or floats, from the exact sums of
 * a block of rows. */
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "requantize.h"

int lb_output_stage_is_valid(lb_output_kind kind, const lb_requantize *requantize,
                             const lb_float_output *float_out, size_t out_c) {
  switch (kind) {
  case LB_OUTPUT_SUMS: return 1;
  case LB_OUTPUT_CODES: return lb_requantize_is_valid(requantize, out_c);
  case LB_OUTPUT_FLOAT: return float_out->scale != NULL;
  }
  return 0;
}

lb_status lb_output_stage_init(lb_output_stage *stage, lb_output_kind kind,
                               const lb_requantize *requantize, const lb_float_output *float_out,
                               size_t out_c) {
  memset(stage, 0, sizeof *stage);
  stage->kind = kind;
  if (kind == LB_OUTPUT_SUMS) {
    return LB_OK;
  }
  /* Multipliers and biases, then the shifts; or scales and biases. */
  const size_t channel_bytes =
      kind == LB_OUTPUT_CODES ? 2 * sizeof(int32_t) + sizeof(int8_t) : 2 * sizeof(float);
  size_t bytes;
  unsigned char *arrays =
      __builtin_mul_overflow(out_c, channel_bytes, &bytes) ? NULL : malloc(bytes);
  if (arrays == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  stage->arrays = arrays;
  if (kind == LB_OUTPUT_CODES) {
    stage->requantize = *requantize;
    int32_t *multiplier = (int32_t *)arrays;
    int32_t *bias = multiplier + out_c;
    int8_t *shift = (int8_t *)(bias + out_c);
    memcpy(multiplier, requantize->multiplier, out_c * sizeof *multiplier);
    memcpy(shift, requantize->shift, out_c * sizeof *shift);
    if (requantize->bias != NULL) {
      memcpy(bias, requantize->bias, out_c * sizeof *bias);
    }
    stage->requantize.multiplier = multiplier;
    stage->requantize.shift = shift;
    stage->requantize.bias = requantize->bias != NULL ? bias : NULL;
  } else {
    float *scale = (float *)arrays;
    float *bias = scale + out_c;
    memcpy(scale, float_out->scale, out_c * sizeof *scale);
    if (float_out->bias != NULL) {
      memcpy(bias, float_out->bias, out_c * sizeof *bias);
    }
    stage->float_out.scale = scale;
    stage->float_out.bias = float_out->bias != NULL ? bias : NULL;
  }
  return LB_OK;
}

void lb_output_stage_release(lb_output_stage *stage) {
  free(stage->arrays);
  stage->arrays = NULL;
}

size_t lb_output_element_bytes(const lb_output_stage *stage, int sums64) {
  switch (stage->kind) {
  case LB_OUTPUT_CODES: return stage->requantize.out.bits <= 8 ? 1 : 2;
  case LB_OUTPUT_FLOAT: return sizeof(float);
  case LB_OUTPUT_SUMS: break;
  }
  return sums64 ? sizeof(int64_t) : sizeof(int32_t);
}

static int64_t lb_sum_at(const void *sums, int sums64, size_t index) {
  return sums64 ? ((const int64_t *)sums)[index] : ((const int32_t *)sums)[index];
}

/* Codes are source elements of the next layer: 1 byte up to 8 bits, else 2, signed unless the
 * encoding is unsigned. */
static void lb_store_code(void *out, size_t index, lb_operand op, int32_t code) {
  const int is_signed = op.encoding != LB_UNSIGNED;
  if (op.bits <= 8) {
    if (is_signed) {
      ((int8_t *)out)[index] = (int8_t)code;
    } else {
      ((uint8_t *)out)[index] = (uint8_t)code;
    }
  } else if (is_signed) {
    ((int16_t *)out)[index] = (int16_t)code;
  } else {
    ((uint16_t *)out)[index] = (uint16_t)code;
  }
}

void lb_output_stage_write(const lb_output_stage *stage, const void *sums, int sums64,
                           size_t sums_stride, size_t rows, size_t columns, size_t first_channel,
                           void *out, size_t out_stride) {
  for (size_t r = 0; r < rows; r++) {
    for (size_t j = 0; j < columns; j++) {
      const int64_t sum = lb_sum_at(sums, sums64, r * sums_stride + j);
      const size_t channel = first_channel + j;
      if (stage->kind == LB_OUTPUT_CODES) {
        lb_store_code(out, r * out_stride + j, stage->requantize.out,
                      lb_requantize_code(&stage->requantize, channel, sum));
      } else {
        /* In double, which holds every sum up to 2^53 exactly, then rounded to float. */
        const double bias = stage->float_out.bias != NULL ? stage->float_out.bias[channel] : 0.0;
        ((float *)out)[r * out_stride + j] =
            (float)((double)sum * stage->float_out.scale[channel] + bias);
      }
    }
  }
}
