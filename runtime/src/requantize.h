/* Requantization arithmetic (lb_requantize in lowbit/operators.h; docs/design.md, section 12). */
#ifndef LOWBIT_REQUANTIZE_H
#define LOWBIT_REQUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/operators.h"

/* The bound at which lb_requantize_scale saturates: beyond it no int32 bias, zero point and clamp
 * within 16-bit codes can tell two values apart. */
#define LB_REQUANTIZE_SATURATION ((int64_t)1 << 62)

/* round(sum * multiplier / 2^(31 + shift)) with ties away from zero, computed exactly (96-bit
 * product) and saturated at +-LB_REQUANTIZE_SATURATION. multiplier > 0, shift >= -31. */
int64_t lb_requantize_scale(int64_t sum, int32_t multiplier, int shift);

/* The code of output channel `channel` for the exact sum: scaled, plus bias and zero point,
 * clamped; for a bipolar `out`, +1 when that value is >= 0 and -1 otherwise, then clamped. */
int32_t lb_requantize_code(const lb_requantize *rq, size_t channel, int64_t sum);

/* Whether rq is usable for out_c channels: a valid `out`, multipliers in [2^30, 2^31), shifts
 * >= -31, clamp_min <= clamp_max within the range of `out` (-1 or +1 each for bipolar). */
int lb_requantize_is_valid(const lb_requantize *rq, size_t out_c);

#endif
