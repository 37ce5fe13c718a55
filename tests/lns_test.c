/* Logarithmic numbers (lowbit/lns.h, docs/design.md section 17), one part per argument:
 *   levels        every code of several formats decodes to the float nearest 2^((f + e0) / gamma)
 *                 (exp2l), quantizes back to itself, and the tables' midpoints bracket
 *                 2^((2j + 1) / (2 gamma));
 *   nearest       every kernel against log2l at random values, the floats on either side of each
 *                 threshold, below level 1, saturation, inf, NaN; stochastic codes are one of the
 *                 two neighbours;
 *   accumulators  int32 and int64 sources against (float)acc * 2^-s through the float path;
 *   unbiased      the mean of 10^5 stochastic draws within 3 sigma of x;
 *   determinism   chunked calls against one call, every SIMD kernel against the generic one;
 *   boundaries    stochastic decisions built to sit at their thresholds, every kernel;
 *   update        LNS-Madam against a plain reference (sqrtf, floor), both roundings;
 *   update-unbiased  the mean step of 10^5 stochastic updates within 3 sigma of t;
 *   nonfinite     a NaN or inf gradient or state leaves codes and state unchanged;
 *   invalid       refused arguments;
 *   threads       the update with 1 and 2 threads alike, also when a refused element sits in the
 *                 second half (nothing written). The same bits on every target: digest_test.c. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/lns.h"

#pragma STDC FP_CONTRACT OFF

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static unsigned failures;

static uint32_t bits_of(float x) {
  uint32_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static float float_of(uint32_t b) {
  float x;
  memcpy(&x, &b, sizeof x);
  return x;
}

static void fail(const char *what, const lb_lns_format *f, double x, long got, long want) {
  if (failures++ < 20) {
    printf("FAIL %s (bits %u gamma %u e0 %d): x = %a (%g): got %ld, want %ld\n", what,
           f ? f->bits : 0, f ? f->gamma : 0, f ? f->offset : 0, x, x, got, want);
  }
}

static const lb_lns_format formats[] = {
    {8, 8, -64},     {8, 1, -10},     {4, 2, -3},      {2, 1, 0},       {8, 3, 0},
    {6, 7, -20},     {12, 16, -1000}, {14, 64, -8000}, {13, 17, -2048}, {8, 64, 8000},
    {10, 33, -4100}, {8, 5, -630},    {14, 33, -4000},
    {10, 22, -300},  {9, 23, -100},   {10, 31, -200}};

/* --- the reference, in long double ----------------------------------------------------------- */

static long largest_of(const lb_lns_format *f) { return (1L << (f->bits - 1)) - 1; }

/* 2^((f + e0) / gamma) as the nearest float; *close when the long double value is too near a
 * float midpoint for its own precision to decide. */
static float level_reference(const lb_lns_format *f, long code, int *close) {
  const long double value = exp2l((long double)(code + f->offset) / f->gamma);
  const float rounded = (float)value;
  const float other =
      value > (long double)rounded ? nextafterf(rounded, INFINITY) : nextafterf(rounded, 0.0f);
  const long double mid = ((long double)rounded + (long double)other) / 2;
  *close = fabsl(value - mid) < value * 1e-14L;
  return rounded;
}

/* The documented nearest code of x; *close near a threshold. */
static long nearest_reference(const lb_lns_format *f, float x, int *close) {
  *close = 0;
  if (isnan(x)) {
    return 0;
  }
  const long sign = signbit(x) ? 1L << (f->bits - 1) : 0, largest = largest_of(f);
  const float a = fabsf(x);
  int unused;
  const float smallest = level_reference(f, 1, &unused);
  long m;
  if (a < smallest) {
    m = (long double)a >= (long double)smallest / 2;
  } else if (isinf(a)) {
    m = largest;
  } else {
    const long double position = log2l(a) * f->gamma - f->offset;
    const long double fraction = position - floorl(position);
    *close = fabsl(fraction - 0.5L) < 1e-9L;
    m = (long)floorl(position + 0.5L);
    m = m > largest ? largest : m;
  }
  return sign | m;
}

/* The largest magnitude code whose float level is at most |x| (0 below level 1). */
static long floor_reference(const lb_lns_format *f, float x) {
  const float a = fabsf(x);
  int close;
  if (isnan(a) || a < level_reference(f, 1, &close)) {
    return 0;
  }
  if (isinf(a)) {
    return largest_of(f);
  }
  long m = (long)floorl(log2l(a) * f->gamma - f->offset) + 1;
  m = m > largest_of(f) ? largest_of(f) : m;
  while (m > 1 && level_reference(f, m, &close) > a) {
    m--;
  }
  return m;
}

static uint64_t next(uint64_t *state) {
  *state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *state >> 32;
}

enum { LENGTH = 4096 };

/* Values around the format's range, some random bit patterns, and the specials. */
static void fill(const lb_lns_format *f, float *x, size_t n, uint64_t *state) {
  const double low = (1.0 + f->offset) / f->gamma,
               high = (largest_of(f) + f->offset) / (double)f->gamma;
  const float specials[] = {0.0f,    -0.0f,   INFINITY, -INFINITY, NAN,  -NAN,
                            FLT_MAX, FLT_MIN, 1e-45f,   -1e-45f,   1.0f, -1.0f};
  for (size_t i = 0; i < n; i++) {
    const double u = (double)next(state) / 4294967296.0;
    const float sign = next(state) & 1 ? -1.0f : 1.0f;
    if (i < COUNT(specials)) {
      x[i] = specials[i];
    } else if (i % 8 == 0) {
      x[i] = float_of((uint32_t)next(state));
    } else {
      x[i] = sign * (float)exp2((low - 2.0) + u * (high - low + 4.0));
    }
  }
}

static size_t code_bytes(int code) { return code == LB_LNS_CODE_U8 ? 1 : 2; }

static long code_at(const void *codes, size_t bytes, size_t i) {
  return bytes == 1 ? ((const uint8_t *)codes)[i] : ((const uint16_t *)codes)[i];
}

static lb_quantize_lns_args args_of(const lb_lns_format *f, lb_rounding r, uint64_t seed,
                                    uint64_t stream, unsigned shift) {
  const lb_quantize_lns_args a = {.bits = f->bits,
                                  .offset = f->offset,
                                  .shift = shift,
                                  .rounding = r,
                                  .seed = seed,
                                  .stream = stream,
                                  .tables = lb_lns_tables_of(f->gamma)};
  return a;
}

/* Whether a kernel can take the format here. */
static int kernel_takes(const lb_lns_kernel_info *k, const lb_lns_format *f) {
  return lb_cpu_has_isa(k->isa) && (k->code == LB_LNS_CODE_U16 || f->bits <= 8);
}

/* --- levels ----------------------------------------------------------------------------------- */

static int test_levels(void) {
  size_t checked = 0, close = 0;
  for (size_t i = 0; i < COUNT(formats); i++) {
    const lb_lns_format *f = &formats[i];
    const long largest = largest_of(f), n = 2 * largest + 2;
    const size_t bytes = lb_lns_code_bytes(f);
    static uint16_t codes[65536], back[65536], sr[65536];
    static float y[65536];
    for (long c = 0; c < n; c++) {
      if (bytes == 1) {
        ((uint8_t *)codes)[c] = (uint8_t)c;
      } else {
        codes[c] = (uint16_t)c;
      }
    }
    if (bytes == 0 || lb_lns_decode(f, (size_t)n, codes, y) != LB_OK ||
        lb_quantize_lns(f, LB_ROUND_NEAREST, 0, 0, 0, (size_t)n, y, back, 1) != LB_OK ||
        lb_quantize_lns(f, LB_ROUND_STOCHASTIC, 3, 4, 0, (size_t)n, y, sr, 1) != LB_OK) {
      fail("levels call", f, 0, 0, 0);
      continue;
    }
    for (long c = 0; c < n; c++) {
      const long m = c & largest, negative = c > largest;
      int near_mid = 0;
      const float want = m == 0 ? 0.0f : level_reference(f, m, &near_mid);
      close += near_mid;
      const float signed_want = negative ? -want : want;
      if (!near_mid && bits_of(y[c]) != bits_of(signed_want)) {
        fail("decode", f, y[c], (long)bits_of(y[c]), (long)bits_of(signed_want));
      }
      if (code_at(back, bytes, (size_t)c) != c || code_at(sr, bytes, (size_t)c) != c) {
        fail("a level quantizes to itself", f, y[c], code_at(back, bytes, (size_t)c), c);
      }
    }
    const lb_lns_tables *t = lb_lns_tables_of(f->gamma);
    for (unsigned j = 0; j < f->gamma; j++) {
      const long double mid = exp2l((long double)(2 * j + 1) / (2 * f->gamma)) * 8388608.0L;
      if (fabsl(mid - roundl(mid)) > 1e-6L &&
          !((long double)t->midpoint[j] - 1 < mid && mid < (long double)t->midpoint[j])) {
        fail("midpoint table", f, (double)mid, t->midpoint[j], 0);
      }
    }
    checked += (size_t)n;
  }
  printf("levels: %zu codes decoded against exp2l and quantized back (%zu too close to a float "
         "midpoint to decide)\n",
         checked, close);
  return failures == 0;
}

/* --- nearest ---------------------------------------------------------------------------------- */

static void check_kernels_f32(const lb_lns_format *f, const float *x, size_t n, const char *what) {
  static uint16_t got[LENGTH], sr[LENGTH];
  for (size_t k = 0; k < lb_lns_kernel_count(); k++) {
    const lb_lns_kernel_info *kernel = lb_lns_kernel_at(k);
    if (kernel->source != LB_LNS_SOURCE_F32 || !kernel_takes(kernel, f)) {
      continue;
    }
    const size_t bytes = code_bytes(kernel->code);
    lb_quantize_lns_args a = args_of(f, LB_ROUND_NEAREST, 0, 0, 0);
    kernel->fn(n, x, 0, got, &a);
    a = args_of(f, LB_ROUND_STOCHASTIC, 11, 12, 0);
    kernel->fn(n, x, 0, sr, &a);
    for (size_t i = 0; i < n; i++) {
      int close;
      const long want = nearest_reference(f, x[i], &close);
      if (!close && code_at(got, bytes, i) != want) {
        fail(what, f, x[i], code_at(got, bytes, i), want);
      }
      /* Stochastic: the floor level or the one above (or F), sign kept, NaN as 0. */
      const long s = code_at(sr, bytes, i), m = s & largest_of(f), low = floor_reference(f, x[i]);
      const long sign = isnan(x[i]) ? 0 : signbit(x[i]) ? 1L << (f->bits - 1) : 0;
      if ((s & ~largest_of(f)) != sign || (isnan(x[i]) ? m != 0 : m != low && m != low + 1)) {
        fail("stochastic neighbour", f, x[i], s, low);
      }
    }
  }
}

static int test_nearest(void) {
  static float x[LENGTH];
  uint64_t state = 5;
  size_t thresholds = 0;
  for (size_t i = 0; i < COUNT(formats); i++) {
    const lb_lns_format *f = &formats[i];
    fill(f, x, LENGTH, &state);
    check_kernels_f32(f, x, LENGTH, "nearest, random values");
    /* The floats on either side of each threshold, in three binades of the range. */
    size_t n = 0;
    const int binades[] = {(1 + f->offset) / (int)f->gamma,
                           (f->offset + (int)largest_of(f) / 2) / (int)f->gamma,
                           (f->offset + (int)largest_of(f)) / (int)f->gamma - 1};
    for (size_t b = 0; b < COUNT(binades); b++) {
      for (unsigned j = 0; j < f->gamma && n + 4 <= LENGTH; j++) {
        const long double mid = exp2l((long double)(2 * j + 1) / (2 * f->gamma));
        const uint32_t above = (uint32_t)floorl(mid * 8388608.0L) + 1;
        const int e = binades[b] < -126 ? -126 : binades[b] > 126 ? 126 : binades[b];
        const uint32_t base = (uint32_t)(e + 127) << 23;
        x[n++] = float_of(base | (above - 0x800000u));
        x[n++] = float_of(base | (above - 1 - 0x800000u));
        x[n++] = -float_of(base | (above - 0x800000u));
        x[n++] = -float_of(base | (above + 1 - 0x800000u));
      }
    }
    /* Below level 1: its half, the floats next to it, a subnormal. */
    int close;
    const float smallest = level_reference(f, 1, &close);
    const float half = smallest / 2, largest = level_reference(f, largest_of(f), &close);
    const float edges[] = {half,     nextafterf(half, 0.0f),        nextafterf(half, 1.0f),
                           smallest, nextafterf(smallest, 0.0f),    1e-45f,
                           largest,  nextafterf(largest, INFINITY), largest * 1.5f,
                           FLT_MAX};
    for (size_t k = 0; k < COUNT(edges); k++) {
      x[n++] = edges[k];
      x[n++] = -edges[k];
    }
    thresholds += n;
    check_kernels_f32(f, x, n, "nearest, at the thresholds");
  }
  printf("nearest: %zu formats x %d values and %zu at thresholds and edges, every f32 kernel\n",
         COUNT(formats), LENGTH, thresholds);
  return failures == 0;
}

/* --- accumulators ----------------------------------------------------------------------------- */

static int test_accumulators(void) {
  static int64_t acc64[LENGTH];
  static int32_t acc32[LENGTH];
  static float x[LENGTH];
  static uint16_t want[LENGTH], got[LENGTH];
  uint64_t state = 9;
  const lb_lns_format f = {8, 8, -96};
  const lb_lns_format g = {12, 16, -900};
  const lb_lns_format *fs[] = {&f, &g};
  size_t runs = 0;
  for (size_t fi = 0; fi < COUNT(fs); fi++) {
    for (unsigned s = 0; s <= 62; s += 31) {
      for (int wide = 0; wide <= 1; wide++) {
        for (size_t i = 0; i < LENGTH; i++) {
          const uint64_t r = next(&state) << 32 | next(&state);
          const int64_t v = (int64_t)(r >> (next(&state) % 64));
          acc64[i] = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : i == 2 ? 0 : v;
          acc32[i] = i == 0 ? INT32_MIN : i == 1 ? INT32_MAX : (int32_t)v;
          x[i] = ldexpf(wide ? (float)acc64[i] : (float)acc32[i], -(int)s);
        }
        for (int r = LB_ROUND_NEAREST; r <= LB_ROUND_STOCHASTIC; r++) {
          if (lb_quantize_lns(fs[fi], (lb_rounding)r, 1, 2, 0, LENGTH, x, want, 1) != LB_OK) {
            fail("accumulator reference call", fs[fi], 0, 0, 0);
          }
          for (size_t k = 0; k < lb_lns_kernel_count(); k++) {
            const lb_lns_kernel_info *kernel = lb_lns_kernel_at(k);
            const int source = wide ? LB_LNS_SOURCE_I64 : LB_LNS_SOURCE_I32;
            if (kernel->source != source || !kernel_takes(kernel, fs[fi]) ||
                code_bytes(kernel->code) != lb_lns_code_bytes(fs[fi])) {
              continue;
            }
            const lb_quantize_lns_args a = args_of(fs[fi], (lb_rounding)r, 1, 2, s);
            kernel->fn(LENGTH, wide ? (const void *)acc64 : (const void *)acc32, 0, got, &a);
            const size_t bytes = code_bytes(kernel->code);
            for (size_t i = 0; i < LENGTH; i++) {
              if (code_at(got, bytes, i) != code_at(want, bytes, i)) {
                fail(kernel->name, fs[fi], x[i], code_at(got, bytes, i), code_at(want, bytes, i));
              }
            }
            runs++;
          }
          /* And the public calls. */
          const lb_status status =
              wide ? lb_quantize_lns_i64(fs[fi], s, (lb_rounding)r, 1, 2, 0, LENGTH, acc64, got, 1)
                   : lb_quantize_lns_i32(fs[fi], s, (lb_rounding)r, 1, 2, 0, LENGTH, acc32, got, 1);
          if (status != LB_OK || memcmp(got, want, LENGTH * lb_lns_code_bytes(fs[fi])) != 0) {
            fail("public accumulator call", fs[fi], 0, status, 0);
          }
        }
      }
    }
  }
  printf("accumulators: %zu kernel runs of %d int32/int64 values against (float)acc * 2^-s\n", runs,
         LENGTH);
  return failures == 0;
}

/* --- unbiased --------------------------------------------------------------------------------- */

enum { DRAWS = 100000 };

typedef struct sr_case {
  const char *name;
  lb_lns_format format;
  float x;
} sr_case;

static const sr_case sr_cases[] = {
    {"8-bit gamma 8, on a level", {8, 8, -64}, 1.0f},
    {"8-bit gamma 8, between levels", {8, 8, -64}, 1.03f},
    {"8-bit gamma 8, negative", {8, 8, -64}, -0.37f},
    {"8-bit gamma 8, below level 1", {8, 8, -64}, 0.002f}, /* level 1 = 2^(-63/8) = 0.00426 */
    {"8-bit gamma 8, far below level 1", {8, 8, -64}, 1e-4f},
    {"8-bit gamma 8, near saturation", {8, 8, -64}, 225.0f}, /* 2^(62/8) < x < 2^(63/8) */
    {"4-bit gamma 1, between", {4, 1, 0}, 5.0f},
    {"12-bit gamma 33, between", {12, 33, -1000}, 3.3f},
    {"14-bit gamma 64, between", {14, 64, -8000}, 3.3f},
};

static int test_unbiased(void) {
  static float x[DRAWS], y[DRAWS];
  static uint16_t codes[DRAWS];
  for (size_t c = 0; c < COUNT(sr_cases); c++) {
    const sr_case *sc = &sr_cases[c];
    for (size_t i = 0; i < DRAWS; i++) {
      x[i] = sc->x;
    }
    if (lb_lns_code_bytes(&sc->format) == 0 ||
        lb_quantize_lns(&sc->format, LB_ROUND_STOCHASTIC, 42, c, 0, DRAWS, x, codes, 1) != LB_OK ||
        lb_lns_decode(&sc->format, DRAWS, codes, y) != LB_OK) {
      fail(sc->name, &sc->format, sc->x, 0, 0);
      continue;
    }
    /* The two neighbours, from the reference. */
    const long low = floor_reference(&sc->format, sc->x);
    int close;
    const double lo = low ? level_reference(&sc->format, low, &close) : 0.0;
    const double hi = level_reference(&sc->format, low + 1, &close);
    double sum = 0;
    size_t off = 0;
    for (size_t i = 0; i < DRAWS; i++) {
      const double a = fabs((double)y[i]);
      off += a != lo && a != hi;
      sum += y[i];
    }
    const double ax = fabs((double)sc->x), p = (ax - lo) / (hi - lo);
    const double sigma = (hi - lo) * sqrt(p * (1 - p) / DRAWS);
    const double deviation = fabs(sum / DRAWS) - ax, sigmas = sigma ? deviation / sigma : 0;
    printf("unbiased %-36s x = %-10g mean - x = %+.3e = %+.2f sigma, %zu off the two levels\n",
           sc->name, (double)sc->x, deviation, sigmas, off);
    if (off != 0 || (sigma ? fabs(sigmas) > 3 : deviation != 0)) {
      fail(sc->name, &sc->format, sc->x, 0, 0);
    }
  }
  return failures == 0;
}

/* --- determinism ------------------------------------------------------------------------------ */

static int test_determinism(void) {
  static float x[LENGTH];
  static uint16_t whole[LENGTH], chunked[LENGTH], generic[LENGTH], simd[LENGTH];
  uint64_t state = 77;
  size_t compared = 0;
  for (size_t i = 0; i < COUNT(formats); i++) {
    const lb_lns_format *f = &formats[i];
    fill(f, x, LENGTH, &state);
    const size_t bytes = lb_lns_code_bytes(f);
    for (int r = LB_ROUND_NEAREST; r <= LB_ROUND_STOCHASTIC; r++) {
      const uint64_t first = 1000003;
      lb_status status = lb_quantize_lns(f, (lb_rounding)r, 7, i, first, LENGTH, x, whole, 1);
      const size_t cuts[] = {0, 1, 8, 108, LENGTH};
      for (size_t c = 0; c + 1 < COUNT(cuts); c++) {
        status |= lb_quantize_lns(f, (lb_rounding)r, 7, i, first + cuts[c], cuts[c + 1] - cuts[c],
                                  x + cuts[c], (unsigned char *)chunked + cuts[c] * bytes, 1);
      }
      if (status != LB_OK || memcmp(whole, chunked, LENGTH * bytes) != 0) {
        fail("chunked against whole", f, 0, status, 0);
      }
      const lb_quantize_lns_args a = args_of(f, (lb_rounding)r, 7, i, 0);
      for (size_t k = 0; k < lb_lns_kernel_count(); k++) {
        const lb_lns_kernel_info *kernel = lb_lns_kernel_at(k);
        if (strcmp(kernel->isa, "generic") == 0 || kernel->source != LB_LNS_SOURCE_F32 ||
            !kernel_takes(kernel, f)) {
          continue;
        }
        const lb_lns_kernel_info *reference = NULL;
        for (size_t g = 0; g < lb_lns_kernel_count(); g++) {
          const lb_lns_kernel_info *candidate = lb_lns_kernel_at(g);
          if (strcmp(candidate->isa, "generic") == 0 && candidate->source == kernel->source &&
              candidate->code == kernel->code) {
            reference = candidate;
          }
        }
        if (reference == NULL) {
          fail("no generic kernel", f, 0, 0, 0);
          continue;
        }
        reference->fn(LENGTH, x, first, generic, &a);
        kernel->fn(LENGTH, x, first, simd, &a);
        if (memcmp(generic, simd, LENGTH * code_bytes(kernel->code)) != 0) {
          printf("FAIL %s differs from %s\n", kernel->name, reference->name);
          failures++;
        }
        compared++;
      }
    }
  }
  printf("determinism: %zu formats x 2 roundings chunked against whole; %zu SIMD kernel runs "
         "against the generic ones%s\n",
         COUNT(formats), compared, compared ? "" : " (SKIP: no SIMD kernel runs on this CPU)");
  return failures == 0;
}

/* --- update ----------------------------------------------------------------------------------- */

/* docs/design.md section 13, written out again. */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
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

/* --- boundaries ------------------------------------------------------------------------------ */

/* floor(a / b) for b > 0. */
static long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Stochastic decisions at their thresholds, where the random word r (word 1 of the element's bits)
 * is known: for each element a float is built from r so that the documented test (design.md
 * section 17) is at or one step past equality, and every kernel must give the code the test
 * gives. At or above level 1, between levels lo <= |x| < hi of its binade: up when
 * r * (hi - lo) < d * 2^32, d = |x|'s significand - lo; below level 1 = m1 * 2^e1, for
 * |x| = mx * 2^ex, s = e1 - ex: up (to code 1) when r * m1 < ceil(mx * 2^(32 - s)). Random
 * inputs meet equality once in 2^20 elements or so, which no other part reaches. */
static int test_boundaries(void) {
  static float x[LENGTH];
  static long want[LENGTH];
  static uint16_t got[LENGTH];
  uint64_t state = 91;
  size_t checked = 0, built = 0;
  for (size_t i = 0; i < COUNT(formats); i++) {
    const lb_lns_format *f = &formats[i];
    const lb_lns_tables *t = lb_lns_tables_of(f->gamma);
    const long largest = largest_of(f), gamma = (long)f->gamma;
    const long k1 = f->offset + 1, e1_unbiased = floor_div(k1, gamma);
    const uint64_t m1 = t->level[k1 - e1_unbiased * gamma];
    const long e1 = e1_unbiased + 127; /* the exponent field of level 1 */
    const uint64_t first = 5000011, seed = 7, stream = 100 + i;
    for (size_t n = 0; n < LENGTH; n++) {
      const uint64_t r = random_bits(seed, stream, first + n) >> 32;
      const uint64_t choice = next(&state), delta = choice & 1;
      const uint32_t sign = (choice >> 1) & 1 ? 0x80000000u : 0;
      x[n] = 0.0f;
      want[n] = 0;
      if ((choice >> 2) & 1 && largest >= 3) {
        /* A code k in 1..largest-1: j = k + e0 mod gamma in binade E. */
        const long k = 1 + (long)(next(&state) % (uint64_t)(largest - 1));
        const long e = floor_div(k + f->offset, gamma), j = k + f->offset - e * gamma;
        const uint64_t lo = t->level[j], w = t->level[j + 1] - lo;
        const uint64_t d = ((r * w) >> 32) + delta;
        if (e + 127 < 1 || e + 127 > 254 || d >= w) {
          continue;
        }
        x[n] = float_of(sign | (uint32_t)(e + 127) << 23 | (uint32_t)(lo + d - (1u << 23)));
        want[n] = k + (r * w < d << 32);
      } else {
        /* s in 0..32, a normal |x| (exponent field e1 - s) or a subnormal one (field 0, read
         * as exponent 1). */
        const long s = (long)(next(&state) % 33);
        const long field = e1 - s >= 1 ? e1 - s : 0, ex = field ? field : 1;
        if (e1 < 1 || e1 > 254 || e1 - ex != s) {
          continue;
        }
        const uint64_t mx = ((r * m1) >> (32 - s)) + delta;
        const int fits = field ? mx >= (1u << 23) && mx < (1u << 24) && (s > 0 || mx < m1)
                               : mx < (1u << 23);
        if (!fits) {
          continue;
        }
        x[n] = float_of(sign | (uint32_t)field << 23 | (uint32_t)(mx & 0x7fffffu));
        want[n] = r * m1 < mx << (32 - s);
      }
      want[n] |= sign ? 1L << (f->bits - 1) : 0;
      built++;
    }
    const lb_quantize_lns_args a = args_of(f, LB_ROUND_STOCHASTIC, seed, stream, 0);
    for (size_t k = 0; k < lb_lns_kernel_count(); k++) {
      const lb_lns_kernel_info *kernel = lb_lns_kernel_at(k);
      if (kernel->source != LB_LNS_SOURCE_F32 || !kernel_takes(kernel, f)) {
        continue;
      }
      kernel->fn(LENGTH, x, first, got, &a);
      for (size_t n = 0; n < LENGTH; n++) {
        const long code = code_at(got, code_bytes(kernel->code), n);
        if (code != want[n]) {
          fail(kernel->name, f, x[n], code, want[n]);
        }
      }
      checked++;
    }
  }
  printf("boundaries: %zu inputs at a stochastic threshold, %zu kernel runs\n", built, checked);
  return failures == 0 && built > 0;
}


/* The update as lns.h states it, one element. */
static void update_reference(const lb_lns_format *f, const lb_lns_madam_params *p, uint64_t index,
                             long *code, float *v, float g) {
  const double moment = (double)p->beta * (double)*v + (1.0 - (double)p->beta) * ((double)g * g);
  const float vf = moment < (double)FLT_MAX ? (float)moment : FLT_MAX;
  *v = vf;
  double n = 0;
  if (g != 0) {
    n = vf > 0 ? (double)g / (double)sqrtf(vf) : g > 0 ? 10 : -10;
  }
  n = fmax(-10.0, fmin(10.0, n));
  const double t = n * ((double)p->eta * f->gamma), a = fabs(t), fl = floor(a), frac = a - fl;
  int up;
  if (p->rounding == LB_ROUND_STOCHASTIC) {
    up = (double)(random_bits(p->seed, p->stream, index) >> 32) * 0x1p-32 < frac;
  } else {
    up = frac > 0.5 || (frac == 0.5 && fmod(fl, 2.0) == 1.0);
  }
  const long step = (long)(t < 0 ? -(fl + up) : fl + up);
  const long largest = largest_of(f), sign = (*code >> (f->bits - 1)) & 1, m = *code & largest;
  long moved = sign ? m + step : m - step;
  moved = moved < 1 ? 1 : moved > largest ? largest : moved;
  *code = sign << (f->bits - 1) | (m == 0 ? 0 : moved);
}

static const lb_lns_format update_formats[] = {{8, 8, -64}, {12, 16, -1000}, {4, 1, -3}};

static int test_update(void) {
  static uint16_t codes[LENGTH], got[LENGTH];
  static float v[LENGTH], vgot[LENGTH], g[LENGTH];
  static long want[LENGTH];
  static float vwant[LENGTH];
  uint64_t state = 3;
  size_t runs = 0;
  for (size_t fi = 0; fi < COUNT(update_formats); fi++) {
    const lb_lns_format *f = &update_formats[fi];
    const size_t bytes = lb_lns_code_bytes(f);
    for (size_t i = 0; i < LENGTH; i++) {
      const long c = (long)(next(&state) % (uint64_t)(2 * largest_of(f) + 2));
      if (bytes == 1) {
        ((uint8_t *)codes)[i] = (uint8_t)c;
      } else {
        codes[i] = (uint16_t)c;
      }
      const uint32_t r = (uint32_t)next(&state);
      g[i] = i % 5 == 0 ? 0.0f : ldexpf((float)(int32_t)r / 2147483648.0f, (int)(r % 40) - 30);
      v[i] = i % 7 == 0 ? 0.0f : ldexpf((float)(next(&state) % 1000) / 1000.0f, (int)(r % 50) - 40);
    }
    g[1] = FLT_MAX;
    g[2] = 1e-45f;
    v[3] = FLT_MAX;
    for (int r = LB_ROUND_NEAREST; r <= LB_ROUND_STOCHASTIC; r++) {
      const lb_lns_madam_params p = {
          .eta = 0.35f, .beta = 0.9f, .rounding = (lb_rounding)r, .seed = 5, .stream = fi};
      for (size_t i = 0; i < LENGTH; i++) {
        want[i] = code_at(codes, bytes, i);
        vwant[i] = v[i];
        update_reference(f, &p, 100 + i, &want[i], &vwant[i], g[i]);
      }
      for (size_t k = 0; k <= lb_lns_madam_kernel_count(); k++) {
        /* Every kernel, then the public call. */
        const lb_lns_madam_kernel_info *kernel =
            k < lb_lns_madam_kernel_count() ? lb_lns_madam_kernel_at(k) : NULL;
        if (kernel && (!lb_cpu_has_isa(kernel->isa) || code_bytes(kernel->code) != bytes)) {
          continue;
        }
        memcpy(got, codes, sizeof got);
        memcpy(vgot, v, sizeof vgot);
        const lb_lns_madam_args a = {f->bits,    f->gamma, p.eta,   p.beta,
                                     p.rounding, p.seed,   p.stream};
        lb_status status = LB_OK;
        if (kernel) {
          kernel->fn(LENGTH, got, vgot, g, 100, &a);
        } else {
          status = lb_lns_madam_update(f, &p, 100, LENGTH, got, vgot, g, 1);
        }
        if (status != LB_OK) {
          fail("update status", f, 0, status, 0);
        }
        for (size_t i = 0; i < LENGTH; i++) {
          if (code_at(got, bytes, i) != want[i] || bits_of(vgot[i]) != bits_of(vwant[i])) {
            fail(kernel ? kernel->name : "lb_lns_madam_update", f, g[i], code_at(got, bytes, i),
                 want[i]);
          }
        }
        runs++;
      }
    }
  }
  printf("update: %zu runs of %d weights against the reference\n", runs, LENGTH);
  return failures == 0;
}

static int test_update_unbiased(void) {
  static uint8_t codes[DRAWS];
  static float v[DRAWS], g[DRAWS];
  const lb_lns_format f = {8, 8, -64};
  /* n = g / sqrt(v) = 0.5 / sqrt(0.9 * 0.2 + 0.1 * 0.25) = 1.1043; t = n * 0.3 * 8 = 2.65. */
  const long start = 60;
  for (int negative = 0; negative <= 1; negative++) {
    const lb_lns_madam_params p = {.eta = 0.3f,
                                   .beta = 0.9f,
                                   .rounding = LB_ROUND_STOCHASTIC,
                                   .seed = 99,
                                   .stream = 1 + (uint64_t)negative};
    for (size_t i = 0; i < DRAWS; i++) {
      codes[i] = (uint8_t)(negative << 7 | start);
      v[i] = 0.2f;
      g[i] = 0.5f;
    }
    if (lb_lns_madam_update(&f, &p, 0, DRAWS, codes, v, g, 1) != LB_OK) {
      fail("update call", &f, 0, 0, 0);
      return 0;
    }
    const double vf = (float)(0.9 * (double)0.2f + 0.1 * 0.25);
    const double t = 0.5 / sqrt(vf) * ((double)0.3f * 8), frac = t - floor(t);
    double sum = 0;
    size_t off = 0;
    for (size_t i = 0; i < DRAWS; i++) {
      const long moved = (codes[i] & 127) - start, step = negative ? moved : -moved;
      off += step != (long)floor(t) && step != (long)floor(t) + 1;
      sum += (double)step;
    }
    const double sigma = sqrt(frac * (1 - frac) / DRAWS), deviation = sum / DRAWS - t;
    printf("update-unbiased %s weights: t = %.6f, mean step - t = %+.3e = %+.2f sigma, %zu off\n",
           negative ? "negative" : "positive", t, deviation, deviation / sigma, off);
    if (off || fabs(deviation / sigma) > 3) {
      fail("update unbiased", &f, t, 0, 0);
    }
  }
  return failures == 0;
}

static int test_nonfinite(void) {
  static uint16_t codes[64], before[64];
  static float v[64], vbefore[64], g[64];
  const float bad_g[] = {NAN, -NAN, INFINITY, -INFINITY};
  const float bad_v[] = {NAN, INFINITY, -1.0f, -1e-45f};
  size_t checks = 0;
  for (size_t fi = 0; fi < COUNT(update_formats); fi++) {
    const lb_lns_format *f = &update_formats[fi];
    for (size_t b = 0; b < COUNT(bad_g) * 2; b++) {
      for (size_t i = 0; i < 64; i++) {
        codes[i] = (uint16_t)((i * 37) & (lb_lns_code_bytes(f) == 1 ? 0xff : 0xffff));
        v[i] = 0.25f;
        g[i] = 0.1f * (float)i;
      }
      /* At the end, so that everything before it would have been written. */
      if (b < COUNT(bad_g)) {
        g[63] = bad_g[b];
      } else {
        v[63] = bad_v[b - COUNT(bad_g)];
      }
      memcpy(before, codes, sizeof codes);
      memcpy(vbefore, v, sizeof v);
      const lb_lns_madam_params p = {.eta = 0.5f, .beta = 0.9f, .rounding = LB_ROUND_STOCHASTIC};
      for (size_t k = 0; k <= lb_lns_madam_kernel_count(); k++) {
        const lb_lns_madam_kernel_info *kernel =
            k < lb_lns_madam_kernel_count() ? lb_lns_madam_kernel_at(k) : NULL;
        if (kernel &&
            (!lb_cpu_has_isa(kernel->isa) || code_bytes(kernel->code) != lb_lns_code_bytes(f))) {
          continue;
        }
        /* A kernel's check counts the one refused element; the public call refuses the whole. */
        const int bad = kernel
                            ? kernel->check(64, v, g) == 1
                            : lb_lns_madam_update(f, &p, 0, 64, codes, v, g, 1) == LB_BAD_GRADIENT;
        if (!bad || memcmp(codes, before, sizeof codes) != 0 || memcmp(v, vbefore, sizeof v) != 0) {
          fail(kernel ? kernel->name : "lb_lns_madam_update", f, g[63], bad, 1);
        }
        checks++;
      }
    }
  }
  printf("nonfinite: %zu calls with a NaN, inf or negative state left everything unchanged\n",
         checks);
  return failures == 0;
}

/* --- invalid ---------------------------------------------------------------------------------- */

static int test_invalid(void) {
  float x = 1.0f, y, v = 0.0f, g = 0.0f;
  uint16_t code = 0;
  int32_t a32 = 1;
  int64_t a64 = 1;
  const lb_lns_format bad[] = {{1, 8, 0},       {17, 8, 0},
                               {8, 0, 0},       {8, 65, 0},
                               {8, 8, -1010},   {8, 8, 1024 - 127 + 1},
                               {15, 64, -8000}, {16, 64, -9000 - 10000},
                               {14, 32, -4000}};
  for (size_t i = 0; i < COUNT(bad); i++) {
    const lb_lns_madam_params p = {.eta = 0.1f, .beta = 0.5f};
    if (lb_lns_code_bytes(&bad[i]) != 0 ||
        lb_quantize_lns(&bad[i], LB_ROUND_NEAREST, 0, 0, 0, 1, &x, &code, 1) !=
            LB_INVALID_ARGUMENT ||
        lb_lns_decode(&bad[i], 1, &code, &y) != LB_INVALID_ARGUMENT ||
        lb_lns_madam_update(&bad[i], &p, 0, 1, &code, &v, &g, 1) != LB_INVALID_ARGUMENT) {
      fail("a format out of range is accepted", &bad[i], 0, 0, 0);
    }
  }
  const lb_lns_format f = {8, 8, -64};
  const lb_lns_madam_params ok = {.eta = 0.1f, .beta = 0.5f};
  const lb_lns_madam_params bad_params[] = {
      {.eta = -0.1f, .beta = 0.5f},
      {.eta = NAN, .beta = 0.5f},
      {.eta = 8193.0f, .beta = 0.5f},
      {.eta = 0.1f, .beta = 1.5f},
      {.eta = 0.1f, .beta = NAN},
      {.eta = 0.1f, .beta = -0.1f},
      {.eta = 0.1f, .beta = 0.5f, .rounding = (lb_rounding)2}};
  for (size_t i = 0; i < COUNT(bad_params); i++) {
    if (lb_lns_madam_update(&f, &bad_params[i], 0, 1, &code, &v, &g, 1) != LB_INVALID_ARGUMENT) {
      fail("bad update parameters are accepted", &f, (double)bad_params[i].eta, (long)i, 0);
    }
  }
  if (lb_quantize_lns(&f, (lb_rounding)2, 0, 0, 0, 1, &x, &code, 1) != LB_INVALID_ARGUMENT ||
      lb_quantize_lns(NULL, LB_ROUND_NEAREST, 0, 0, 0, 1, &x, &code, 1) != LB_INVALID_ARGUMENT ||
      lb_quantize_lns(&f, LB_ROUND_NEAREST, 0, 0, 0, 0, &x, &code, 1) != LB_INVALID_ARGUMENT ||
      lb_quantize_lns(&f, LB_ROUND_NEAREST, 0, 0, 0, 1, NULL, &code, 1) != LB_INVALID_ARGUMENT ||
      lb_quantize_lns(&f, LB_ROUND_NEAREST, 0, 0, 0, 1, &x, NULL, 1) != LB_INVALID_ARGUMENT ||
      lb_quantize_lns_i32(&f, 63, LB_ROUND_NEAREST, 0, 0, 0, 1, &a32, &code, 1) !=
          LB_INVALID_ARGUMENT ||
      lb_quantize_lns_i64(&f, 63, LB_ROUND_NEAREST, 0, 0, 0, 1, &a64, &code, 1) !=
          LB_INVALID_ARGUMENT ||
      lb_quantize_lns_i64(&f, 62, LB_ROUND_NEAREST, 0, 0, 0, 1, NULL, &code, 1) !=
          LB_INVALID_ARGUMENT ||
      lb_lns_decode(&f, 1, NULL, &y) != LB_INVALID_ARGUMENT ||
      lb_lns_decode(&f, 0, &code, &y) != LB_INVALID_ARGUMENT ||
      lb_lns_madam_update(&f, NULL, 0, 1, &code, &v, &g, 1) != LB_INVALID_ARGUMENT ||
      lb_lns_madam_update(&f, &ok, 0, 0, &code, &v, &g, 1) != LB_INVALID_ARGUMENT ||
      lb_lns_madam_update(&f, &ok, 0, 1, NULL, &v, &g, 1) != LB_INVALID_ARGUMENT ||
      lb_lns_madam_update(&f, &ok, 0, 1, &code, NULL, &g, 1) != LB_INVALID_ARGUMENT ||
      lb_lns_madam_update(&f, &ok, 0, 1, &code, &v, NULL, 1) != LB_INVALID_ARGUMENT ||
      lb_lns_tables_of(0) != NULL || lb_lns_tables_of(65) != NULL) {
    fail("an invalid argument is accepted", &f, 0, 0, 0);
  }
  /* The limits themselves are accepted. */
  const lb_lns_format edge[] = {{8, 8, -126 * 8 - 1},
                                {8, 8, 128 * 8 - 1 - 127},
                                {14, 33, -4000},
                                {2, 1, 126},
                                {2, 64, -8065}};
  for (size_t i = 0; i < COUNT(edge); i++) {
    if (lb_lns_code_bytes(&edge[i]) == 0) {
      fail("a format at the limits is refused", &edge[i], 0, 0, 0);
    }
  }
  printf("invalid: refusals and limits checked\n");
  return failures == 0;
}

/* --- threads: the update split over threads ---------------------------------------------------
 */

enum { BIG = 100003 };

/* The LNS-Madam update with 1 and 2 threads on a tensor that 2 threads split: the same codes and
 * states; and with one refused element in the second half, LB_BAD_GRADIENT from both with every
 * code and state unchanged (the first half, which another thread would update, included). */
static int test_threads(void) {
  static uint8_t codes[BIG], one[BIG], two[BIG];
  static float v[BIG], g[BIG], v_one[BIG], v_two[BIG];
  const lb_lns_format f = {8, 8, -64};
  uint64_t state = 77;
  for (size_t i = 0; i < BIG; i++) {
    codes[i] = (uint8_t)(next(&state) % 256);
    const uint32_t r = (uint32_t)next(&state);
    g[i] = ldexpf((float)(int32_t)r / 2147483648.0f, (int)(r % 20) - 10);
    v[i] = ldexpf((float)(next(&state) % 1000) / 1000.0f, (int)(r % 30) - 20);
  }
  size_t runs = 0;
  for (int r = LB_ROUND_NEAREST; r <= LB_ROUND_STOCHASTIC; r++) {
    const lb_lns_madam_params p = {
        .eta = 0.25f, .beta = 0.9f, .rounding = (lb_rounding)r, .seed = 8, .stream = 3};
    for (int refused = 0; refused <= 1; refused++) {
      const float saved = g[BIG - 5];
      if (refused) {
        g[BIG - 5] = NAN;
      }
      memcpy(one, codes, sizeof one);
      memcpy(two, codes, sizeof two);
      memcpy(v_one, v, sizeof v_one);
      memcpy(v_two, v, sizeof v_two);
      const lb_status a = lb_lns_madam_update(&f, &p, 5, BIG, one, v_one, g, 1);
      const lb_status b = lb_lns_madam_update(&f, &p, 5, BIG, two, v_two, g, 2);
      const lb_status want = refused ? LB_BAD_GRADIENT : LB_OK;
      if (a != want || b != want) {
        fail("threads status", &f, g[BIG - 5], (long)b, (long)want);
      }
      if (memcmp(one, two, sizeof one) != 0 || memcmp(v_one, v_two, sizeof v_one) != 0) {
        fail("1 and 2 threads differ", &f, 0, 0, 0);
      }
      if (refused && (memcmp(two, codes, sizeof two) != 0 || memcmp(v_two, v, sizeof v) != 0)) {
        fail("a refused call wrote", &f, 0, 0, 0);
      }
      if (!refused && memcmp(one, codes, sizeof one) == 0) {
        fail("the update moved nothing", &f, 0, 0, 0);
      }
      g[BIG - 5] = saved;
      runs++;
    }
  }
  printf("threads: %zu updates of %d weights, 1 and 2 threads alike\n", runs, BIG);
  return failures == 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(void);
  } parts[] = {{"levels", test_levels},
               {"nearest", test_nearest},
               {"accumulators", test_accumulators},
               {"unbiased", test_unbiased},
               {"determinism", test_determinism},
               {"boundaries", test_boundaries},
               {"update", test_update},
               {"update-unbiased", test_update_unbiased},
               {"nonfinite", test_nonfinite},
               {"invalid", test_invalid},
               {"threads", test_threads}};
  const char *part = argc > 1 ? argv[1] : "";
  for (size_t i = 0; i < COUNT(parts); i++) {
    if (strcmp(part, parts[i].name) == 0) {
      const int ok = parts[i].run();
      printf("%s: %s\n", part, ok ? "pass" : "FAIL");
      return ok ? 0 : 1;
    }
  }
  fprintf(stderr,
          "usage: %s levels|nearest|accumulators|unbiased|determinism|boundaries|update|"
          "update-unbiased|nonfinite|invalid|threads\n",
          argv[0]);
  return 2;
}
