/* Output stages: codes of the next layer's operand (requantize.c) or floats, from the exact sums of
 * a block of rows. */
#include <stdlib.h>
#include <string.h>

#include "lowbit/lowbit.h"
#include "output.h"
#include "requantize.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
  /* Halves and offsets, multipliers, fast multipliers and biases, then the shifts and fast
   * shifts (largest alignment first); or scales and biases. */
  const size_t channel_bytes =
      kind == LB_OUTPUT_CODES
          ? 2 * sizeof(uint64_t) + 3 * sizeof(int32_t) + sizeof(int8_t) + sizeof(uint8_t)
          : 2 * sizeof(float);
  size_t bytes;
  unsigned char *arrays =
      __builtin_mul_overflow(out_c, channel_bytes, &bytes) ? NULL : malloc(bytes);
  if (arrays == NULL) {
    return LB_OUT_OF_MEMORY;
  }
  stage->arrays = arrays;
  if (kind == LB_OUTPUT_CODES) {
    stage->requantize = *requantize;
    uint64_t *half = (uint64_t *)arrays;
    int64_t *offset = (int64_t *)(half + out_c);
    int32_t *multiplier = (int32_t *)(offset + out_c);
    uint32_t *fast_multiplier = (uint32_t *)(multiplier + out_c);
    int32_t *bias = (int32_t *)(fast_multiplier + out_c);
    int8_t *shift = (int8_t *)(bias + out_c);
    uint8_t *fast_shift = (uint8_t *)(shift + out_c);
    memcpy(multiplier, requantize->multiplier, out_c * sizeof *multiplier);
    memcpy(shift, requantize->shift, out_c * sizeof *shift);
    if (requantize->bias != NULL) {
      memcpy(bias, requantize->bias, out_c * sizeof *bias);
    }
    stage->requantize.multiplier = multiplier;
    stage->requantize.shift = shift;
    stage->requantize.bias = requantize->bias != NULL ? bias : NULL;
    for (size_t oc = 0; oc < out_c; oc++) {
      const unsigned n = (unsigned)(31 + shift[oc]);
      fast_multiplier[oc] = n < 64 ? (uint32_t)multiplier[oc] : 0;
      fast_shift[oc] = (uint8_t)(n < 64 ? n : 63);
      half[oc] = n == 0 || n >= 64 ? 0 : (uint64_t)1 << (n - 1);
      offset[oc] =
          (int64_t)(requantize->bias != NULL ? requantize->bias[oc] : 0) + requantize->zero_point;
    }
    stage->fast_multiplier = fast_multiplier;
    stage->fast_shift = fast_shift;
    stage->fast_half = half;
    stage->fast_offset = offset;
    stage->simd = lb_cpu_has_isa("avx512") ? 512 : lb_cpu_has_isa("avx2") ? 256 : 0;
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

/* Codes are source elements of the next layer: 1 byte up to 8 bits, else 2, a signed code as its
 * two's complement. */
static inline void lb_store_code(void *out, size_t index, int wide, int64_t code) {
  if (wide) {
    ((uint16_t *)out)[index] = (uint16_t)code;
  } else {
    ((uint8_t *)out)[index] = (uint8_t)code;
  }
}

/* The per-channel factors of columns first_channel onwards, for the row loops below. */
typedef struct lb_row_factors {
  const uint32_t *multiplier;
  const uint8_t *shift;
  const uint64_t *half;
  const int64_t *offset;
  int bipolar;
} lb_row_factors;

static inline lb_row_factors lb_row_factors_at(const lb_output_stage *stage, size_t first_channel) {
  return (lb_row_factors){.multiplier = stage->fast_multiplier + first_channel,
                          .shift = stage->fast_shift + first_channel,
                          .half = stage->fast_half + first_channel,
                          .offset = stage->fast_offset + first_channel,
                          .bipolar = stage->requantize.out.encoding == LB_BIPOLAR};
}

/* One row of codes. A sum that fits int32 takes lb_requantize_code's arithmetic in 64 bits:
 * |sum| <= 2^31 and multiplier < 2^31, so the product is below 2^62, the rounding addend below
 * 2^62, and no result saturates; a channel whose shift reaches 64 has multiplier 0 and gives 0, as
 * the exact path does. Larger sums (int64 C) take the exact 128-bit path. */
static inline __attribute__((always_inline)) void
lb_requantize_row(const lb_output_stage *stage, const void *sums, int sums64, int wide,
                  size_t columns, size_t first_channel, void *codes) {
  const lb_requantize *rq = &stage->requantize;
  const lb_row_factors f = lb_row_factors_at(stage, first_channel);
  const int64_t low = rq->clamp_min, high = rq->clamp_max;
  for (size_t j = 0; j < columns; j++) {
    const int64_t sum = lb_sum_at(sums, sums64, j);
    if (sum != (int32_t)sum) {
      lb_store_code(codes, j, wide, lb_requantize_code(rq, first_channel + j, sum));
      continue;
    }
    /* Branch-free: the signs and clamps of a layer's codes are data, which branches mispredict. */
    const uint64_t negative = (uint64_t)(sum >> 63); /* all ones or 0 */
    const uint64_t magnitude = ((uint64_t)sum ^ negative) - negative;
    const uint64_t rounded = (magnitude * f.multiplier[j] + f.half[j]) >> f.shift[j];
    int64_t value = (int64_t)((rounded ^ negative) - negative) + f.offset[j];
    const int64_t sign = (value >> 63) | 1; /* -1 or +1 */
    value = f.bipolar ? sign : value;
    /* Clamps by masks, made opaque: clang otherwise turns them back into branches, which
     * mispredict on a ReLU's clamp about every other code. */
    int64_t below = -(int64_t)(value < low), above = -(int64_t)(value > high);
    __asm__("" : "+r"(below), "+r"(above));
    value = (value & ~below) | (low & below);
    value = (value & ~above) | (high & above);
    lb_store_code(codes, j, wide, value);
  }
}

#if defined(__x86_64__)
/* lb_requantize_row's 64-bit path for int32 sums, 4 codes per step in AVX2, for the CPUs that have
 * it (the library itself is built for baseline x86-64). The same arithmetic lane by lane: the
 * unsigned 32 x 32 multiply (vpmuludq) holds |sum| <= 2^31 times a multiplier below 2^31. */
__attribute__((target("avx2"))) static void
lb_requantize_row32_avx2(const lb_output_stage *stage, const int32_t *sums, int wide,
                         size_t columns, size_t first_channel, void *codes) {
  const lb_requantize *rq = &stage->requantize;
  const lb_row_factors f = lb_row_factors_at(stage, first_channel);
  const __m256i low = _mm256_set1_epi64x(rq->clamp_min), high = _mm256_set1_epi64x(rq->clamp_max);
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
  /* The low byte (or two) of each 64-bit lane to the first bytes of each 128-bit half. */
  const __m256i narrow =
      wide ? _mm256_setr_epi8(0, 1, 8, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 8,
                              9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)
           : _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 8,
                              -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const size_t code_bytes = wide ? 2 : 1;
  size_t j = 0;
  for (; j + 4 <= columns; j += 4) {
    const __m256i sum = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(sums + j)));
    const __m256i negative = _mm256_cmpgt_epi64(zero, sum);
    const __m256i magnitude = _mm256_sub_epi64(_mm256_xor_si256(sum, negative), negative);
    const __m256i factor =
        _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(f.multiplier + j)));
    uint32_t shift4;
    memcpy(&shift4, f.shift + j, sizeof shift4);
    const __m256i count = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128((int)shift4));
    const __m256i rounded =
        _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epu32(magnitude, factor),
                                           _mm256_loadu_si256((const __m256i *)(f.half + j))),
                          count);
    __m256i value =
        _mm256_add_epi64(_mm256_sub_epi64(_mm256_xor_si256(rounded, negative), negative),
                         _mm256_loadu_si256((const __m256i *)(f.offset + j)));
    if (f.bipolar) {
      value = _mm256_or_si256(_mm256_cmpgt_epi64(zero, value), one);
    }
    value = _mm256_blendv_epi8(value, low, _mm256_cmpgt_epi64(low, value));
    value = _mm256_blendv_epi8(value, high, _mm256_cmpgt_epi64(value, high));
    const __m256i moved = _mm256_shuffle_epi8(value, narrow);
    /* Two lanes' codes per 128-bit half: 2 or 4 bytes each. */
    const uint64_t half_mask = wide ? 0xffffffffu : 0xffffu;
    const uint64_t lower = (uint64_t)(uint32_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(moved));
    const uint64_t upper =
        (uint64_t)(uint32_t)_mm_cvtsi128_si32(_mm256_extracti128_si256(moved, 1));
    const uint64_t packed = (lower & half_mask) | (upper & half_mask) << (wide ? 32 : 16);
    memcpy((unsigned char *)codes + j * code_bytes, &packed, 4 * code_bytes);
  }
  if (j < columns) {
    lb_requantize_row(stage, sums + j, 0, wide, columns - j, first_channel + j,
                      (unsigned char *)codes + j * code_bytes);
  }
}

/* The same with AVX-512 F, 8 codes per step: 64-bit arithmetic shifts, min and max, and vpmovqb
 * (vpmovqw) narrow the lanes to codes. */
__attribute__((target("avx512f"))) static void
lb_requantize_row32_avx512(const lb_output_stage *stage, const int32_t *sums, int wide,
                           size_t columns, size_t first_channel, void *codes) {
  const lb_requantize *rq = &stage->requantize;
  const lb_row_factors f = lb_row_factors_at(stage, first_channel);
  const __m512i low = _mm512_set1_epi64(rq->clamp_min), high = _mm512_set1_epi64(rq->clamp_max);
  const __m512i one = _mm512_set1_epi64(1);
  const size_t code_bytes = wide ? 2 : 1;
  size_t j = 0;
  for (; j + 8 <= columns; j += 8) {
    const __m512i sum = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(sums + j)));
    const __m512i negative = _mm512_srai_epi64(sum, 63);
    const __m512i magnitude = _mm512_abs_epi64(sum);
    const __m512i factor =
        _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(f.multiplier + j)));
    const __m512i count = _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)(f.shift + j)));
    const __m512i rounded = _mm512_srlv_epi64(
        _mm512_add_epi64(_mm512_mul_epu32(magnitude, factor), _mm512_loadu_si512(f.half + j)),
        count);
    __m512i value =
        _mm512_add_epi64(_mm512_sub_epi64(_mm512_xor_si512(rounded, negative), negative),
                         _mm512_loadu_si512(f.offset + j));
    if (f.bipolar) {
      value = _mm512_or_si512(_mm512_srai_epi64(value, 63), one);
    }
    value = _mm512_min_epi64(_mm512_max_epi64(value, low), high);
    unsigned char *at = (unsigned char *)codes + j * code_bytes;
    if (wide) {
      _mm_storeu_si128((__m128i *)at, _mm512_cvtepi64_epi16(value));
    } else {
      _mm_storel_epi64((__m128i *)at, _mm512_cvtepi64_epi8(value));
    }
  }
  if (j < columns) {
    lb_requantize_row(stage, sums + j, 0, wide, columns - j, first_channel + j,
                      (unsigned char *)codes + j * code_bytes);
  }
}
#endif

void lb_output_stage_write(const lb_output_stage *stage, const void *sums, int sums64,
                           size_t sums_stride, size_t rows, size_t columns, size_t first_channel,
                           void *out, size_t out_stride) {
  if (stage->kind == LB_OUTPUT_CODES) {
    const int wide = stage->requantize.out.bits > 8;
    const size_t sum_bytes = sums64 ? sizeof(int64_t) : sizeof(int32_t);
    const size_t code_bytes = wide ? 2 : 1;
    for (size_t r = 0; r < rows; r++) {
      const unsigned char *row = (const unsigned char *)sums + r * sums_stride * sum_bytes;
      unsigned char *codes = (unsigned char *)out + r * out_stride * code_bytes;
#if defined(__x86_64__)
      if (!sums64 && stage->simd == 512) {
        lb_requantize_row32_avx512(stage, (const int32_t *)row, wide, columns, first_channel,
                                   codes);
        continue;
      }
      if (!sums64 && stage->simd == 256) {
        lb_requantize_row32_avx2(stage, (const int32_t *)row, wide, columns, first_channel, codes);
        continue;
      }
#endif
      /* One copy of the loop per sum type and code width, each with them constant. */
      if (sums64) {
        if (wide) {
          lb_requantize_row(stage, row, 1, 1, columns, first_channel, codes);
        } else {
          lb_requantize_row(stage, row, 1, 0, columns, first_channel, codes);
        }
      } else if (wide) {
        lb_requantize_row(stage, row, 0, 1, columns, first_channel, codes);
      } else {
        lb_requantize_row(stage, row, 0, 0, columns, first_channel, codes);
      }
    }
    return;
  }
  for (size_t r = 0; r < rows; r++) {
    for (size_t j = 0; j < columns; j++) {
      const int64_t sum = lb_sum_at(sums, sums64, r * sums_stride + j);
      const size_t channel = first_channel + j;
      /* In double, which holds every sum up to 2^53 exactly, then rounded to float. */
      const double bias = stage->float_out.bias != NULL ? stage->float_out.bias[channel] : 0.0;
      ((float *)out)[r * out_stride + j] =
          (float)((double)sum * stage->float_out.scale[channel] + bias);
    }
  }
}
