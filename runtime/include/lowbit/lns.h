/* Logarithmic numbers (LNS, as in LNS-Madam) and the LNS-Madam weight update (docs/design.md,
 * section 17).
 *
 * A format {bits b in 2..16, gamma in 1..64, offset e0} has codes sign << (b - 1) | f: f = 0 is
 * zero (signed), f in 1..F = 2^(b-1) - 1 is the magnitude 2^((f + e0) / gamma), base 2^(1/gamma).
 * Every level must be a normal float32: 1 + e0 >= -126 gamma and F + e0 <= 128 gamma - 1 (so 14
 * bits need gamma >= 33, and 15 and 16 bits, which span more binades than float32 has, are refused
 * for every gamma). Codes are uint8_t when b <= 8, else uint16_t.
 *
 * Levels as float32: 2^((f + e0) / gamma) rounded to nearest, exactly (the runtime builds its
 * tables with integer arithmetic, no libm), which is what lb_lns_decode returns.
 *
 * Rounding of x (sign kept, magnitude |x|):
 * - nearest: in the log domain. The threshold between levels f and f + 1 is their geometric mean
 *   2^((f + e0 + 1/2) / gamma), irrational, so no float32 is at it; x rounds up exactly when |x| is
 *   above it. Below level 1, nearest in value: |x| >= level 1 / 2 gives f = 1 (the tie goes up),
 *   less gives zero.
 * - stochastic: between the float32 levels lo <= |x| < hi (lo may be 0 below level 1), up with
 *   probability (|x| - lo) / (hi - lo) to within 2^-32, so E[decode(code)] = x. The bits are
 *   lb_random_bits(seed, stream, first_index + i): the same codes for any chunking and target.
 * - |x| at or beyond the largest level and +-inf: +-F; NaN: code 0 (+0).
 * Accumulators: acc * 2^-s (s in 0..62), |acc| first rounded to 24 significant bits, ties to even
 * (exact below 2^24; it is (float)acc * 2^-s), then quantized as that float.
 *
 * threads (the quantizers and the update): 0 takes the default (LOWBIT_THREADS if set, else one
 * per online CPU, fewer for small calls), 1 runs on the calling thread, n splits [0, count) into
 * chunks over up to n threads of liblowbit's pool (small calls stay on the calling thread). The
 * codes (and states) are the same for every thread count. */
#ifndef LOWBIT_LNS_H
#define LOWBIT_LNS_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"
#include "lowbit/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lb_lns_format {
  unsigned bits;  /* 2..16, sign included */
  unsigned gamma; /* 1..64: levels 2^(k / gamma) */
  int32_t offset; /* e0: f stands for 2^((f + e0) / gamma) */
} lb_lns_format;

/* Bytes of one code: 1 when bits <= 8, else 2; 0 for a format out of range. */
size_t lb_lns_code_bytes(const lb_lns_format *format);

/* Quantizes x[0, count), elements first_index .. first_index + count - 1 of tensor `stream`, into
 * codes (lb_lns_code_bytes each). LB_INVALID_ARGUMENT: a NULL pointer, a format out of range, an
 * unknown rounding, count 0. */
lb_status lb_quantize_lns(const lb_lns_format *format, lb_rounding rounding, uint64_t seed,
                          uint64_t stream, uint64_t first_index, size_t count, const float *x,
                          void *codes, unsigned threads);

/* The same from accumulators worth acc * 2^-s, s in 0..62. */
lb_status lb_quantize_lns_i32(const lb_lns_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                              const int32_t *acc, void *codes, unsigned threads);
lb_status lb_quantize_lns_i64(const lb_lns_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                              const int64_t *acc, void *codes, unsigned threads);

/* The values of codes[0, count) as float32; code bits above the sign are ignored. */
lb_status lb_lns_decode(const lb_lns_format *format, size_t count, const void *codes, float *y);

/* The exact tables of base 2^(1/gamma) the kernels read (built once per gamma and kept; safe
 * from any thread); NULL for gamma outside 1..64. */
const lb_lns_tables *lb_lns_tables_of(unsigned gamma);

/* LNS-Madam (REFERENCE.md section 6): w <- w * 2^(-eta * clamp(g / sqrt(v), +-10) * sign(w)),
 * v <- beta * v + (1 - beta) * g^2, on the codes of w. Per element, in IEEE double:
 *   v' = float(beta * v + (1 - beta) * g * g), saturated at FLT_MAX; stored in v;
 *   n  = clamp(g / sqrtf(v'), -10, 10)  (0 when g = 0; +-10 when v' = 0 and g != 0);
 *   t  = n * (eta * gamma), the step in code units; step = sign(t) * round(|t|), to nearest
 *        (ties to even) or stochastic (up with probability frac(|t|), 32 random bits);
 *   f' = clamp(f - step * sign(w), 1, F); a zero code stays zero, a weight never becomes zero.
 * eta (log2 units) in [0, 65536 / gamma], beta in [0, 1]. Bits come from
 * lb_random_bits(seed, stream, first_index + i). The offset of the format does not enter.
 * LB_BAD_GRADIENT: some g or v of the call is NaN or infinite, or a v is below zero; nothing was
 * written (the check runs over the whole call, in parallel, before any chunk is updated). */
typedef struct lb_lns_madam_params {
  float eta, beta;
  lb_rounding rounding;
  uint64_t seed, stream;
} lb_lns_madam_params;

lb_status lb_lns_madam_update(const lb_lns_format *format, const lb_lns_madam_params *params,
                              uint64_t first_index, size_t count, void *codes, float *v,
                              const float *g, unsigned threads);

/* The kernels built into this library, in kernels.spec order, and the ones the calls above use on
 * this CPU: the first SIMD kernel it runs, else the generic one; NULL if none is built. */
size_t lb_lns_kernel_count(void);
const lb_lns_kernel_info *lb_lns_kernel_at(size_t index);
const lb_lns_kernel_info *lb_lns_select(int source, int code);
size_t lb_lns_madam_kernel_count(void);
const lb_lns_madam_kernel_info *lb_lns_madam_kernel_at(size_t index);
const lb_lns_madam_kernel_info *lb_lns_madam_select(int code);

#ifdef __cplusplus
}
#endif

#endif
