/* Minifloat quantizers of int32 and int64 accumulators (lowbit/minifloat.h, docs/design.md
 * section 15): every registered integer-source kernel the CPU runs against a reference that finds
 * the neighbouring codes by searching the format's value list (exact comparisons of a * 2^x with
 * b * 2^y, no float), for nearest even and stochastic rounding, at ties, extremes and saturation;
 * the API with 1 and 2 threads; an unbiasedness check; refused arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/minifloat.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))
#define LENGTH 4096

static unsigned failures;

/* The library's random bits (docs/design.md, section 13), written again from the formula. */
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

static int msb(uint64_t a) {
  int p = -1;
  while (a != 0) {
    a >>= 1;
    p++;
  }
  return p;
}

/* The sign of a * 2^x - b * 2^y. */
static int compare(uint64_t a, int x, uint64_t b, int y) {
  if (a == 0 || b == 0) {
    return (a != 0) - (b != 0);
  }
  const int pa = msb(a) + x, pb = msb(b) + y;
  if (pa != pb) {
    return pa < pb ? -1 : 1;
  }
  const uint64_t na = a << (63 - msb(a)), nb = b << (63 - msb(b));
  return (na > nb) - (na < nb);
}

/* Code c of E<e>M<m> (c below the all-ones exponent) is M * 2^E. */
static void code_value(uint32_t c, unsigned e, unsigned m, uint64_t *mantissa, int *exponent) {
  const int bias = (1 << (e - 1)) - 1;
  const uint32_t field = c >> m, low = c & ((1u << m) - 1);
  *mantissa = field == 0 ? low : (1u << m) + low;
  *exponent = (field == 0 ? 1 : (int)field) - bias - (int)m;
}

/* The code of acc * 2^-s: the largest code not above |acc| * 2^-s by binary search over the
 * values, then the step to the next code decides. */
static uint32_t reference(int64_t acc, unsigned s, unsigned e, unsigned m, int stochastic,
                          uint64_t r) {
  const uint32_t sign = acc < 0;
  const uint64_t a = sign ? 0 - (uint64_t)acc : (uint64_t)acc;
  const uint32_t max_code = (((1u << e) - 2) << m) | ((1u << m) - 1);
  uint32_t lo = 0, hi = max_code;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    uint64_t vm;
    int ve;
    code_value(mid, e, m, &vm, &ve);
    if (compare(vm, ve, a, -(int)s) <= 0) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  uint64_t vm;
  int ve;
  code_value(lo, e, m, &vm, &ve);
  uint32_t code = lo;
  if (lo < max_code && compare(vm, ve, a, -(int)s) != 0) {
    /* The step to code lo + 1 is 2^ve, 2^d in units of acc; the rest below it is exact. */
    const int d = ve + (int)s;
    const uint64_t one = (uint64_t)1 << d, rest = a - (vm << d);
    const int up = stochastic ? (rest + (r & (one - 1))) >> d
                              : 2 * rest > one || (2 * rest == one && (lo & 1));
    code = lo + (uint32_t)up;
  }
  return sign << (e + m) | code;
}

static float code_float(uint32_t code, unsigned e, unsigned m) {
  uint64_t vm;
  int ve;
  code_value(code & ((1u << (e + m)) - 1), e, m, &vm, &ve);
  const float magnitude = (float)ldexp((double)vm, ve);
  return code >> (e + m) ? -magnitude : magnitude;
}

static uint64_t next(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15u;
  return mix(*state);
}

/* Accumulators of every bit length, small odd multiples of powers of two (ties and exact
 * values), and the extremes. */
static void fill(int64_t *acc, size_t n, int wide, uint64_t *state) {
  static const int64_t extremes[] = {0, 1, -1, 2, -3, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  const int top = wide ? 64 : 32;
  for (size_t i = 0; i < n; i++) {
    const uint64_t r = next(state);
    int64_t v;
    if (i < COUNT(extremes)) {
      v = extremes[i];
    } else if (i % 2) {
      const int length = (int)(r % (uint64_t)top);
      v = (int64_t)(next(state) >> (64 - top)) >> (top - 1 - length);
    } else {
      v = (int64_t)((r >> 40) % 4096) - 2048;
      v *= (int64_t)1 << ((r >> 8) % (uint64_t)(top - 12));
    }
    acc[i] = wide ? v : (int64_t)(int32_t)v;
  }
}

static void test_kernels(void) {
  static const lb_minifloat_format formats[] = {{5, 2}, {4, 3}, {5, 10}, {2, 0}, {3, 1},
                                                {8, 0}, {8, 7}, {6, 5},  {2, 5}, {8, 10}};
  static const unsigned shifts[] = {0, 1, 3, 8, 15, 24, 31, 40, 55, 62};
  static int64_t acc64[LENGTH];
  static int32_t acc32[LENGTH];
  static unsigned char out[LENGTH * 4];
  size_t runs = 0, checked = 0;
  uint64_t state = 11;
  for (size_t k = 0; k < lb_minifloat_kernel_count(); k++) {
    const lb_minifloat_kernel_info *kernel = lb_minifloat_kernel_at(k);
    if (kernel->source == LB_FIXED_SOURCE_F32 || !lb_cpu_has_isa(kernel->isa)) {
      continue;
    }
    const int wide = kernel->source == LB_FIXED_SOURCE_I64;
    for (size_t f = 0; f < COUNT(formats); f++) {
      const unsigned e = formats[f].exponent_bits, m = formats[f].mantissa_bits;
      if ((kernel->output == LB_MINIFLOAT_U8 && e + m + 1 > 8) ||
          (kernel->output == LB_MINIFLOAT_U16 && e + m + 1 > 16)) {
        continue;
      }
      for (size_t si = 0; si < COUNT(shifts); si++) {
        for (int rounding = 0; rounding <= 1; rounding++) {
          fill(acc64, LENGTH, wide, &state);
          for (size_t i = 0; i < LENGTH; i++) {
            acc32[i] = (int32_t)acc64[i];
          }
          const uint64_t first = 77 + si, stream = f * 16 + si;
          const lb_minifloat_params params = {e, m, (lb_rounding)rounding, 5, stream, shifts[si]};
          kernel->ukernel(LENGTH, wide ? (const void *)acc64 : (const void *)acc32, first, out,
                          &params);
          runs++;
          for (size_t i = 0; i < LENGTH; i++) {
            const uint32_t want =
                reference(acc64[i], shifts[si], e, m, rounding, random_bits(5, stream, first + i));
            uint32_t got;
            int ok;
            if (kernel->output == LB_MINIFLOAT_FLOAT) {
              float y, w = code_float(want, e, m);
              memcpy(&y, out + 4 * i, sizeof y);
              ok = memcmp(&y, &w, sizeof y) == 0;
              memcpy(&got, &y, sizeof got);
            } else {
              uint16_t g16;
              memcpy(&g16, out + 2 * i, sizeof g16);
              got = kernel->output == LB_MINIFLOAT_U8 ? out[i] : g16;
              ok = got == want;
            }
            checked++;
            if (!ok && failures++ < 20) {
              printf("FAIL %s E%uM%u s=%u %s: acc=%lld got 0x%x want code 0x%x\n", kernel->name, e,
                     m, shifts[si], rounding ? "stochastic" : "nearest", (long long)acc64[i],
                     (unsigned)got, (unsigned)want);
            }
          }
        }
      }
    }
  }
  printf("kernels: %zu runs, %zu values against the reference\n", runs, checked);
  if (runs == 0) {
    printf("FAIL no integer-source minifloat kernel\n");
    failures++;
  }
}

/* The API with 1 and 2 threads on a tensor large enough to be split, against the reference. */
static void test_threads(void) {
  enum { N = 100003 };
  static int64_t acc[N];
  static uint16_t one[N], two[N];
  uint64_t state = 3;
  fill(acc, N, 1, &state);
  const lb_minifloat_format f = {5, 10};
  const lb_status a =
      lb_quantize_minifloat_i64_codes(&f, 20, LB_ROUND_STOCHASTIC, 9, 4, 1000, N, acc, one, 1);
  const lb_status b =
      lb_quantize_minifloat_i64_codes(&f, 20, LB_ROUND_STOCHASTIC, 9, 4, 1000, N, acc, two, 2);
  if (a != LB_OK || b != LB_OK || memcmp(one, two, sizeof one) != 0) {
    printf("FAIL threads: 1 and 2 threads differ (status %d %d)\n", (int)a, (int)b);
    failures++;
  }
  for (size_t i = 0; i < N; i++) {
    if (one[i] != reference(acc[i], 20, 5, 10, 1, random_bits(9, 4, 1000 + i))) {
      if (failures++ < 20) {
        printf("FAIL threads: element %zu\n", i);
      }
    }
  }
  printf("threads: %d values, 1 and 2 threads\n", N);
}

/* Mean of 10^5 stochastic roundings of 2.6 (acc = 2.6 * 2^20 rounded down, between E4M3's 2.5 and
 * 2.75): within 3 sigma of the exact value. */
static void test_unbiased(void) {
  enum { DRAWS = 100000 };
  static int32_t acc[DRAWS];
  static float y[DRAWS];
  const int32_t a = 2726297; /* 2.6000003... * 2^20 */
  for (size_t i = 0; i < DRAWS; i++) {
    acc[i] = a;
  }
  const lb_minifloat_format f = {4, 3};
  if (lb_quantize_minifloat_i32(&f, 20, LB_ROUND_STOCHASTIC, 1, 2, 0, DRAWS, acc, y, 2) != LB_OK) {
    printf("FAIL unbiased: call\n");
    failures++;
    return;
  }
  double sum = 0;
  for (size_t i = 0; i < DRAWS; i++) {
    sum += y[i];
  }
  const double x = ldexp(a, -20), p = (x - 2.5) / 0.25;
  const double sigma = 0.25 * sqrt(p * (1 - p) / DRAWS), z = (sum / DRAWS - x) / sigma;
  printf("unbiased: E4M3 from i32, x = %.7f, mean %.7f, z = %.2f\n", x, sum / DRAWS, z);
  if (fabs(z) > 3) {
    printf("FAIL unbiased\n");
    failures++;
  }
}

static void test_invalid(void) {
  const lb_minifloat_format ok = {5, 2}, wide = {8, 10}, bad = {1, 2};
  int32_t a32 = 1;
  int64_t a64 = 1;
  float y;
  uint16_t code;
  const lb_status got[] = {
      lb_quantize_minifloat_i32(&ok, 63, LB_ROUND_NEAREST, 0, 0, 0, 1, &a32, &y, 1),
      lb_quantize_minifloat_i64(&bad, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, &a64, &y, 1),
      lb_quantize_minifloat_i64(&ok, 0, (lb_rounding)2, 0, 0, 0, 1, &a64, &y, 1),
      lb_quantize_minifloat_i64(&ok, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, NULL, &y, 1),
      lb_quantize_minifloat_i32_codes(&ok, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, &a32, NULL, 1),
      lb_quantize_minifloat_i64_codes(&wide, 0, LB_ROUND_NEAREST, 0, 0, 0, 1, &a64, &code, 1),
      lb_quantize_minifloat_i32(&ok, 0, LB_ROUND_NEAREST, 0, 0, 0, 0, &a32, &y, 1),
  };
  for (size_t i = 0; i < COUNT(got); i++) {
    if (got[i] != LB_INVALID_ARGUMENT) {
      printf("FAIL invalid case %zu: status %d\n", i, (int)got[i]);
      failures++;
    }
  }
  if (lb_quantize_minifloat_i64(&wide, 62, LB_ROUND_STOCHASTIC, 0, 0, 0, 1, &a64, &y, 1) != LB_OK) {
    printf("FAIL E8M10 float view from i64\n");
    failures++;
  }
}

int main(void) {
  test_kernels();
  test_threads();
  test_unbiased();
  test_invalid();
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
