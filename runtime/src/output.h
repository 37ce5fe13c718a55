/* The output stage of an operator: exact sums as they are, requantized to codes, or to float. */
#ifndef LOWBIT_OUTPUT_H
#define LOWBIT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/operators.h"

/* The caller's parameters, with the per-channel arrays copied into the operator, so that it does
 * not depend on the descriptor's memory after create. */
typedef struct lb_output_stage {
  lb_output_kind kind;
  lb_requantize requantize;  /* LB_OUTPUT_CODES: arrays owned by the stage */
  lb_float_output float_out; /* LB_OUTPUT_FLOAT: arrays owned by the stage */
  /* LB_OUTPUT_CODES, int32 sums: per channel the multiplier (0 where 31 + shift >= 64, which
   * rounds every such product to 0), the rounding shift n = 31 + shift (at most 63) and 2^(n-1)
   * (0 for n = 0), for lb_output_stage_write's 64-bit path; bias plus zero point. */
  uint32_t *fast_multiplier;
  uint8_t *fast_shift;
  uint64_t *fast_half;
  int64_t *fast_offset;
  int simd; /* that path's vector width in bits as the CPU (and LOWBIT_ISA) allow: 512, 256, 0 */
  void *arrays; /* the one allocation behind all of them */
} lb_output_stage;

/* Whether the descriptor's output fields are valid for out_c channels. */
int lb_output_stage_is_valid(lb_output_kind kind, const lb_requantize *requantize,
                             const lb_float_output *float_out, size_t out_c);

/* Copies valid output fields; LB_OUT_OF_MEMORY if the copies cannot be made. */
lb_status lb_output_stage_init(lb_output_stage *stage, lb_output_kind kind,
                               const lb_requantize *requantize, const lb_float_output *float_out,
                               size_t out_c);
void lb_output_stage_release(lb_output_stage *stage);

/* Bytes of one output element: the sums' type, a code of `out`, or a float. */
size_t lb_output_element_bytes(const lb_output_stage *stage, int sums64);

/* Writes rows x columns exact sums (int64_t if sums64, else int32_t; row stride sums_stride)
 * of output channels [first_channel, first_channel + columns) as codes or floats into out
 * (row stride out_stride elements). */
void lb_output_stage_write(const lb_output_stage *stage, const void *sums, int sums64,
                           size_t sums_stride, size_t rows, size_t columns, size_t first_channel,
                           void *out, size_t out_stride);

#endif
