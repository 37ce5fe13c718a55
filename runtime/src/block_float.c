/* Block floating point quantizers: argument checks, the choice of a registered kernel and the
 * decode of codes (docs/design.md, section 16). */
#include "lowbit/block_float.h"
#include <stddef.h>

#include <math.h> /* INFINITY */
#include <stdint.h>
#include <string.h>

#include "chunked.h"
#include "registry.h"

enum { MIN_MANTISSA = 1, MAX_MANTISSA = 15, MAX_SHIFT = 62 };

size_t lb_bfp_code_bytes(const lb_bfp_format *format) {
  if (format == NULL || format->mantissa_bits < MIN_MANTISSA ||
      format->mantissa_bits > MAX_MANTISSA) {
    return 0;
  }
  return format->mantissa_bits + 1 <= 8 ? 1 : 2;
}

size_t lb_bfp_blocks(const lb_bfp_format *format, size_t k) {
  if (format == NULL || format->block == 0 || format->block > k) {
    return 0;
  }
  return (k - 1) / format->block + 1;
}

size_t lb_quantize_bfp_kernel_count(void) { return lb_registry_quantize_bfp_count; }

const lb_quantize_bfp_kernel_info *lb_quantize_bfp_kernel_at(size_t index) {
  return index < lb_registry_quantize_bfp_count ? &lb_registry_quantize_bfp[index] : NULL;
}

struct quantize_bfp_key {
  int source, code;
};

static int matches_quantize_bfp(const void *row, const void *key) {
  const lb_quantize_bfp_kernel_info *kernel = row;
  const struct quantize_bfp_key *want = key;
  return kernel->source == want->source && kernel->code == want->code;
}

const lb_quantize_bfp_kernel_info *lb_quantize_bfp_select(int source, unsigned mantissa_bits) {
  if (mantissa_bits < MIN_MANTISSA || mantissa_bits > MAX_MANTISSA) {
    return NULL;
  }
  /* The narrowest code that holds m + 1 bits: the same codes, half the bytes. */
  const int code = mantissa_bits + 1 <= 8 ? LB_CODE_S8 : LB_CODE_S16;
  return lb_registry_first_runnable(
      lb_registry_quantize_bfp, lb_registry_quantize_bfp_count, sizeof lb_registry_quantize_bfp[0],
      offsetof(lb_quantize_bfp_kernel_info, isa), matches_quantize_bfp,
      &(const struct quantize_bfp_key){.source = source, .code = code});
}

/* The checks every call shares: a format for [rows][k] and buffers of rows * k values. */
static int shape_is_valid(const lb_bfp_format *format, size_t rows, size_t k, const void *in,
                          const void *out, const int16_t *exponents) {
  return lb_bfp_code_bytes(format) != 0 && lb_bfp_blocks(format, k) != 0 && in != NULL &&
         out != NULL && exponents != NULL && (rows == 0 || k <= SIZE_MAX / rows);
}

/* One kernel call per chunk of rows: row first of the call is row first_row + first of the
 * tensor, so the chunks write what one call would. */
typedef struct lb_bfp_work {
  const lb_quantize_bfp_kernel_info *kernel;
  lb_quantize_bfp_args args;
  size_t first_row, k, blocks;
  const unsigned char *in;
  unsigned char *codes;
  int16_t *exponents;
  size_t in_bytes, code_bytes;
} lb_bfp_work;

static void run_rows(void *context, size_t first, size_t rows) {
  const lb_bfp_work *work = context;
  const size_t element = first * work->k;
  work->kernel->fn(rows, work->k, work->in + element * work->in_bytes, work->first_row + first,
                   work->codes + element * work->code_bytes, work->exponents + first * work->blocks,
                   &work->args);
}

static lb_status run(int source, const lb_bfp_format *format, unsigned s, lb_rounding rounding,
                     uint64_t seed, uint64_t stream, size_t first_row, size_t rows, size_t k,
                     const void *in, void *codes, int16_t *exponents, unsigned threads) {
  if (!shape_is_valid(format, rows, k, in, codes, exponents) || s > MAX_SHIFT ||
      (rounding != LB_ROUND_NEAREST && rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_quantize_bfp_kernel_info *kernel = lb_quantize_bfp_select(source, format->mantissa_bits);
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }
  const lb_bfp_work work = {.kernel = kernel,
                            .args = {.mantissa_bits = format->mantissa_bits,
                                     .block = format->block,
                                     .shift = s,
                                     .rounding = rounding,
                                     .seed = seed,
                                     .stream = stream},
                            .first_row = first_row,
                            .k = k,
                            .blocks = lb_bfp_blocks(format, k),
                            .in = in,
                            .codes = codes,
                            .exponents = exponents,
                            .in_bytes =
                                source == LB_BFP_SOURCE_I64 ? sizeof(int64_t) : sizeof(float),
                            .code_bytes = lb_bfp_code_bytes(format)};
  /* Blocks never straddle rows, so whole rows are the unit of splitting. */
  lb_chunked_rows(threads, rows, k, run_rows, (void *)&work);
  return LB_OK;
}

lb_status lb_quantize_bfp_f32(const lb_bfp_format *format, lb_rounding rounding, uint64_t seed,
                              uint64_t stream, size_t first_row, size_t rows, size_t k,
                              const float *x, void *codes, int16_t *exponents, unsigned threads) {
  return run(LB_BFP_SOURCE_F32, format, 0, rounding, seed, stream, first_row, rows, k, x, codes,
             exponents, threads);
}

lb_status lb_quantize_bfp_i32(const lb_bfp_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, size_t first_row, size_t rows,
                              size_t k, const int32_t *acc, void *codes, int16_t *exponents,
                              unsigned threads) {
  return run(LB_BFP_SOURCE_I32, format, s, rounding, seed, stream, first_row, rows, k, acc, codes,
             exponents, threads);
}

lb_status lb_quantize_bfp_i64(const lb_bfp_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, size_t first_row, size_t rows,
                              size_t k, const int64_t *acc, void *codes, int16_t *exponents,
                              unsigned threads) {
  return run(LB_BFP_SOURCE_I64, format, s, rounding, seed, stream, first_row, rows, k, acc, codes,
             exponents, threads);
}

/* 2^j as a double for |j| <= 1022, from its bits. */
static double power_of_two(int j) {
  const uint64_t bits = (uint64_t)(j + 1023) << 52;
  double p;
  memcpy(&p, &bits, sizeof p);
  return p;
}

/* q * 2^j as a float. |q| <= 2^15, so q * 2^j has at most 16 significant bits: it is a float
 * exactly when its leading bit is below 2^128 and its last one at least 2^-149; at and past 2^128
 * it is +-inf, below 2^-149 the one conversion from double rounds it to nearest. */
static float scale(int32_t q, int j) {
  /* Past +-1100 the result is 0 or +-inf for every q of 16 bits; the clamp keeps both halves of
   * j within the range where 2^j is a normal double, so (double)q * 2^j1 * 2^j2 rounds at most
   * once, where the float result is 0 anyway. */
  j = j < -1100 ? -1100 : j > 1100 ? 1100 : j;
  const double v = (double)q * power_of_two(j / 2) * power_of_two(j - j / 2);
  if (v >= 0x1p128 || v <= -0x1p128) {
    return v < 0 ? -INFINITY : INFINITY;
  }
  return (float)v;
}

lb_status lb_bfp_decode(const lb_bfp_format *format, size_t rows, size_t k, const void *codes,
                        const int16_t *exponents, float *y) {
  if (!shape_is_valid(format, rows, k, codes, y, exponents)) {
    return LB_INVALID_ARGUMENT;
  }
  const int m = (int)format->mantissa_bits;
  const size_t blocks = lb_bfp_blocks(format, k), wide = lb_bfp_code_bytes(format) == 2;
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < k; c++) {
      const size_t i = r * k + c;
      const int32_t q = wide ? ((const int16_t *)codes)[i] : ((const int8_t *)codes)[i];
      y[i] = scale(q, exponents[r * blocks + c / format->block] - m);
    }
  }
  return LB_OK;
}
