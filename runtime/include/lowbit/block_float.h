/* liblowbit block floating point (HBFP) quantizers (docs/design.md, section 16): floats, or wide
 * integer accumulators, to signed integer mantissas that share one exponent per block of values
 * along the dot-product dimension, with round-to-nearest (ties to even) or stochastic rounding.
 *
 * A tensor is row-major [rows][k], k the dot-product (contiguous) dimension. Each row is cut into
 * blocks of n = block consecutive values (the last one shorter when n does not divide k). A block
 * with the largest magnitude max has the exponent E = floor(log2(max)) + 1, the smallest E with
 * max < 2^E (that is ceil(log2(max)), except at max = 2^p, where E = p + 1 so that 2^p is
 * represented, not saturated to 2^p - 2^(p-m)); its step is d = 2^(E-m) and value x has the code
 *     q = clamp(round(x / d), -(2^m - 1), 2^m - 1),
 * standing for q * 2^(E-m). Codes are int8_t when m + 1 <= 8, else int16_t ([rows][k], like the
 * source), exponents are int16_t ([rows][ceil(k / n)]). A block of zeros has E = 0. NaN reads as 0
 * and +-inf as +-FLT_MAX (so an infinity takes the block's largest exponent, E = 128, and the code
 * +-(2^m - 1)).
 *
 * The codes are two's-complement integers of m + 1 bits: lb_gemm with a = w = {m + 1, LB_SIGNED}
 * multiplies the codes of a block column exactly, and the product of two blocks is that sum times
 * 2^(Ea + Ew - 2m).
 *
 * Stochastic rounding of element (r, c) draws lb_random_bits(seed, stream, (first_row + r) * k + c)
 * (docs/design.md, section 13): the result depends on (seed, stream, element index) alone, the same
 * on every target and for any split of a tensor into row chunks.
 *
 * threads: 0 takes the default (LOWBIT_THREADS if set, else one per online CPU, fewer for small
 * calls), 1 quantizes on the calling thread, n on up to n threads of liblowbit's pool; the rows
 * are split into chunks of whole rows (small calls stay on the calling thread). The codes and
 * exponents are the same for every thread count.
 *
 * Include this header on its own (lowbit/lowbit.h does not include it). */
#ifndef LOWBIT_BLOCK_FLOAT_H
#define LOWBIT_BLOCK_FLOAT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* m mantissa bits (1..15, the sign apart) and n values per shared exponent (1..k). */
typedef struct lb_bfp_format {
  unsigned mantissa_bits;
  size_t block;
} lb_bfp_format;

/* Bytes of one code: 1 when m + 1 <= 8, 2 when m + 1 <= 16, 0 when m is out of 1..15. */
size_t lb_bfp_code_bytes(const lb_bfp_format *format);

/* Exponents per row: ceil(k / block); 0 when block is out of 1..k or format is NULL. */
size_t lb_bfp_blocks(const lb_bfp_format *format, size_t k);

/* Quantizes x [rows][k], rows first_row .. first_row + rows - 1 of tensor `stream`, into codes
 * [rows][k] (lb_bfp_code_bytes each) and exponents [rows][lb_bfp_blocks]. Nearest: round(x / d)
 * with ties to even. Stochastic: floor(x / d + u), u = (r mod 2^j) / 2^j with j the bits x / d has
 * below its units (the exact dropped fraction) up to j = 32; past it (|x / d| < 2^-8) the fraction
 * truncated to 32 bits, up with probability floor(frac * 2^32) / 2^32.
 * LB_INVALID_ARGUMENT: a NULL pointer, m or block out of range, k = 0, rows * k past SIZE_MAX, an
 * unknown rounding. rows = 0 writes nothing. */
lb_status lb_quantize_bfp_f32(const lb_bfp_format *format, lb_rounding rounding, uint64_t seed,
                              uint64_t stream, size_t first_row, size_t rows, size_t k,
                              const float *x, void *codes, int16_t *exponents, unsigned threads);

/* The same for accumulators acc standing for acc * 2^-s (s in 0..62), in exact integer arithmetic
 * for every acc: E = (bit length of the block's largest |acc|) - s, and every acc of the block is
 * rounded like the fixed-point accumulators (docs/design.md, section 14) at j = bit length - m:
 * nearest (acc + 2^(j-1)) >> j with ties to even, stochastic (acc + (r mod 2^j)) >> j (>>
 * arithmetic; acc << -j when j < 0), then clamped. */
lb_status lb_quantize_bfp_i32(const lb_bfp_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, size_t first_row, size_t rows,
                              size_t k, const int32_t *acc, void *codes, int16_t *exponents,
                              unsigned threads);
lb_status lb_quantize_bfp_i64(const lb_bfp_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, size_t first_row, size_t rows,
                              size_t k, const int64_t *acc, void *codes, int16_t *exponents,
                              unsigned threads);

/* y [rows][k] = code * 2^(E - m), E the exponent of the code's block. Exact for what the
 * quantizers write; other exponents are rounded to float once (to nearest, +-inf beyond the
 * float range). Arguments as for the quantizers. */
lb_status lb_bfp_decode(const lb_bfp_format *format, size_t rows, size_t k, const void *codes,
                        const int16_t *exponents, float *y);

/* The quantizers built into this library, in kernels.spec order (tests call each one). */
size_t lb_quantize_bfp_kernel_count(void);
const lb_quantize_bfp_kernel_info *lb_quantize_bfp_kernel_at(size_t index);

/* The kernel the calls above use for this source (enum lb_bfp_source) and m on this CPU: a SIMD
 * one when the CPU runs it, else the generic one; NULL when m is out of 1..15. */
const lb_quantize_bfp_kernel_info *lb_quantize_bfp_select(int source, unsigned mantissa_bits);

#ifdef __cplusplus
}
#endif

#endif
