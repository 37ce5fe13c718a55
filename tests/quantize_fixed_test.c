/* The fixed-point quantizers (docs/design.md, section 14). Parts:
 * - kernels: every registered kernel against a reference written from the formulas with libm
 *   (nearbyint for ties to even, floor) and the random bits of section 13, on random values,
 *   specials (NaN, infinities, zeros, subnormals) and the extremes of int64;
 * - ties: every tie of every word length 2..16 through every kernel that holds it: ties to even;
 * - boundaries: floats next to the stochastic threshold of their own random word, where a kernel
 *   that rounds its 32-bit comparison the wrong way (or drops bits below 2^-32) gives another code;
 * - unbiased: stochastic rounding of one value at 10^5 indices: mean within 3 sigma of the value,
 *   on a grid point (exactly), between grid points and next to either saturation bound;
 * - determinism: one call against the same tensor in chunks (first_index), every SIMD kernel
 *   against the generic one bit for bit, and the seed and the stream changing the codes;
 * - invalid: the API's refusals and its boundary values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/fixed_point.h"
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

static long long clamp(double v, unsigned wl) {
  const double high = ldexp(1.0, (int)wl - 1) - 1.0, low = -high - 1.0;
  return (long long)(v < low ? low : v > high ? high : v);
}

/* q = clamp(floor(x * 2^fl + u)) literally; nearbyint rounds ties to even in the default mode. */
static long long reference_f32(float x, const lb_quantize_fixed_args *a, uint64_t index) {
  const double t = ldexp((double)x, a->shift);
  if (isnan(t)) {
    return 0;
  }
  if (a->rounding == LB_ROUND_NEAREST) {
    return clamp(nearbyint(t), a->wl);
  }
  const double u = ldexp((double)(random_bits(a->seed, a->stream, index) >> 32), -32);
  return clamp(floor(t + u), a->wl);
}

/* The literal sums, valid for |acc| <= 2^62 (no overflow): the extremes are checked by hand. */
static long long reference_int(int64_t acc, const lb_quantize_fixed_args *a, uint64_t index) {
  const unsigned s = (unsigned)a->shift;
  int64_t v = acc;
  if (a->rounding == LB_ROUND_STOCHASTIC) {
    v = (acc + (int64_t)(random_bits(a->seed, a->stream, index) & ((UINT64_C(1) << s) - 1))) >> s;
  } else if (s > 0) {
    v = (acc + (INT64_C(1) << (s - 1)) - 1 + ((acc >> s) & 1)) >> s;
  }
  return clamp((double)v, a->wl);
}

static size_t source_bytes(const lb_quantize_fixed_kernel_info *k) {
  return k->source == LB_FIXED_SOURCE_F32 ? 4 : k->source == LB_FIXED_SOURCE_I32 ? 4 : 8;
}

static unsigned code_bits(const lb_quantize_fixed_kernel_info *k) {
  return k->code == LB_CODE_S8 ? 8 : 16;
}

static long long code_at(const lb_quantize_fixed_kernel_info *k, const void *q, size_t i) {
  return k->code == LB_CODE_S8 ? ((const int8_t *)q)[i] : ((const int16_t *)q)[i];
}

static int64_t source_int(const lb_quantize_fixed_kernel_info *k, const void *src, size_t i) {
  return k->source == LB_FIXED_SOURCE_I32 ? ((const int32_t *)src)[i] : ((const int64_t *)src)[i];
}

static void set_int(const lb_quantize_fixed_kernel_info *k, void *src, size_t i, int64_t v) {
  if (k->source == LB_FIXED_SOURCE_I32) {
    ((int32_t *)src)[i] = (int32_t)v;
  } else {
    ((int64_t *)src)[i] = v;
  }
}

static int runs_here(const lb_quantize_fixed_kernel_info *k) {
  if (!lb_cpu_has_isa(k->isa)) {
    printf("skipped %s: this CPU lacks %s\n", k->name, k->isa);
    return 0;
  }
  return 1;
}

enum { N = 4099 }; /* odd: past every vector width, with a remainder */

/* Random values around the range of <wl, shift>, ties, grid points and specials. */
static void fill(const lb_quantize_fixed_kernel_info *k, void *src, const lb_quantize_fixed_args *a,
                 uint64_t *rng) {
  for (size_t i = 0; i < N; i++) {
    const uint64_t r = lb_test_random(rng);
    /* Grid units in about +-1.5 * 2^(wl-1), on a 2^-8 grid for a share of ties and grid points. */
    const double units = ldexp((double)(int64_t)(r >> 20) / ldexp(1.0, 43), (int)a->wl) * 1.5;
    const double snapped = (r & 3) == 0 ? ldexp(nearbyint(ldexp(units, 8)), -8) : units;
    if (k->source == LB_FIXED_SOURCE_F32) {
      static const float specials[] = {NAN,    -NAN,    INFINITY,  -INFINITY, 0.0f,    -0.0f,
                                       1e-45f, -1e-45f, 1.17e-38f, 3.4e38f,   -3.4e38f};
      ((float *)src)[i] = i < COUNT(specials) ? specials[i] : (float)ldexp(snapped, -a->shift);
    } else {
      /* Inside the reference's range (|acc| <= 2^62), with room for the odd 1 added below. */
      const double limit = k->source == LB_FIXED_SOURCE_I32 ? 2147483646.0 : ldexp(1.0, 61);
      double v = ldexp(snapped, a->shift);
      if (i < 8) {
        v = (double)(lb_test_random(rng) % (uint64_t)limit) * (i & 1 ? -1.0 : 1.0);
      }
      v = v > limit ? limit : v < -limit ? -limit : v;
      set_int(k, src, i, (int64_t)v + (int64_t)(r & 1));
    }
  }
}

static void part_kernels(uint64_t *rng) {
  static const int fls[] = {-32, -5, 0, 3, 7, 32};
  static const int shifts[] = {0, 1, 5, 17, 31, 40, 62};
  static const unsigned wls[] = {2, 3, 5, 8, 9, 12, 16};
  void *src = malloc(N * 8), *q = malloc(N * 2);
  size_t checked = 0;
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const int f32 = k->source == LB_FIXED_SOURCE_F32;
    for (size_t w = 0; w < COUNT(wls) && wls[w] <= code_bits(k); w++) {
      for (size_t f = 0; f < (f32 ? COUNT(fls) : COUNT(shifts)); f++) {
        const int shift = f32 ? fls[f] : shifts[f];
        if (k->source == LB_FIXED_SOURCE_I32 && shift > 31) {
          continue; /* an int32 accumulator has no 2^s beyond 31 to round at */
        }
        for (int rounding = 0; rounding < 2; rounding++) {
          const lb_quantize_fixed_args a = {wls[w], shift, (lb_rounding)rounding, 42, 7};
          const uint64_t first = 1000 + lb_test_random(rng) % 1000;
          fill(k, src, &a, rng);
          k->fn(N, src, first, q, &a);
          for (size_t i = 0; i < N; i++) {
            const long long want = f32 ? reference_f32(((const float *)src)[i], &a, first + i)
                                       : reference_int(source_int(k, src, i), &a, first + i);
            if (code_at(k, q, i) != want) {
              fail("reference", k->name, i, code_at(k, q, i), want);
            }
          }
          checked += N;
        }
      }
    }
    if (k->source == LB_FIXED_SOURCE_I64) {
      /* Where the literal sums overflow: 2^63 - 1 is 1.99.. at s = 62, -2^63 is -2 exactly. */
      const int64_t extremes[] = {INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN};
      const lb_quantize_fixed_args nearest = {2, 62, LB_ROUND_NEAREST, 0, 0};
      const lb_quantize_fixed_args wide = {8, 56, LB_ROUND_STOCHASTIC, 0, 0};
      const long long want[] = {1, -2, 127, -128}; /* 2 and 128 saturate */
      for (size_t i = 0; i < COUNT(extremes); i++) {
        k->fn(1, &extremes[i], i, q, i < 2 ? &nearest : &wide);
        if (code_at(k, q, 0) != want[i]) {
          fail("extreme", k->name, i, code_at(k, q, 0), want[i]);
        }
      }
      /* The widest word length the kernel's code holds: its assert refuses a wider one. */
      const lb_quantize_fixed_args exact = {code_bits(k), 62, LB_ROUND_STOCHASTIC, 3, 4};
      for (uint64_t i = 0; i < 64; i++) {
        /* 2^63 - 1 = 1 + (2^62 - 1) / 2^62: the carry is 0 only when r & (2^62 - 1) = 0. */
        k->fn(1, &extremes[0], i, q, &exact);
        const long long up = (random_bits(3, 4, i) & ((UINT64_C(1) << 62) - 1)) != 0;
        if (code_at(k, q, 0) != 1 + up) {
          fail("extreme stochastic", k->name, (size_t)i, code_at(k, q, 0), 1 + up);
        }
      }
    }
  }
  printf("kernels: %zu codes against the reference\n", checked);
  free(src);
  free(q);
}

/* Floats at and half a unit of 2^-32 beside the stochastic threshold of their element's own word w
 * (word 1): t = w * 2^-32 (-t rounds down when w < |t| * 2^32) and t = (2^32 - w) * 2^-32 (t rounds
 * up when w + t * 2^32 >= 2^32), for the words within 2^23 of 0 or 2^32, where t +- 2^-33 is exact in
 * float. Each sits in the middle of a 32-element call, so that the vector loops round it. */
static void part_boundaries(void) {
  static const int fls[] = {-32, -5, 0, 7, 32};
  enum { CALL = 32, AT = 13, WANTED = 200 };
  const uint64_t seed = 11, stream = 5;
  uint64_t indices[WANTED];
  size_t found = 0;
  for (uint64_t i = CALL; i < (UINT64_C(1) << 24) && found < WANTED; i++) {
    const uint32_t w = (uint32_t)(random_bits(seed, stream, i) >> 32);
    if (w < (UINT32_C(1) << 23) || w > UINT32_MAX - (UINT32_C(1) << 23)) {
      indices[found++] = i;
    }
  }
  if (found < WANTED) {
    fail("boundaries: words near 0 or 2^32", "random_bits", found, (long long)found, WANTED);
    return;
  }
  float src[CALL] = {0};
  int16_t q[CALL];
  size_t checked = 0;
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (k->source != LB_FIXED_SOURCE_F32 || !runs_here(k)) {
      continue;
    }
    for (size_t f = 0; f < COUNT(fls); f++) {
      const lb_quantize_fixed_args a = {code_bits(k), fls[f], LB_ROUND_STOCHASTIC, seed, stream};
      for (size_t j = 0; j < found; j++) {
        const uint32_t w = (uint32_t)(random_bits(seed, stream, indices[j]) >> 32);
        const double units = w < (UINT32_C(1) << 23) ? (double)w : ldexp(1.0, 32) - (double)w;
        for (int side = 0; side < 6; side++) {
          const double t = (units + 0.5 * (side % 3 - 1)) * (side < 3 ? 1.0 : -1.0);
          src[AT] = (float)ldexp(t, -32 - a.shift);
          k->fn(CALL, src, indices[j] - AT, q, &a);
          const long long want = reference_f32(src[AT], &a, indices[j]);
          if (code_at(k, q, AT) != want) {
            fail("boundary", k->name, (size_t)indices[j], code_at(k, q, AT), want);
          }
          checked++;
        }
      }
    }
  }
  printf("boundaries: %zu codes at stochastic thresholds\n", checked);
}

static void part_ties(void) {
  static const int fls[] = {-32, 0, 7, 32};
  static const int shifts[] = {1, 8, 14, 31, 45, 62};
  size_t ties = 0;
  void *src = malloc((1 << 17) * 8), *q = malloc((1 << 17) * 2);
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const int f32 = k->source == LB_FIXED_SOURCE_F32;
    for (unsigned wl = 2; wl <= code_bits(k); wl++) {
      for (size_t f = 0; f < (f32 ? COUNT(fls) : COUNT(shifts)); f++) {
        const int shift = f32 ? fls[f] : shifts[f];
        const int bits = k->source == LB_FIXED_SOURCE_I32 ? 32 : 64;
        if (!f32 && shift + (int)wl + 2 > bits) {
          continue; /* k * 2^s must fit the accumulator for k in the range and one past it */
        }
        /* The ties k + 1/2 for k from one below the range to one past it. */
        const long long low = -(1ll << (wl - 1)) - 2, high = (1ll << (wl - 1)) + 1;
        size_t count = 0;
        for (long long j = low; j <= high; j++, count++) {
          if (f32) {
            ((float *)src)[count] = (float)ldexp((double)j + 0.5, -shift);
          } else {
            set_int(k, src, count,
                    (int64_t)j * (INT64_C(1) << shift) + (INT64_C(1) << (shift - 1)));
          }
        }
        const lb_quantize_fixed_args a = {wl, shift, LB_ROUND_NEAREST, 0, 0};
        k->fn(count, src, 0, q, &a);
        for (size_t i = 0; i < count; i++) {
          const long long j = low + (long long)i, even = j & 1 ? j + 1 : j;
          if (code_at(k, q, i) != clamp((double)even, wl)) {
            fail("tie", k->name, i, code_at(k, q, i), clamp((double)even, wl));
          }
        }
        ties += count;
      }
    }
  }
  printf("ties: %zu ties to even\n", ties);
  free(src);
  free(q);
}

enum { DRAWS = 100000 };

typedef struct sr_case {
  unsigned wl;
  int shift;
  double units; /* the value in steps; f32: x = units * 2^-fl; integer: acc = units * 2^s */
} sr_case;

static double worst_sigma;

/* Mean of DRAWS stochastic codes of one value against the value, in standard deviations. */
static void check_unbiased(const lb_quantize_fixed_kernel_info *k, sr_case c, void *src, void *q) {
  const lb_quantize_fixed_args a = {c.wl, c.shift, LB_ROUND_STOCHASTIC, 2024, 11};
  double target;
  for (size_t i = 0; i < DRAWS; i++) {
    if (k->source == LB_FIXED_SOURCE_F32) {
      ((float *)src)[i] = (float)ldexp(c.units, -c.shift);
    } else {
      set_int(k, src, i, (int64_t)ldexp(c.units, c.shift));
    }
  }
  if (k->source == LB_FIXED_SOURCE_F32) {
    target = ldexp((double)((const float *)src)[0], c.shift);
  } else {
    const int64_t acc = source_int(k, src, 0);
    const int64_t whole = acc >> c.shift;
    target = (double)whole + ldexp((double)(acc - whole * (INT64_C(1) << c.shift)), -c.shift);
  }
  k->fn(DRAWS, src, 123456789, q, &a);
  long long sum = 0;
  for (size_t i = 0; i < DRAWS; i++) {
    sum += code_at(k, q, i);
  }
  const double mean = (double)sum / DRAWS, p = target - floor(target);
  const double sigma = sqrt(p * (1.0 - p) / DRAWS), deviation = fabs(mean - target);
  if (p == 0.0 ? deviation != 0.0 : deviation > 3.0 * sigma) {
    fprintf(stderr, "FAIL unbiased %s <%u,%d> %.9g: mean %.9g, sigma %.3g\n", k->name, c.wl,
            c.shift, target, mean, sigma);
    failures++;
  } else if (p != 0.0 && deviation / sigma > worst_sigma) {
    worst_sigma = deviation / sigma;
  }
  printf("unbiased %s <%u,%d> %.6f: mean %.6f (%.2f sigma)\n", k->name, c.wl, c.shift, target, mean,
         p == 0.0 ? 0.0 : deviation / sigma);
}

static void part_unbiased(void) {
  /* On a grid point, between points, a quarter, one side of either bound. */
  static const sr_case floats[] = {
      {8, 4, 3.0},      {8, 4, 2.3},    {8, 4, -5.75},     {8, 4, 126.9}, {8, 4, -127.8},
      {16, 10, 1000.1}, {16, 10, -0.5}, {16, 10, 32766.6}, {4, 0, 0.37},  {4, 0, -7.9},
      {12, -3, 17.01},  {6, 32, -31.5}, {6, 32, 30.99},
  };
  static const sr_case accumulators[] = {
      {8, 8, 0.30078125},  {8, 8, 5.0},          {8, 8, -3.5},
      {8, 8, 126.8828125}, {8, 8, -127.8046875}, {16, 15, 12345.6789},
      {16, 15, -32767.9},  {12, 0, 77.0},        {5, 25, 14.25},
  };
  static const sr_case wide[] = {
      {16, 40, 12345.50001}, {2, 62, 0.5000001}, {2, 62, -1.75}, {16, 46, -32767.25}};
  void *src = malloc(DRAWS * 8), *q = malloc(DRAWS * 2);
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const sr_case *cases = k->source == LB_FIXED_SOURCE_F32 ? floats : accumulators;
    const size_t count = k->source == LB_FIXED_SOURCE_F32 ? COUNT(floats) : COUNT(accumulators);
    for (size_t i = 0; i < count + (k->source == LB_FIXED_SOURCE_I64 ? COUNT(wide) : 0); i++) {
      const sr_case c = i < count ? cases[i] : wide[i - count];
      if (c.wl <= code_bits(k)) {
        check_unbiased(k, c, src, q);
      }
    }
  }
  printf("unbiased: worst deviation %.2f sigma\n", worst_sigma);
  free(src);
  free(q);
}

static const lb_quantize_fixed_kernel_info *generic_of(const lb_quantize_fixed_kernel_info *k) {
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *g = lb_quantize_fixed_kernel_at(n);
    if (strcmp(g->isa, "generic") == 0 && g->source == k->source && g->code == k->code) {
      return g;
    }
  }
  return NULL;
}

static void part_determinism(uint64_t *rng) {
  void *src = malloc(N * 8), *whole = malloc(N * 2), *parts = malloc(N * 2), *other = malloc(N * 2);
  size_t compared = 0, simd = 0;
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const size_t out = code_bits(k) / 8, in = source_bytes(k);
    const unsigned wl = code_bits(k) - 1;
    const lb_quantize_fixed_args sr = {wl, k->source == LB_FIXED_SOURCE_F32 ? 5 : 9,
                                       LB_ROUND_STOCHASTIC, 99, 3};
    fill(k, src, &sr, rng);
    const uint64_t first = 1u << 20;
    k->fn(N, src, first, whole, &sr);
    /* Chunks of 1, 332, 15 and the rest, each told where it starts. */
    static const size_t cuts[] = {0, 1, 333, 348, N};
    for (size_t c = 0; c + 1 < COUNT(cuts); c++) {
      k->fn(cuts[c + 1] - cuts[c], (const char *)src + cuts[c] * in, first + cuts[c],
            (char *)parts + cuts[c] * out, &sr);
    }
    if (memcmp(whole, parts, N * out) != 0) {
      fprintf(stderr, "FAIL chunks %s: the codes differ from one call's\n", k->name);
      failures++;
    }
    compared += N;
    /* The seed and the stream must reach the codes. */
    lb_quantize_fixed_args changed = sr;
    for (int which = 0; which < 2; which++) {
      changed.seed = sr.seed + (which == 0);
      changed.stream = sr.stream + (which == 1);
      k->fn(N, src, first, other, &changed);
      if (memcmp(whole, other, N * out) == 0) {
        fprintf(stderr, "FAIL %s %s: the codes do not depend on it\n", k->name,
                which ? "stream" : "seed");
        failures++;
      }
    }
    const lb_quantize_fixed_kernel_info *g = generic_of(k);
    if (g == k) {
      continue;
    }
    for (int rounding = 0; rounding < 2; rounding++) {
      lb_quantize_fixed_args a = sr;
      a.rounding = (lb_rounding)rounding;
      k->fn(N, src, first, whole, &a);
      g->fn(N, src, first, other, &a);
      if (memcmp(whole, other, N * out) != 0) {
        fprintf(stderr, "FAIL %s: codes differ from %s's\n", k->name, g->name);
        failures++;
      }
    }
    simd++;
  }
  printf("determinism: %zu codes in chunks; %zu SIMD kernels equal to the generic ones\n", compared,
         simd);
  free(src);
  free(whole);
  free(parts);
  free(other);
}

static void expect(lb_status got, lb_status want, const char *what) {
  if (got != want) {
    fprintf(stderr, "FAIL invalid %s: status %d, expected %d\n", what, (int)got, (int)want);
    failures++;
  }
}

static void part_invalid(void) {
  const float x[2] = {NAN, -NAN};
  const int32_t a32[1] = {5};
  const int64_t a64[1] = {5};
  int16_t q[2] = {7, 7};
  const lb_fixed_format ok = {8, 4}, wl1 = {1, 0}, wl17 = {17, 0}, fl33 = {8, 33}, fl_33 = {8, -33},
                        low = {2, -32}, high = {16, 32};
  expect(lb_quantize_fixed_f32(NULL, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "NULL format");
  expect(lb_quantize_fixed_f32(&ok, LB_ROUND_NEAREST, 0, 0, 0, 1, NULL, q, 1), LB_INVALID_ARGUMENT,
         "NULL x");
  expect(lb_quantize_fixed_f32(&ok, LB_ROUND_NEAREST, 0, 0, 0, 1, x, NULL, 1), LB_INVALID_ARGUMENT,
         "NULL q");
  expect(lb_quantize_fixed_f32(&wl1, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "wl 1");
  expect(lb_quantize_fixed_f32(&wl17, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "wl 17");
  expect(lb_quantize_fixed_f32(&fl33, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "fl 33");
  expect(lb_quantize_fixed_f32(&fl_33, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "fl -33");
  expect(lb_quantize_fixed_f32(&ok, (lb_rounding)2, 0, 0, 0, 1, x, q, 1), LB_INVALID_ARGUMENT,
         "rounding 2");
  expect(lb_quantize_fixed_i32(8, 63, LB_ROUND_NEAREST, 0, 0, 0, 1, a32, q, 1), LB_INVALID_ARGUMENT,
         "i32 s 63");
  expect(lb_quantize_fixed_i64(0, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, a64, q, 1), LB_INVALID_ARGUMENT,
         "i64 wl 0");
  expect(lb_quantize_fixed_i64(8, 63, LB_ROUND_STOCHASTIC, 0, 0, 0, 1, a64, q, 1),
         LB_INVALID_ARGUMENT, "i64 s 63");
  if (q[0] != 7 || q[1] != 7) {
    fprintf(stderr, "FAIL invalid: a refused call wrote codes\n");
    failures++;
  }
  /* NaN (of either sign) is 0 in both roundings; the bounds of every range are accepted. */
  for (int rounding = 0; rounding < 2; rounding++) {
    expect(lb_quantize_fixed_f32(&high, (lb_rounding)rounding, 1, 2, 3, 2, x, q, 1), LB_OK, "NaN");
    if (q[0] != 0 || q[1] != 0) {
      fprintf(stderr, "FAIL NaN: codes %d %d, expected 0\n", q[0], q[1]);
      failures++;
    }
  }
  int8_t q8[1];
  expect(lb_quantize_fixed_f32(&low, LB_ROUND_NEAREST, 0, 0, 0, 1, x, q8, 1), LB_OK, "<2,-32>");
  expect(lb_quantize_fixed_i32(2, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, a32, q8, 1), LB_OK, "i32 s 0");
  expect(lb_quantize_fixed_i64(16, 62, LB_ROUND_STOCHASTIC, 0, 0, 0, 1, a64, q, 1), LB_OK,
         "i64 s 62");
  expect(lb_quantize_fixed_i32(8, 2, LB_ROUND_NEAREST, 0, 0, 0, 0, a32, q8, 1), LB_OK, "count 0");
  /* 5 / 4 = 1.25 to 1, written as int8 for wl 8 (the API picks the narrowest code). */
  q8[0] = 0;
  expect(lb_quantize_fixed_i32(8, 2, LB_ROUND_NEAREST, 0, 0, 0, 1, a32, q8, 1), LB_OK, "i32 s 2");
  if (q8[0] != 1) {
    fprintf(stderr, "FAIL i32: 5 / 4 gives %d, expected 1\n", q8[0]);
    failures++;
  }
  for (int source = LB_FIXED_SOURCE_F32; source <= LB_FIXED_SOURCE_I64; source++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_select(source, 8);
    printf("invalid: the API quantizes source %d to <8, .> with %s\n", source,
           k ? k->name : "nothing");
    if (k == NULL || k->code != LB_CODE_S8) {
      fprintf(stderr, "FAIL select: no s8 kernel for source %d\n", source);
      failures++;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s kernels|ties|boundaries|unbiased|determinism|invalid\n", argv[0]);
    return 2;
  }
  printf("cpu: %s, %zu quantizers\n", lb_cpu_description(), lb_quantize_fixed_kernel_count());
  uint64_t rng = 0x510e527fade682d1u;
  if (strcmp(argv[1], "kernels") == 0) {
    part_kernels(&rng);
  } else if (strcmp(argv[1], "ties") == 0) {
    part_ties();
  } else if (strcmp(argv[1], "boundaries") == 0) {
    part_boundaries();
  } else if (strcmp(argv[1], "unbiased") == 0) {
    part_unbiased();
  } else if (strcmp(argv[1], "determinism") == 0) {
    part_determinism(&rng);
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
