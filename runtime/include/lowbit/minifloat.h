/* Minifloat quantizers: float32 rounded to e exponent bits (2..8) and m mantissa bits (0..10),
 * bias 2^(e-1) - 1, with subnormals (docs/design.md, section 15). E5M10 is IEEE half, E5M2 and
 * E4M3 are FP8 formats; the exponent field of all ones is reserved as in IEEE 754, so E4M3's
 * largest value is 240 (OCP's E4M3, which gives that field to normals, reaches 448).
 *
 * Finite values beyond the largest finite one and +-inf saturate to +-largest; NaN stays NaN: the
 * quiet NaN 0x7fc00000 with x's sign as a float, the code of x's sign, exponent and mantissa all
 * ones, which decodes to that NaN. Rounding is to nearest, ties to even, or stochastic with the
 * random bits of (seed, stream, element index), the same on every target and for any chunking.
 * Values are written as float32 (the simulation view) or as codes sign | exponent | mantissa,
 * uint8_t when e + m + 1 <= 8, else uint16_t (up to 16 bits).
 *
 * threads: 0 takes the default (LOWBIT_THREADS if set, else one per online CPU, fewer for small
 * calls), 1 rounds on the calling thread, n splits [0, count) into chunks over up to n threads of
 * liblowbit's pool (small calls stay on the calling thread). The output is the same for every
 * thread count. */
#ifndef LOWBIT_MINIFLOAT_H
#define LOWBIT_MINIFLOAT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"
#include "lowbit/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lb_minifloat_format {
  unsigned exponent_bits; /* 2..8 */
  unsigned mantissa_bits; /* 0..10 */
} lb_minifloat_format;

/* Bytes of one code: 1 when e + m + 1 <= 8, 2 up to 16 bits; 0 for a format out of range and
 * for the formats past 16 bits (E8M8 .. E8M10, E7M9, E7M10, E6M10), which have the float view
 * only. */
size_t lb_minifloat_code_bytes(const lb_minifloat_format *format);

/* Rounds x[0, count), the elements first_index .. first_index + count - 1 of tensor `stream`, to
 * the format and writes them as float32 to y (y may be x). The element index, not the position in
 * this call, keys the random bits: quantizing a tensor in chunks gives the values of one call.
 * LB_INVALID_ARGUMENT: a NULL pointer, a format out of range, an unknown rounding, count 0. */
lb_status lb_quantize_minifloat(const lb_minifloat_format *format, lb_rounding rounding,
                                uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                                const float *x, float *y, unsigned threads);

/* As lb_quantize_minifloat, writing the codes (lb_minifloat_code_bytes each) to codes;
 * LB_INVALID_ARGUMENT also for a format whose codes take more than 16 bits. */
lb_status lb_quantize_minifloat_codes(const lb_minifloat_format *format, lb_rounding rounding,
                                      uint64_t seed, uint64_t stream, uint64_t first_index,
                                      size_t count, const float *x, void *codes, unsigned threads);

/* Wide integer accumulators: acc[i] with s extra fraction bits (s in 0..62) stands for
 * acc[i] * 2^-s, and is rounded to the format once, in exact integer arithmetic (a detour through
 * float would round twice): to nearest with ties to even (the even code), or up with probability
 * exactly the dropped fraction (at most 63 bits are dropped, against as many low bits of the
 * element's random bits). Subnormals and saturation to the largest finite value are as for
 * floats; 0 gives +0, a negative value that rounds to 0 gives -0. The _codes
 * forms write codes as lb_quantize_minifloat_codes does; LB_INVALID_ARGUMENT also for s > 62. */
lb_status lb_quantize_minifloat_i32(const lb_minifloat_format *format, unsigned s,
                                    lb_rounding rounding, uint64_t seed, uint64_t stream,
                                    uint64_t first_index, size_t count, const int32_t *acc,
                                    float *y, unsigned threads);
lb_status lb_quantize_minifloat_i32_codes(const lb_minifloat_format *format, unsigned s,
                                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                                          uint64_t first_index, size_t count, const int32_t *acc,
                                          void *codes, unsigned threads);
lb_status lb_quantize_minifloat_i64(const lb_minifloat_format *format, unsigned s,
                                    lb_rounding rounding, uint64_t seed, uint64_t stream,
                                    uint64_t first_index, size_t count, const int64_t *acc,
                                    float *y, unsigned threads);
lb_status lb_quantize_minifloat_i64_codes(const lb_minifloat_format *format, unsigned s,
                                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                                          uint64_t first_index, size_t count, const int64_t *acc,
                                          void *codes, unsigned threads);

/* The values of codes[0, count) as float32, exactly; code bits above the sign are ignored. */
lb_status lb_minifloat_decode(const lb_minifloat_format *format, size_t count, const void *codes,
                              float *y);

/* The minifloat kernels built into this library, in kernels.spec order, and the one the quantizers
 * use for a source (enum lb_fixed_source) and an output (enum lb_minifloat_output) on this CPU: the
 * first SIMD kernel it runs, else the generic one; NULL if none is built. */
size_t lb_minifloat_kernel_count(void);
const lb_minifloat_kernel_info *lb_minifloat_kernel_at(size_t index);
const lb_minifloat_kernel_info *lb_minifloat_select(int source, int output);

#ifdef __cplusplus
}
#endif

#endif
