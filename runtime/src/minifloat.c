/* The minifloat quantizers' checks and kernel choice, and the decode of codes (docs/design.md,
 * section 15). */
#include "lowbit/minifloat.h"

#include <string.h>

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

const lb_minifloat_kernel_info *lb_minifloat_select(int output) {
  const lb_minifloat_kernel_info *generic = NULL;
  for (size_t i = 0; i < lb_registry_quantize_minifloat_count; i++) {
    const lb_minifloat_kernel_info *kernel = &lb_registry_quantize_minifloat[i];
    if (kernel->output != output || !lb_cpu_has_isa(kernel->isa)) {
      continue;
    }
    if (strcmp(kernel->isa, "generic") != 0) {
      return kernel;
    }
    if (generic == NULL) {
      generic = kernel;
    }
  }
  return generic;
}

static lb_status quantize(const lb_minifloat_format *format, lb_rounding rounding, uint64_t seed,
                          uint64_t stream, uint64_t first_index, size_t count, const float *x,
                          void *y, int output) {
  if (!format_is_valid(format) || x == NULL || y == NULL || count == 0 ||
      (rounding != LB_ROUND_NEAREST && rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_minifloat_kernel_info *kernel = lb_minifloat_select(output);
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }
  const lb_minifloat_params params = {.exponent_bits = format->exponent_bits,
                                      .mantissa_bits = format->mantissa_bits,
                                      .rounding = rounding,
                                      .seed = seed,
                                      .stream = stream};
  kernel->ukernel(count, x, first_index, y, &params);
  return LB_OK;
}

lb_status lb_quantize_minifloat(const lb_minifloat_format *format, lb_rounding rounding,
                                uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                                const float *x, float *y) {
  return quantize(format, rounding, seed, stream, first_index, count, x, y, LB_MINIFLOAT_FLOAT);
}

lb_status lb_quantize_minifloat_codes(const lb_minifloat_format *format, lb_rounding rounding,
                                      uint64_t seed, uint64_t stream, uint64_t first_index,
                                      size_t count, const float *x, void *codes) {
  const size_t bytes = lb_minifloat_code_bytes(format);
  if (bytes == 0) {
    return LB_INVALID_ARGUMENT;
  }
  return quantize(format, rounding, seed, stream, first_index, count, x, codes,
                  bytes == 1 ? LB_MINIFLOAT_U8 : LB_MINIFLOAT_U16);
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
