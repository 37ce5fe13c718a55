/* The block floating point quantizers (docs/design.md, section 16). Parts:
 * - kernels: every registered kernel against a reference written from the formulas with libm
 *   (frexp for the exponent, nearbyint for ties to even, floor) and the random bits of section 13,
 *   on random blocks of mixed magnitudes, specials (NaN, infinities, zeros, subnormals, powers of
 *   two) and the extremes of int64, plus a hand-made table of exponents and codes;
 * - ties: every tie of every mantissa width 1..15 through every kernel that holds it: ties to even;
 * - unbiased: stochastic rounding of one value at 10^5 indices: mean within 3 sigma of the value,
 *   on a grid point (exactly), between grid points, next to either saturation bound, below the
 *   float range's normals; past the bound it saturates;
 * - chunks: one call against the same tensor in row chunks (first_row), every SIMD kernel against
 *   the generic one bit for bit, and the seed and the stream changing the codes;
 * - decode: lb_bfp_decode against code * 2^(E - m), exactly, also at over- and underflow;
 * - gemm: the mantissas of two tensors multiplied by lb_gemm per block column and scaled by the
 *   exponents equal exactly the dot products of the decoded values;
 * - invalid: the API's refusals and its boundary values. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/block_float.h"
#include "lowbit/lowbit.h"
#include "support/operands.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static int failures;

static void fail(const char *what, const char *kernel, size_t i, long long got, long long want) {
  if (failures++ < 20) {
    fprintf(stderr, "FAIL %s %s: element %zu gives %lld, expected %lld\n", what, kernel, i, got,
            want);
  }
}

/* docs/design.md, section 13, written out again so that the kernels' copy is checked. */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t index) {
  /* Word j: lowbias32 of low * step + add, mix xored in between its rounds, the key from
   * splitmix64 at 4 * high + 2j + 1 and + 2 steps past the (seed, stream) key. */
  const uint64_t g = 0x9e3779b97f4a7c15u, key = mix(seed ^ mix(stream + g));
  uint64_t bits = 0;
  for (unsigned j = 0; j < 2; j++) {
    const uint64_t k1 = mix(key + (4 * (index >> 32) + 2 * j + 1) * g);
    const uint64_t k2 = mix(key + (4 * (index >> 32) + 2 * j + 2) * g);
    uint32_t x = (uint32_t)index * ((uint32_t)k1 | 1u) + (uint32_t)(k1 >> 32);
    x = (x ^ (x >> 16)) * 0x7feb352du;
    x ^= (uint32_t)k2;
    x = (x ^ (x >> 15)) * 0x846ca68bu;
    bits |= (uint64_t)(x ^ (x >> 16)) << (32 * j);
  }
  return bits;
}

static long long clamp(long long q, unsigned m) {
  const long long limit = (1ll << m) - 1;
  return q < -limit ? -limit : q > limit ? limit : q;
}

/* NaN reads as 0, infinities as +-FLT_MAX. */
static double sanitized(float x) {
  return isnan(x) ? 0.0 : isinf(x) ? (x < 0 ? -FLT_MAX : FLT_MAX) : (double)x;
}

/* E of a float block: floor(log2(max)) + 1, which is frexp's exponent; 0 for zeros. */
static int reference_exponent_f32(const float *x, size_t count) {
  double largest = 0.0;
  for (size_t i = 0; i < count; i++) {
    largest = fmax(largest, fabs(sanitized(x[i])));
  }
  int e = 0;
  if (largest > 0.0) {
    frexp(largest, &e);
  }
  return e;
}

/* The code of x in a block with exponent e: t = x * 2^(m-e) exactly in double; stochastic
 * rounding adds u = (r mod 2^j) / 2^j, j the bits t has below its units (the exponent of x's last
 * significand bit is frexp's minus 24, at least -149), up to j = 32; past it the fraction is
 * truncated to 32 bits, against the 32 low random bits. */
static long long reference_f32(float x, int e, const lb_quantize_bfp_args *a, uint64_t index) {
  const int m = (int)a->mantissa_bits;
  const double t = ldexp(sanitized(x), m - e);
  if (a->rounding == LB_ROUND_NEAREST) {
    return clamp((long long)nearbyint(t), a->mantissa_bits);
  }
  int ex = 0;
  frexp(sanitized(x), &ex);
  const int last = ex - 24 < -149 ? -149 : ex - 24, j = e - m - last;
  if (t == 0.0 || j <= 0) {
    return clamp((long long)t, a->mantissa_bits);
  }
  const double whole = floor(t);
  if (j > 32) {
    /* The fraction truncated to 32 bits, F = floor(frac(t) * 2^32) in integers (t * 2^32 is exact,
     * below 2^48): up when F + (r mod 2^32) >= 2^32. */
    const int64_t fraction = (int64_t)floor(ldexp(t, 32)) - (int64_t)whole * ((int64_t)1 << 32);
    const uint64_t r = random_bits(a->seed, a->stream, index) & 0xffffffffu;
    return clamp((long long)whole + ((uint64_t)fraction + r >= ((uint64_t)1 << 32)),
                 a->mantissa_bits);
  }
  /* floor(t + u) = floor(t) + 1 exactly when R >= 2^j - frac(t) * 2^j (both integers). */
  const uint64_t fraction = (uint64_t)ldexp(t - whole, j), one = (uint64_t)1 << (j - 1) << 1;
  const uint64_t r = random_bits(a->seed, a->stream, index) & (one - 1);
  return clamp((long long)whole + (r >= one - fraction), a->mantissa_bits);
}

static int bit_length(uint64_t a) {
  int length = 0;
  for (; a; a >>= 1) {
    length++;
  }
  return length;
}

static uint64_t magnitude(int64_t v) { return v < 0 ? 0 - (uint64_t)v : (uint64_t)v; }

static int block_length(const int64_t *acc, size_t count) {
  uint64_t largest = 0;
  for (size_t i = 0; i < count; i++) {
    largest = magnitude(acc[i]) > largest ? magnitude(acc[i]) : largest;
  }
  return bit_length(largest);
}

/* The literal sums of section 14 at j = length - m, valid for |acc| <= 2^62 (no overflow): the
 * extremes are checked by hand. */
static long long reference_int(int64_t acc, int length, const lb_quantize_bfp_args *a,
                               uint64_t index) {
  const int j = length - (int)a->mantissa_bits;
  if (length == 0 || j <= 0) {
    return clamp(acc * (length ? 1ll << -j : 1), a->mantissa_bits);
  }
  int64_t v;
  if (a->rounding == LB_ROUND_STOCHASTIC) {
    v = (acc + (int64_t)(random_bits(a->seed, a->stream, index) & ((UINT64_C(1) << j) - 1))) >> j;
  } else {
    v = (acc + (INT64_C(1) << (j - 1)) - 1 + ((acc >> j) & 1)) >> j;
  }
  return clamp(v, a->mantissa_bits);
}

static size_t source_bytes(const lb_quantize_bfp_kernel_info *k) {
  return k->source == LB_BFP_SOURCE_I64 ? 8 : 4;
}

static unsigned code_bits(const lb_quantize_bfp_kernel_info *k) {
  return k->code == LB_CODE_S8 ? 8 : 16;
}

static long long code_at(const lb_quantize_bfp_kernel_info *k, const void *q, size_t i) {
  return k->code == LB_CODE_S8 ? ((const int8_t *)q)[i] : ((const int16_t *)q)[i];
}

static int64_t source_int(const lb_quantize_bfp_kernel_info *k, const void *src, size_t i) {
  return k->source == LB_BFP_SOURCE_I32 ? ((const int32_t *)src)[i] : ((const int64_t *)src)[i];
}

static void set_int(const lb_quantize_bfp_kernel_info *k, void *src, size_t i, int64_t v) {
  if (k->source == LB_BFP_SOURCE_I32) {
    ((int32_t *)src)[i] = (int32_t)v;
  } else {
    ((int64_t *)src)[i] = v;
  }
}

static int runs_here(const lb_quantize_bfp_kernel_info *k) {
  if (!lb_cpu_has_isa(k->isa)) {
    printf("skipped %s: this CPU lacks %s\n", k->name, k->isa);
    return 0;
  }
  return 1;
}

static size_t blocks_of(size_t k, size_t n) { return (k + n - 1) / n; }

/* Checks codes and exponents of rows x k source values against the references. */
static size_t check_reference(const lb_quantize_bfp_kernel_info *k, size_t rows, size_t cols,
                              const void *src, uint64_t first_row, const void *q,
                              const int16_t *exponents, const lb_quantize_bfp_args *a) {
  const size_t n = a->block, blocks = blocks_of(cols, n);
  int64_t block[512];
  for (size_t r = 0; r < rows; r++) {
    for (size_t b = 0; b < blocks; b++) {
      const size_t begin = r * cols + b * n, count = cols - b * n < n ? cols - b * n : n;
      int e, length = 0;
      if (k->source == LB_BFP_SOURCE_F32) {
        e = reference_exponent_f32((const float *)src + begin, count);
      } else {
        for (size_t i = 0; i < count; i++) {
          block[i] = source_int(k, src, begin + i);
        }
        length = block_length(block, count);
        e = length ? length - (int)a->shift : 0;
      }
      if (exponents[r * blocks + b] != e) {
        fail("exponent", k->name, r * blocks + b, exponents[r * blocks + b], e);
      }
      for (size_t i = 0; i < count; i++) {
        const uint64_t index = (first_row + r) * cols + b * n + i;
        const long long want = k->source == LB_BFP_SOURCE_F32
                                   ? reference_f32(((const float *)src)[begin + i], e, a, index)
                                   : reference_int(block[i], length, a, index);
        if (code_at(k, q, begin + i) != want) {
          fail("code", k->name, begin + i, code_at(k, q, begin + i), want);
        }
      }
    }
  }
  return rows * cols;
}

enum { ROWS = 7, COLS = 131 }; /* COLS odd: past every vector width, blocks with a remainder */
/* k a multiple of 16 and 48: rows of whole blocks, which SIMD kernels run as one sequence of
 * blocks, 8 or 16 at a time; 120 and 40 blocks leave some over for 16. */
enum { WHOLE_ROWS = 8, WHOLE_COLS = 240 };

/* Random blocks: each block's magnitudes spread over up to 2^50 below a random top (so that some
 * values are below 2^-39 of a step), zeros, all-zero blocks, and the specials up front. */
static void fill(const lb_quantize_bfp_kernel_info *k, void *src, size_t values, size_t n,
                 uint64_t *rng) {
  for (size_t start = 0; start < values; start += n) {
    const uint64_t kind = lb_test_random(rng);
    const int f32 = k->source == LB_BFP_SOURCE_F32;
    const int bits = k->source == LB_BFP_SOURCE_I32 ? 31 : 62;
    const int top = f32 ? (int)(kind % 290) - 160 : (int)(kind % (uint64_t)(bits + 1));
    const int spread = (int)((kind >> 16) % 51);
    for (size_t i = start; i < start + n && i < values; i++) {
      const uint64_t r = lb_test_random(rng);
      const int zero = (kind >> 40) % 8 == 0 || r % 16 == 0;
      const int down = spread ? (int)((r >> 8) % (uint64_t)spread) : 0;
      if (f32) {
        const double significand = (double)((r >> 20) & 0xffffff) / 0x1p24 + 0.5;
        const double x = zero ? 0.0 : ldexp(significand * (r & 1 ? -1 : 1), top - down);
        ((float *)src)[i] = (float)(x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : x);
      } else {
        const int length = top - down > 0 ? top - down : 0;
        const int64_t v = length ? (int64_t)((r >> 2) >> (62 - length)) : 0;
        set_int(k, src, i, zero ? 0 : r & 1 ? -v : v);
      }
    }
  }
  static const float specials[] = {NAN,      -NAN,    INFINITY,  -INFINITY, 0.0f,     -0.0f,
                                   1e-45f,   -1e-45f, 1.17e-38f, 3.4e38f,   -3.4e38f, 0x1p-126f,
                                   0x1p100f, 0.75f,   -1.0f,     FLT_MIN,   FLT_MAX,  -FLT_MAX};
  for (size_t i = 0; i < COUNT(specials); i++) {
    if (k->source == LB_BFP_SOURCE_F32) {
      ((float *)src)[i * 5] = specials[i];
    } else {
      static const int64_t ints[] = {INT32_MAX, INT32_MIN, 1, -1, 0, INT32_MIN + 1};
      set_int(k, src, i * 5, ints[i % COUNT(ints)]);
    }
  }
}

/* Exponents and codes worked out by hand. block = 2 unless said; m = 3 (d = 2^(E-3)). */
typedef struct hand_case {
  float x[2];
  unsigned m;
  int exponent;
  long long q[2];
} hand_case;

static const hand_case hand_cases[] = {
    {{1.0f, 0.5f}, 3, 1, {4, 2}},         /* max 2^0: E = 1, not 0 (not saturated) */
    {{0.75f, -0.3f}, 3, 0, {6, -2}},      /* E = ceil(log2(0.75)) = 0; -2.4 -> -2 */
    {{0.0f, -0.0f}, 3, 0, {0, 0}},        /* a block of zeros: E = 0 */
    {{NAN, 2.0f}, 3, 2, {0, 4}},          /* NaN is 0 */
    {{INFINITY, 1e30f}, 3, 128, {7, 0}},  /* inf is FLT_MAX: E = 128, saturated */
    {{-INFINITY, NAN}, 1, 128, {-1, 0}},  /* m = 1: codes -1, 0, 1 */
    {{0x1p-149f, 0.0f}, 1, -148, {1, 0}}, /* the smallest subnormal: E = -148, d = 2^-149 */
    {{0x1p-149f, 0x1p-148f}, 15, -147, {8192, 16384}}, /* subnormals exactly, d = 2^-162 */
    {{7.75f, 0.5f}, 3, 3, {7, 0}},   /* 7.75 rounds to 8, saturates; 0.5 ties to 0 */
    {{-7.5f, 0.75f}, 3, 3, {-7, 1}}, /* -7.5 ties to -8, saturates; 0.75 -> 1 */
    {{1e-30f, 1.0f}, 7, 1, {0, 64}}, /* far below the step: 0 */
};

static void part_kernels(uint64_t *rng) {
  static const size_t blocks[] = {1, 3, 16, 37, COLS}, whole_blocks[] = {16, 48};
  static const unsigned shifts[] = {0, 5, 31, 62};
  const size_t most = WHOLE_ROWS * WHOLE_COLS;
  void *src = malloc(most * 8), *q = malloc(most * 2);
  int16_t *exponents = malloc(most * sizeof *exponents);
  size_t checked = 0, tiny = 0;
  for (size_t n = 0; n < lb_quantize_bfp_kernel_count(); n++) {
    const lb_quantize_bfp_kernel_info *k = lb_quantize_bfp_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    for (unsigned m = 1; m < code_bits(k); m++) {
      for (size_t b = 0; b < COUNT(blocks) + COUNT(whole_blocks); b++) {
        const int whole = b >= COUNT(blocks);
        /* 5 rows of whole blocks for odd m: 75 and 25 blocks, a run that 8 does not divide. */
        const size_t rows = whole ? (m % 2 ? 5 : WHOLE_ROWS) : ROWS;
        const size_t cols = whole ? WHOLE_COLS : COLS;
        const size_t block = whole ? whole_blocks[b - COUNT(blocks)] : blocks[b];
        for (int rounding = 0; rounding < 2; rounding++) {
          const lb_quantize_bfp_args a = {
              m, block, shifts[(m + b) % COUNT(shifts)], (lb_rounding)rounding, 42, 7};
          const uint64_t first_row = lb_test_random(rng) % 1000;
          fill(k, src, rows * cols, block, rng);
          memset(q, 0x5a, most * 2);
          memset(exponents, 0x5a, most * sizeof *exponents);
          k->fn(rows, cols, src, first_row, q, exponents, &a);
          checked += check_reference(k, rows, cols, src, first_row, q, exponents, &a);
          const size_t code_end = rows * cols * code_bits(k) / 8;
          const size_t exponent_end = rows * blocks_of(cols, block) * sizeof *exponents;
          for (size_t i = 0; i < most * 2; i++) {
            if ((i >= code_end && ((const unsigned char *)q)[i] != 0x5a) ||
                (i >= exponent_end && i < most * sizeof *exponents &&
                 ((const unsigned char *)exponents)[i] != 0x5a)) {
              fail("write past the end", k->name, i, 0, 0);
              break;
            }
          }
          for (size_t e = 0; whole && k->source == LB_BFP_SOURCE_F32 && e < rows * cols / block;
               e++) {
            /* A largest magnitude of at most m significant bits: the blocks SIMD kernels hand to
             * their scalar loop. */
            tiny += exponents[e] != 0 && exponents[e] <= (int)m - 149;
          }
        }
      }
    }
    if (k->source == LB_BFP_SOURCE_F32) {
      for (size_t c = 0; c < COUNT(hand_cases); c++) {
        const hand_case *h = &hand_cases[c];
        if (h->m >= code_bits(k)) {
          continue;
        }
        const lb_quantize_bfp_args a = {h->m, 2, 0, LB_ROUND_NEAREST, 0, 0};
        k->fn(1, 2, h->x, 0, q, exponents, &a);
        if (exponents[0] != h->exponent) {
          fail("hand exponent", k->name, c, exponents[0], h->exponent);
        }
        for (size_t i = 0; i < 2; i++) {
          if (code_at(k, q, i) != h->q[i]) {
            fail("hand code", k->name, c * 2 + i, code_at(k, q, i), h->q[i]);
          }
        }
      }
    }
    if (k->source == LB_BFP_SOURCE_I64) {
      /* Where the literal sums overflow. [INT64_MIN, x] has bit length 64: j = 64 - m. */
      for (unsigned m = 1; m < code_bits(k); m++) {
        const int64_t pairs[][2] = {{INT64_MIN, INT64_MAX}, {INT64_MIN, -1}, {INT64_MIN, 1}};
        const long long top = 1ll << (m - 1);
        for (int rounding = 0; rounding < 2; rounding++) {
          const lb_quantize_bfp_args a = {m, 2, 3, (lb_rounding)rounding, 5, 6};
          for (size_t p = 0; p < COUNT(pairs); p++) {
            k->fn(1, 2, pairs[p], p, q, exponents, &a);
            /* x / 2^j: INT64_MAX is 2^(m-1) - 2^-(64-m), -1 and 1 are -+2^-(64-m). */
            const uint64_t r = random_bits(5, 6, p * 2 + 1) & (UINT64_MAX >> m);
            long long want = p == 0 ? top : 0;
            if (rounding == LB_ROUND_STOCHASTIC) {
              want = p == 0 ? top - (r == 0) : p == 1 ? -(r == 0) : r == UINT64_MAX >> m;
            }
            if (exponents[0] != 61 || code_at(k, q, 0) != -top || code_at(k, q, 1) != want) {
              fail("extreme", k->name, p, code_at(k, q, 1), want);
            }
          }
          /* INT64_MAX alone: bit length 63, 2^m - 2^-(63-m) rounds up and saturates. */
          const int64_t alone[2] = {INT64_MAX, 0};
          k->fn(1, 2, alone, 0, q, exponents, &a);
          if (exponents[0] != 60 || code_at(k, q, 0) != (1ll << m) - 1) {
            fail("extreme max", k->name, m, code_at(k, q, 0), (1ll << m) - 1);
          }
        }
      }
    }
  }
  printf("kernels: %zu codes against the reference, %zu blocks of tiny subnormals\n", checked,
         tiny);
  if (tiny == 0) {
    fprintf(stderr, "FAIL kernels: no block of whole rows had only tiny subnormals\n");
    failures++;
  }
  free(src);
  free(q);
  free(exponents);
}

static void part_ties(void) {
  static const int float_exponents[] = {-133, -20, 0, 31, 128};
  static const int accumulator_shifts[] = {1, 7, 20, 40};
  const size_t most = (2u << 15) + 2;
  void *src = malloc(most * 8), *q = malloc(most * 2);
  int16_t exponent[1];
  size_t ties = 0;
  for (size_t n = 0; n < lb_quantize_bfp_kernel_count(); n++) {
    const lb_quantize_bfp_kernel_info *k = lb_quantize_bfp_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const int f32 = k->source == LB_BFP_SOURCE_F32;
    const int bits = k->source == LB_BFP_SOURCE_I32 ? 32 : 64;
    for (unsigned m = 1; m < code_bits(k); m++) {
      for (size_t f = 0; f < (f32 ? COUNT(float_exponents) : COUNT(accumulator_shifts)); f++) {
        const int e = f32 ? float_exponents[f] : 0, sh = f32 ? 0 : accumulator_shifts[f];
        if (!f32 && (int)m + sh + 1 > bits) {
          continue; /* the ties (2j + 1) * 2^(sh-1) must fit the accumulator */
        }
        /* One block: the anchor (2^m - 1) * d fixes the exponent; then the ties (j + 1/2) * d
         * for j from -2^m to 2^m - 1, all below 2^E in magnitude. */
        const long long low = -(1ll << m), high = (1ll << m) - 1;
        size_t count = 0;
        for (long long j = low - 1; j <= high; j++, count++) {
          const long long twice = j < low ? 2 * high : 2 * j + 1; /* in half steps */
          if (f32) {
            ((float *)src)[count] = (float)ldexp((double)twice, e - (int)m - 1);
          } else {
            set_int(k, src, count, (int64_t)twice * (INT64_C(1) << (sh - 1)));
          }
        }
        const lb_quantize_bfp_args a = {m, count, 3, LB_ROUND_NEAREST, 0, 0};
        k->fn(1, count, src, 0, q, exponent, &a);
        const int want_exponent = f32 ? e : (int)m + sh - 3;
        if (exponent[0] != want_exponent) {
          fail("tie exponent", k->name, m, exponent[0], want_exponent);
        }
        for (size_t i = 1; i < count; i++) {
          const long long j = low + (long long)i - 1, even = j & 1 ? j + 1 : j;
          if (code_at(k, q, i) != clamp(even, m)) {
            fail("tie", k->name, i, code_at(k, q, i), clamp(even, m));
          }
        }
        ties += count - 1;
      }
    }
  }
  printf("ties: %zu ties to even\n", ties);
  free(src);
  free(q);
}

enum { DRAWS = 100000 };

typedef struct sr_case {
  unsigned m;
  int exponent; /* f32: the block's E; integer: the accumulator's dropped bits j */
  double units; /* the value in steps d */
} sr_case;

static double worst_sigma;

/* DRAWS rows [anchor, x], block 2: the anchor (2^m - 1) * d fixes E; the mean of x's stochastic
 * codes against x / d, in standard deviations. */
static void check_unbiased(const lb_quantize_bfp_kernel_info *k, sr_case c, void *src, void *q,
                           int16_t *exponents) {
  const lb_quantize_bfp_args a = {c.m, 2, 0, LB_ROUND_STOCHASTIC, 2024, 11};
  const double anchor = ldexp(1.0, (int)c.m) - 1.0;
  for (size_t i = 0; i < DRAWS; i++) {
    if (k->source == LB_BFP_SOURCE_F32) {
      ((float *)src)[2 * i] = (float)ldexp(anchor, c.exponent - (int)c.m);
      ((float *)src)[2 * i + 1] = (float)ldexp(c.units, c.exponent - (int)c.m);
    } else {
      set_int(k, src, 2 * i, (int64_t)ldexp(anchor, c.exponent));
      set_int(k, src, 2 * i + 1, (int64_t)ldexp(c.units, c.exponent));
    }
  }
  double target;
  if (k->source == LB_BFP_SOURCE_F32) {
    target = ldexp((double)((const float *)src)[1], (int)c.m - c.exponent);
  } else {
    const int64_t acc = source_int(k, src, 1), whole = acc >> c.exponent;
    target = (double)whole + ldexp((double)(acc - whole * (INT64_C(1) << c.exponent)), -c.exponent);
  }
  k->fn(DRAWS, 2, src, 1234567, q, exponents, &a);
  long long sum = 0;
  for (size_t i = 0; i < DRAWS; i++) {
    sum += code_at(k, q, 2 * i + 1);
  }
  const double limit = anchor, mean = (double)sum / DRAWS;
  if (fabs(target) > limit) {
    /* Past the bound both neighbours clamp to it: no randomness is left. */
    if (mean != (target < 0 ? -limit : limit)) {
      fprintf(stderr, "FAIL saturation %s m %u %.9g: mean %.9g\n", k->name, c.m, target, mean);
      failures++;
    }
    printf("saturated %s m %u %.6f: every code %.0f\n", k->name, c.m, target, mean);
    return;
  }
  const double p = target - floor(target);
  const double sigma = sqrt(p * (1.0 - p) / DRAWS), deviation = fabs(mean - target);
  if (p == 0.0 ? deviation != 0.0 : deviation > 3.0 * sigma) {
    fprintf(stderr, "FAIL unbiased %s m %u %.9g: mean %.9g, sigma %.3g\n", k->name, c.m, target,
            mean, sigma);
    failures++;
  } else if (p != 0.0 && deviation / sigma > worst_sigma) {
    worst_sigma = deviation / sigma;
  }
  printf("unbiased %s m %u %.6f: mean %.6f (%.2f sigma)\n", k->name, c.m, target, mean,
         p == 0.0 ? 0.0 : deviation / sigma);
}

static void part_unbiased(void) {
  /* On a grid point, between points, a quarter, one side of either bound, past the bound. */
  static const sr_case floats[] = {
      {4, 3, 3.0},   {4, 3, 2.3},      {4, 3, -5.75},   {4, 3, 14.2},
      {4, 3, -14.7}, {4, 3, 15.4},     {7, -2, 100.37}, {7, 40, -126.9},
      {7, 0, 0.01},  {15, 9, 32766.3}, {15, 9, -0.25},  {15, -120, 12345.67},
      {1, 0, 0.37},  {1, 0, -0.9},     {4, -140, 2.6},  {3, -145, -6.5},
  };
  static const sr_case accumulators[] = {
      {4, 8, 2.30078125},  {4, 8, 5.0},   {4, 8, -14.703125}, {4, 8, 14.2},
      {7, 12, 126.881836}, {7, 12, -0.5}, {1, 20, 0.37},      {15, 10, -32766.7},
  };
  static const sr_case wide[] = {{15, 45, 12345.50001}, {1, 61, 0.5000001}, {15, 47, -32765.4}};
  void *src = malloc(2 * DRAWS * 8), *q = malloc(2 * DRAWS * 2);
  int16_t *exponents = malloc(DRAWS * sizeof *exponents);
  for (size_t n = 0; n < lb_quantize_bfp_kernel_count(); n++) {
    const lb_quantize_bfp_kernel_info *k = lb_quantize_bfp_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const int f32 = k->source == LB_BFP_SOURCE_F32;
    const sr_case *cases = f32 ? floats : accumulators;
    const size_t count = f32 ? COUNT(floats) : COUNT(accumulators);
    for (size_t i = 0; i < count + (k->source == LB_BFP_SOURCE_I64 ? COUNT(wide) : 0); i++) {
      const sr_case c = i < count ? cases[i] : wide[i - count];
      if (c.m < code_bits(k)) {
        check_unbiased(k, c, src, q, exponents);
      }
    }
  }
  printf("unbiased: worst deviation %.2f sigma\n", worst_sigma);
  free(src);
  free(q);
  free(exponents);
}

static const lb_quantize_bfp_kernel_info *generic_of(const lb_quantize_bfp_kernel_info *k) {
  for (size_t n = 0; n < lb_quantize_bfp_kernel_count(); n++) {
    const lb_quantize_bfp_kernel_info *g = lb_quantize_bfp_kernel_at(n);
    if (strcmp(g->isa, "generic") == 0 && g->source == k->source && g->code == k->code) {
      return g;
    }
  }
  return NULL;
}

static void part_chunks(uint64_t *rng) {
  enum { BLOCK = 16 }; /* COLS = 8 * 16 + 3: a short last block */
  const size_t values = ROWS * COLS, blocks = blocks_of(COLS, BLOCK);
  void *src = malloc(values * 8), *whole = malloc(values * 2), *parts = malloc(values * 2),
       *other = malloc(values * 2);
  int16_t *e_whole = malloc(ROWS * blocks * 2), *e_parts = malloc(ROWS * blocks * 2),
          *e_other = malloc(ROWS * blocks * 2);
  size_t compared = 0, simd = 0;
  for (size_t n = 0; n < lb_quantize_bfp_kernel_count(); n++) {
    const lb_quantize_bfp_kernel_info *k = lb_quantize_bfp_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const size_t out = code_bits(k) / 8, in = source_bytes(k);
    const lb_quantize_bfp_args sr = {code_bits(k) - 1, BLOCK, 9, LB_ROUND_STOCHASTIC, 99, 3};
    fill(k, src, values, BLOCK, rng);
    const uint64_t first = 1u << 20;
    k->fn(ROWS, COLS, src, first, whole, e_whole, &sr);
    /* Row chunks of 1, 4 and 2, each told its first row. */
    static const size_t cuts[] = {0, 1, 5, ROWS};
    for (size_t c = 0; c + 1 < COUNT(cuts); c++) {
      k->fn(cuts[c + 1] - cuts[c], COLS, (const char *)src + cuts[c] * COLS * in, first + cuts[c],
            (char *)parts + cuts[c] * COLS * out, e_parts + cuts[c] * blocks, &sr);
    }
    if (memcmp(whole, parts, values * out) != 0 ||
        memcmp(e_whole, e_parts, ROWS * blocks * 2) != 0) {
      fprintf(stderr, "FAIL chunks %s: the codes differ from one call's\n", k->name);
      failures++;
    }
    compared += values;
    /* The seed, the stream and the first row must reach the codes. */
    for (int which = 0; which < 3; which++) {
      lb_quantize_bfp_args changed = sr;
      changed.seed += which == 0;
      changed.stream += which == 1;
      k->fn(ROWS, COLS, src, first + (which == 2), other, e_other, &changed);
      if (memcmp(whole, other, values * out) == 0) {
        fprintf(stderr, "FAIL %s: the codes do not depend on the %s\n", k->name,
                which == 0   ? "seed"
                : which == 1 ? "stream"
                             : "first row");
        failures++;
      }
    }
    const lb_quantize_bfp_kernel_info *g = generic_of(k);
    if (g == k) {
      continue;
    }
    for (int rounding = 0; rounding < 2; rounding++) {
      lb_quantize_bfp_args a = sr;
      a.rounding = (lb_rounding)rounding;
      k->fn(ROWS, COLS, src, first, whole, e_whole, &a);
      g->fn(ROWS, COLS, src, first, other, e_other, &a);
      if (memcmp(whole, other, values * out) != 0 ||
          memcmp(e_whole, e_other, ROWS * blocks * 2) != 0) {
        fprintf(stderr, "FAIL %s: codes differ from %s's\n", k->name, g->name);
        failures++;
      }
    }
    simd++;
  }
  printf("chunks: %zu codes in row chunks; %zu SIMD kernels equal to the generic ones\n", compared,
         simd);
  free(src);
  free(whole);
  free(parts);
  free(other);
  free(e_whole);
  free(e_parts);
  free(e_other);
}

/* q * 2^j rounded once to float; |q| <= 2^15, so only past 2^128 is it out of range. */
static float reference_decode(long long q, int j) {
  const double v = ldexp((double)q, j);
  return fabs(v) >= 0x1p128 ? (v < 0 ? -INFINITY : INFINITY) : (float)v;
}

static void expect_float(const char *what, size_t i, float got, float want) {
  if (memcmp(&got, &want, sizeof got) != 0) {
    if (failures++ < 20) {
      fprintf(stderr, "FAIL %s: element %zu decodes to %a, expected %a\n", what, i, got, want);
    }
  }
}

static void part_decode(uint64_t *rng) {
  const size_t values = ROWS * COLS;
  float *x = malloc(values * 4), *y = malloc(values * 4);
  int16_t *codes = malloc(values * 2), *exponents = malloc(values * 2);
  size_t decoded = 0;
  for (unsigned m = 1; m <= 15; m++) {
    for (int rounding = 0; rounding < 2; rounding++) {
      const lb_bfp_format format = {m, 1 + m * 7 % COLS};
      const lb_quantize_bfp_kernel_info *k = lb_quantize_bfp_select(LB_BFP_SOURCE_F32, m);
      fill(k, x, values, format.block, rng);
      lb_status s = lb_quantize_bfp_f32(&format, (lb_rounding)rounding, 1, 2, 0, ROWS, COLS, x,
                                        codes, exponents, 1);
      s = s == LB_OK ? lb_bfp_decode(&format, ROWS, COLS, codes, exponents, y) : s;
      if (s != LB_OK) {
        fprintf(stderr, "FAIL decode m %u: status %d\n", m, (int)s);
        failures++;
        continue;
      }
      const size_t blocks = lb_bfp_blocks(&format, COLS);
      for (size_t i = 0; i < values; i++) {
        const size_t row = i / COLS, b = (i % COLS) / format.block;
        const long long q = m < 8 ? ((const int8_t *)codes)[i] : codes[i];
        const int e = exponents[row * blocks + b];
        expect_float("decode", i, y[i], reference_decode(q, e - (int)m));
        /* What the quantizers write decodes without rounding. */
        if ((double)y[i] != ldexp((double)q, e - (int)m) && failures++ < 20) {
          fprintf(stderr, "FAIL decode: %lld * 2^%d is not exact\n", q, e - (int)m);
        }
      }
      decoded += values;
    }
  }
  /* Codes and exponents no quantizer writes: over- and underflow, ties below the subnormals. */
  static const struct {
    int16_t code, exponent;
    unsigned m;
  } odd[] = {{1, 32767, 1}, {-1, 32767, 15}, {1, -32768, 1}, {-32768, 15, 15},
             {1, 128, 1},   {1, 129, 1},     {-127, 135, 7}, {3, -135, 15},
             {1, -135, 15}, {3, -149, 1},    {-1, -149, 1},  {127, -142, 7}};
  for (size_t i = 0; i < COUNT(odd); i++) {
    const lb_bfp_format format = {odd[i].m, 1};
    float got = 0.0f;
    int8_t narrow = (int8_t)odd[i].code;
    const void *code = odd[i].m < 8 ? (const void *)&narrow : (const void *)&odd[i].code;
    if (lb_bfp_decode(&format, 1, 1, code, &odd[i].exponent, &got) != LB_OK) {
      fprintf(stderr, "FAIL decode: case %zu refused\n", i);
      failures++;
    }
    expect_float("decode odd", i, got,
                 reference_decode(odd[i].code, odd[i].exponent - (int)odd[i].m));
  }
  printf("decode: %zu values and %zu odd codes\n", decoded, COUNT(odd));
  free(x);
  free(y);
  free(codes);
  free(exponents);
}

/* The mantissas of A [M][K] and W [N][K] through lb_gemm, one block column at a time, scaled by
 * 2^(Ea + Ew - 2m) in integers relative to the smallest scale, against the dot products of the
 * decoded floats made integers at that scale (each product of two decoded values is exact in
 * double: at most 16 significant bits each). */
static void part_gemm(uint64_t *rng) {
  enum { M = 5, N = 6, K = 70 };
  static const unsigned ms[] = {1, 3, 7, 8, 15};
  static const size_t blocks[] = {1, 16, 24, K};
  float a[M * K], w[N * K], da[M * K], dw[N * K];
  int16_t qa[M * K], qw[N * K], ea[M * K], ew[N * K];
  int32_t c32[M * N];
  int64_t c64[M * N];
  size_t products = 0;
  for (size_t mi = 0; mi < COUNT(ms); mi++) {
    for (size_t bi = 0; bi < COUNT(blocks); bi++) {
      const unsigned m = ms[mi];
      const lb_bfp_format format = {m, blocks[bi]};
      const size_t n = blocks[bi], nb = lb_bfp_blocks(&format, K), bytes = m < 8 ? 1 : 2;
      /* Magnitudes in 2^-3 .. 2^3, a few zeros: the scales stay within int64 sums. */
      for (size_t i = 0; i < M * K + N * K; i++) {
        const uint64_t r = lb_test_random(rng);
        const float v =
            r % 11 == 0 ? 0.0f
                        : (float)ldexp((double)(r >> 40) / 0x1p24 + 1.0, (int)((r >> 8) % 7) - 4) *
                              (r & 1 ? -1.0f : 1.0f);
        if (i < M * K) {
          a[i] = v;
        } else {
          w[i - M * K] = v;
        }
      }
      const lb_rounding rounding = (lb_rounding)(bi & 1);
      lb_status s = lb_quantize_bfp_f32(&format, rounding, 8, 1, 0, M, K, a, qa, ea, 1);
      s = s ? s : lb_quantize_bfp_f32(&format, rounding, 8, 2, 0, N, K, w, qw, ew, 1);
      s = s ? s : lb_bfp_decode(&format, M, K, qa, ea, da);
      s = s ? s : lb_bfp_decode(&format, N, K, qw, ew, dw);
      int base = 1 << 20;
      for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
          for (size_t b = 0; b < nb; b++) {
            const int scale = ea[i * nb + b] + ew[j * nb + b] - 2 * (int)m;
            base = scale < base ? scale : base;
          }
        }
      }
      int64_t sums[M * N] = {0};
      const lb_gemm_desc desc = {.a = {m + 1, LB_SIGNED},
                                 .w = {m + 1, LB_SIGNED},
                                 .strategy = LB_AUTO,
                                 .kernel = NULL,
                                 .threads = 1};
      for (size_t b = 0; b < nb && s == LB_OK; b++) {
        const size_t kb = K - b * n < n ? K - b * n : n;
        const int wide = lb_gemm_output_type(desc.a, desc.w, kb) == LB_OUT_INT64;
        s = lb_gemm(&desc, M, N, kb, (const char *)qa + b * n * bytes, K,
                    (const char *)qw + b * n * bytes, K, wide ? (void *)c64 : (void *)c32, N);
        for (size_t i = 0; i < M; i++) {
          for (size_t j = 0; j < N; j++) {
            const int64_t dot = wide ? c64[i * N + j] : c32[i * N + j];
            const int scale = ea[i * nb + b] + ew[j * nb + b] - 2 * (int)m - base;
            sums[i * N + j] += dot * (INT64_C(1) << scale);
          }
        }
      }
      if (s != LB_OK) {
        fprintf(stderr, "FAIL gemm m %u block %zu: status %d\n", m, n, (int)s);
        failures++;
        continue;
      }
      for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
          int64_t want = 0;
          for (size_t col = 0; col < K; col++) {
            const double term = ldexp((double)da[i * K + col] * (double)dw[j * K + col], -base);
            if (term != floor(term) || fabs(term) >= 0x1p62) {
              fprintf(stderr, "FAIL gemm: the product %a is not on the grid 2^%d\n", term, base);
              failures++;
            }
            want += (int64_t)term;
          }
          if (sums[i * N + j] != want) {
            fail("gemm", "lb_gemm", i * N + j, (long long)sums[i * N + j], (long long)want);
          }
          products++;
        }
      }
    }
  }
  printf("gemm: %zu block dot products exact\n", products);
}

static void expect(lb_status got, lb_status want, const char *what) {
  if (got != want) {
    fprintf(stderr, "FAIL invalid %s: status %d, expected %d\n", what, (int)got, (int)want);
    failures++;
  }
}

static void part_invalid(void) {
  const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  const int32_t a32[4] = {5, 6, 7, 8};
  const int64_t a64[4] = {5, 6, 7, 8};
  int16_t q[4] = {7, 7, 7, 7}, e[4] = {9, 9, 9, 9};
  float y[4] = {0};
  const lb_bfp_format ok = {7, 2}, m0 = {0, 2}, m16 = {16, 2}, b0 = {7, 0}, b5 = {7, 5};
  const lb_rounding nearest = LB_ROUND_NEAREST;
  expect(lb_quantize_bfp_f32(NULL, nearest, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT,
         "NULL format");
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, 1, 4, NULL, q, e, 1), LB_INVALID_ARGUMENT,
         "NULL x");
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, 1, 4, x, NULL, e, 1), LB_INVALID_ARGUMENT,
         "NULL codes");
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, 1, 4, x, q, NULL, 1), LB_INVALID_ARGUMENT,
         "NULL exponents");
  expect(lb_quantize_bfp_f32(&m0, nearest, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT, "m 0");
  expect(lb_quantize_bfp_f32(&m16, nearest, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT,
         "m 16");
  expect(lb_quantize_bfp_f32(&b0, nearest, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT,
         "block 0");
  expect(lb_quantize_bfp_f32(&b5, nearest, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT,
         "block past k");
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, 1, 0, x, q, e, 1), LB_INVALID_ARGUMENT, "k 0");
  expect(lb_quantize_bfp_f32(&ok, (lb_rounding)2, 0, 0, 0, 1, 4, x, q, e, 1), LB_INVALID_ARGUMENT,
         "rounding 2");
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, SIZE_MAX / 2, 4, x, q, e, 1),
         LB_INVALID_ARGUMENT, "rows * k past SIZE_MAX");
  expect(lb_quantize_bfp_i32(&ok, 63, nearest, 0, 0, 0, 1, 4, a32, q, e, 1), LB_INVALID_ARGUMENT,
         "i32 s 63");
  expect(lb_quantize_bfp_i32(&ok, 0, nearest, 0, 0, 0, 1, 4, NULL, q, e, 1), LB_INVALID_ARGUMENT,
         "i32 NULL");
  expect(lb_quantize_bfp_i64(&m16, 0, nearest, 0, 0, 0, 1, 4, a64, q, e, 1), LB_INVALID_ARGUMENT,
         "i64 m 16");
  expect(lb_quantize_bfp_i64(&ok, 63, LB_ROUND_STOCHASTIC, 0, 0, 0, 1, 4, a64, q, e, 1),
         LB_INVALID_ARGUMENT, "i64 s 63");
  expect(lb_bfp_decode(NULL, 1, 4, q, e, y), LB_INVALID_ARGUMENT, "decode NULL format");
  expect(lb_bfp_decode(&b5, 1, 4, q, e, y), LB_INVALID_ARGUMENT, "decode block past k");
  expect(lb_bfp_decode(&ok, 1, 4, NULL, e, y), LB_INVALID_ARGUMENT, "decode NULL codes");
  expect(lb_bfp_decode(&ok, 1, 4, q, NULL, y), LB_INVALID_ARGUMENT, "decode NULL exponents");
  expect(lb_bfp_decode(&ok, 1, 4, q, e, NULL), LB_INVALID_ARGUMENT, "decode NULL y");
  for (size_t i = 0; i < 4; i++) {
    if (q[i] != 7 || e[i] != 9 || y[i] != 0.0f) {
      fprintf(stderr, "FAIL invalid: a refused call wrote\n");
      failures++;
      break;
    }
  }
  expect(lb_quantize_bfp_f32(&ok, nearest, 0, 0, 0, 0, 4, x, q, e, 1), LB_OK, "rows 0");
  if (q[0] != 7 || e[0] != 9) {
    fprintf(stderr, "FAIL rows 0 wrote\n");
    failures++;
  }
  if (lb_bfp_code_bytes(&ok) != 1 || lb_bfp_code_bytes(&m16) != 0 || lb_bfp_code_bytes(NULL) != 0 ||
      lb_bfp_blocks(&ok, 5) != 3 || lb_bfp_blocks(&b5, 4) != 0 || lb_bfp_blocks(&b0, 4) != 0) {
    fprintf(stderr, "FAIL code bytes or blocks\n");
    failures++;
  }
  /* The widest and narrowest formats. m = 2, s = 3: the block {5, 6} has bit length 3, E = 0,
   * d = 2^-2: 5 / 2 = 2.5 ties to 2, 6 / 2 = 3; {7, 8}: E = 1, 7 / 4 -> 2, 8 / 4 = 2. */
  const lb_bfp_format wide = {15, 4}, narrow = {1, 1}, two = {2, 2};
  int8_t q8[4];
  expect(lb_quantize_bfp_i64(&wide, 62, LB_ROUND_STOCHASTIC, 0, 0, 0, 1, 4, a64, q, e, 1), LB_OK,
         "i64 m 15 s 62");
  expect(lb_quantize_bfp_f32(&narrow, nearest, 0, 0, 0, 1, 4, x, q8, e, 1), LB_OK, "m 1 block 1");
  expect(lb_quantize_bfp_i32(&two, 3, nearest, 0, 0, 0, 2, 2, a32, q8, e, 1), LB_OK, "i32 m 2");
  if (q8[0] != 2 || q8[1] != 3 || e[0] != 0 || q8[2] != 2 || q8[3] != 2 || e[1] != 1) {
    fprintf(stderr, "FAIL i32 m 2: codes %d %d %d %d, exponents %d %d\n", q8[0], q8[1], q8[2],
            q8[3], e[0], e[1]);
    failures++;
  }
  for (int source = LB_BFP_SOURCE_F32; source <= LB_BFP_SOURCE_I64; source++) {
    const lb_quantize_bfp_kernel_info *k7 = lb_quantize_bfp_select(source, 7),
                                      *k8 = lb_quantize_bfp_select(source, 8);
    printf("invalid: the API quantizes source %d with %s and %s\n", source,
           k7 ? k7->name : "nothing", k8 ? k8->name : "nothing");
    if (k7 == NULL || k7->code != LB_CODE_S8 || k8 == NULL || k8->code != LB_CODE_S16 ||
        lb_quantize_bfp_select(source, 0) || lb_quantize_bfp_select(source, 16)) {
      fprintf(stderr, "FAIL select for source %d\n", source);
      failures++;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s kernels|ties|unbiased|chunks|decode|gemm|invalid\n", argv[0]);
    return 2;
  }
  printf("cpu: %s, %zu quantizers\n", lb_cpu_description(), lb_quantize_bfp_kernel_count());
  uint64_t rng = 0x6a09e667f3bcc909u;
  if (strcmp(argv[1], "kernels") == 0) {
    part_kernels(&rng);
  } else if (strcmp(argv[1], "ties") == 0) {
    part_ties();
  } else if (strcmp(argv[1], "unbiased") == 0) {
    part_unbiased();
  } else if (strcmp(argv[1], "chunks") == 0) {
    part_chunks(&rng);
  } else if (strcmp(argv[1], "decode") == 0) {
    part_decode(&rng);
  } else if (strcmp(argv[1], "gemm") == 0) {
    part_gemm(&rng);
  } else if (strcmp(argv[1], "invalid") == 0) {
    part_invalid();
  } else {
    fprintf(stderr, "unknown part %s\n", argv[1]);
    return 2;
  }
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("pass\n");
  return 0;
}
