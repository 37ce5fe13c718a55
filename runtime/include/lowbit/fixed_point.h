/* liblowbit fixed-point quantizers (docs/design.md, section 14): floats, or wide integer
 * accumulators, to two's-complement fixed point <wl, fl> with round-to-nearest (ties to even) or
 * stochastic rounding.
 *
 * A code q of <wl, fl> stands for q * 2^-fl; q is int8_t when wl <= 8, else int16_t, and lies in
 * [-2^(wl-1), 2^(wl-1) - 1]: values beyond saturate to those bounds. NaN gives 0, infinities
 * saturate.
 *
 * Stochastic rounding draws the bits of element i from lb_random_bits(seed, stream,
 * first_index + i) (docs/design.md, section 13): the codes depend on (seed, stream, the element's
 * index in the tensor) alone, the same on every target and for any split of a tensor into calls.
 *
 * threads: 0 takes the default (LOWBIT_THREADS if set, else one per online CPU, fewer for small
 * calls), 1 quantizes on the calling thread, n splits [0, count) into chunks over up to n threads
 * of liblowbit's pool (small calls stay on the calling thread). The codes are the same for every
 * thread count.
 *
 * Include this header on its own (lowbit/lowbit.h does not include it). */
#ifndef LOWBIT_FIXED_POINT_H
#define LOWBIT_FIXED_POINT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Word length wl in 2..16 bits (sign included) and fraction length fl in -32..32 (step 2^-fl). */
typedef struct lb_fixed_format {
  unsigned wl;
  int fl;
} lb_fixed_format;

/* q[i] = clamp(floor(x[i] * 2^fl + u)), u = 1/2 with ties to even (nearest) or u uniform in
 * [0, 1) on a 2^-32 grid (stochastic). first_index: the index of x[0] in its tensor.
 * LB_INVALID_ARGUMENT: fmt, x or q NULL, wl or fl out of range, an unknown rounding. count 0
 * writes nothing. */
lb_status lb_quantize_fixed_f32(const lb_fixed_format *fmt, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count, const float *x,
                                void *q, unsigned threads);

/* An accumulator acc with s extra fraction bits (s in 0..62) to wl bits: nearest
 * q = clamp((acc + 2^(s-1)) >> s) with ties to even, stochastic q = clamp((acc + (r & (2^s - 1)))
 * >> s), r = the element's random bits, >> arithmetic, computed without overflow for every acc. */
lb_status lb_quantize_fixed_i32(unsigned wl, unsigned s, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count,
                                const int32_t *acc, void *q, unsigned threads);
lb_status lb_quantize_fixed_i64(unsigned wl, unsigned s, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count,
                                const int64_t *acc, void *q, unsigned threads);

/* The quantizers built into this library, in kernels.spec order (tests call each one). */
size_t lb_quantize_fixed_kernel_count(void);
const lb_quantize_fixed_kernel_info *lb_quantize_fixed_kernel_at(size_t index);

/* The kernel the calls above use for this source (enum lb_fixed_source) and wl on this CPU: a
 * SIMD one when the CPU runs it, else the generic one; NULL when wl is out of 2..16. */
const lb_quantize_fixed_kernel_info *lb_quantize_fixed_select(int source, unsigned wl);

#ifdef __cplusplus
}
#endif

#endif
