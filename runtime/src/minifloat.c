/* The minifloat quantizers' checks and kernel choice, and the decode of codes (docs/design.md,
 * section 15). */
#include "lowbit/minifloat.h"
#include <stddef.h>

#include <string.h>

#include "chunked.h"
#include "registry.h"

static int format_is_valid(const lb_minifloat_format *format) {
  return format != NULL && format->exponent_bits >= 2 && format->exponent_bits <= 8 &&
         format->mantissa_bits <= 10;
}

size_t lb_minifloat_code_bytes(const lb_minifloat_format *format) {
  if (!format_is_valid(format)) {
    return 0;
  }
  const unsigned bits = format->exponent_bits + format->mantissa_bits + 1;
  return bits <= 8 ? 1 : bits <= 16 ? 2 : 0;
}

size_t lb_minifloat_kernel_count(void) { return lb_registry_quantize_minifloat_count; }

const lb_minifloat_kernel_info *lb_minifloat_kernel_at(size_t index) {
  return index < lb_registry_quantize_minifloat_count ? &lb_registry_quantize_minifloat[index]
                                                      : NULL;
}

struct minifloat_key {
  int source, output;
};

static int matches_minifloat(const void *row, const void *key) {
  const lb_minifloat_kernel_info *kernel = row;
  const struct minifloat_key *want = key;
  return kernel->source == want->source && kernel->output == want->output;
}

const lb_minifloat_kernel_info *lb_minifloat_select(int source, int output) {
  return lb_registry_first_runnable(
      lb_registry_quantize_minifloat, lb_registry_quantize_minifloat_count,
      sizeof lb_registry_quantize_minifloat[0], offsetof(lb_minifloat_kernel_info, isa),
      matches_minifloat, &(const struct minifloat_key){.source = source, .output = output});
}

/* One kernel call per chunk, at the chunk's first element index. */
typedef struct lb_minifloat_work {
  const lb_minifloat_kernel_info *kernel;
  lb_minifloat_params params;
  uint64_t first_index;
  const unsigned char *in;
  unsigned char *out;
  size_t in_bytes, out_bytes;
} lb_minifloat_work;

static void quantize_chunk(void *context, size_t first, size_t count) {
  const lb_minifloat_work *work = context;
  work->kernel->ukernel(count, work->in + first * work->in_bytes, work->first_index + first,
                        work->out + first * work->out_bytes, &work->params);
}

enum { MAX_SHIFT = 62 };

/* codes: the format's codes, else the float32 view. */
static lb_status quantize(const lb_minifloat_format *format, int source, unsigned shift,
                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                          uint64_t first_index, size_t count, const void *x, void *y, int codes,
                          unsigned threads) {
  if (!format_is_valid(format) || x == NULL || y == NULL || count == 0 || shift > MAX_SHIFT ||
      (rounding != LB_ROUND_NEAREST && rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  const size_t bytes = codes ? lb_minifloat_code_bytes(format) : sizeof(float);
  if (bytes == 0) {
    return LB_INVALID_ARGUMENT;
  }
  const int output = !codes ? LB_MINIFLOAT_FLOAT : bytes == 1 ? LB_MINIFLOAT_U8 : LB_MINIFLOAT_U16;
  const lb_minifloat_kernel_info *kernel = lb_minifloat_select(source, output);
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }
  const lb_minifloat_work work = {.kernel = kernel,
                                  .params = {.exponent_bits = format->exponent_bits,
                                             .mantissa_bits = format->mantissa_bits,
                                             .rounding = rounding,
                                             .seed = seed,
                                             .stream = stream,
                                             .shift = shift},
                                  .first_index = first_index,
                                  .in = x,
                                  .out = y,
                                  .in_bytes = source == LB_FIXED_SOURCE_I64 ? 8 : 4,
                                  .out_bytes = bytes};
  /* 64 elements: a whole number of vectors for every ISA. */
  lb_chunked_for(threads, count, 64, quantize_chunk, (void *)&work);
  return LB_OK;
}

lb_status lb_quantize_minifloat(const lb_minifloat_format *format, lb_rounding rounding,
                                uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                                const float *x, float *y, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_F32, 0, rounding, seed, stream, first_index, count, x, y,
                  0, threads);
}

lb_status lb_quantize_minifloat_codes(const lb_minifloat_format *format, lb_rounding rounding,
                                      uint64_t seed, uint64_t stream, uint64_t first_index,
                                      size_t count, const float *x, void *codes, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_F32, 0, rounding, seed, stream, first_index, count, x,
                  codes, 1, threads);
}

lb_status lb_quantize_minifloat_i32(const lb_minifloat_format *format, unsigned s,
                                    lb_rounding rounding, uint64_t seed, uint64_t stream,
                                    uint64_t first_index, size_t count, const int32_t *acc,
                                    float *y, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_I32, s, rounding, seed, stream, first_index, count, acc,
                  y, 0, threads);
}

lb_status lb_quantize_minifloat_i32_codes(const lb_minifloat_format *format, unsigned s,
                                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                                          uint64_t first_index, size_t count, const int32_t *acc,
                                          void *codes, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_I32, s, rounding, seed, stream, first_index, count, acc,
                  codes, 1, threads);
}

lb_status lb_quantize_minifloat_i64(const lb_minifloat_format *format, unsigned s,
                                    lb_rounding rounding, uint64_t seed, uint64_t stream,
                                    uint64_t first_index, size_t count, const int64_t *acc,
                                    float *y, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_I64, s, rounding, seed, stream, first_index, count, acc,
                  y, 0, threads);
}

lb_status lb_quantize_minifloat_i64_codes(const lb_minifloat_format *format, unsigned s,
                                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                                          uint64_t first_index, size_t count, const int64_t *acc,
                                          void *codes, unsigned threads) {
  return quantize(format, LB_FIXED_SOURCE_I64, s, rounding, seed, stream, first_index, count, acc,
                  codes, 1, threads);
}

/* The float32 bits of one code. Subnormal codes are normalized by shifting, not by the kernels'
 * int-to-float conversion, so that the tests compare two ways of reaching each value. */
static uint32_t decode_bits(uint32_t code, unsigned e, unsigned m) {
  const uint32_t sign = ((code >> (e + m)) & 1u) << 31;
  const uint32_t exponent = (code >> m) & ((1u << e) - 1), mantissa = code & ((1u << m) - 1);
  const int bias = (1 << (e - 1)) - 1;
  if (exponent == (1u << e) - 1) {
    return sign | 0x7fc00000u;
  }
  if (exponent != 0) {
    return sign | (uint32_t)((int)exponent - bias + 127) << 23 | mantissa << (23 - m);
  }
  if (mantissa == 0) {
    return sign;
  }
  /* mantissa * 2^(1 - bias - m) = f * 2^power, f brought to 24 bits. */
  uint32_t f = mantissa;
  int power = 1 - bias - (int)m;
  while (f < 0x800000u) {
    f <<= 1;
    power--;
  }
  const int biased = power + 23 + 127;
  if (biased >= 1) {
    return sign | (uint32_t)biased << 23 | (f & 0x7fffffu);
  }
  /* A float32 subnormal (e = 8 only): f * 2^(biased - 150) in steps of 2^-149; the bits shifted
   * out are the zeros shifted in above. */
  return sign | f >> (1 - biased);
}

lb_status lb_minifloat_decode(const lb_minifloat_format *format, size_t count, const void *codes,
                              float *y) {
  const size_t bytes = lb_minifloat_code_bytes(format);
  if (bytes == 0 || codes == NULL || y == NULL || count == 0) {
    return LB_INVALID_ARGUMENT;
  }
  const int narrow = bytes == 1;
  for (size_t i = 0; i < count; i++) {
    const uint32_t code = narrow ? ((const uint8_t *)codes)[i] : ((const uint16_t *)codes)[i];
    const uint32_t bits = decode_bits(code, format->exponent_bits, format->mantissa_bits);
    memcpy(&y[i], &bits, sizeof bits);
  }
  return LB_OK;
}
