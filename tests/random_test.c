/* The random bits of stochastic rounding (docs/design.md, section 13), written out again from the
 * construction, and their statistical quality at what rounding asks of them. Parts:
 * - uniformity: chi-square of the top 8 and of the low 8 bits of each word over 10^6 consecutive
 *   indices (255 degrees of freedom), also across a multiple of 2^32;
 * - balance: each of the 64 bits is one in half of 10^6 consecutive indices;
 * - neighbours: the correlation of the words of indices i and i + lag (lags 1, 2, 3, 7, 8) and the
 *   chi-square of the pairs (top 4 bits at i, at i + 1), and of the low 4 bits;
 * - streams: the correlation between streams, seeds and the two words at the same index, and
 *   between two streams at the index shift that lines up their first rounds' inputs;
 * - kernels: the fixed-point and minifloat quantizers across index 2^32 and 2^33 (where the key
 *   changes) against the formulas with these bits.
 * Thresholds are 4 to 5 sigma (z of the Wilson-Hilferty transform for chi-square): a good
 * generator is within 2 almost always, a flawed one far outside. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/fixed_point.h"
#include "lowbit/lowbit.h"
#include "lowbit/minifloat.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

enum { N = 1000000 };

static int failures;

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static const uint64_t golden = 0x9e3779b97f4a7c15u;

/* The key of word j for the high half h of an index: splitmix64's outputs at the per-(seed,
 * stream) key stepped 4h + 2j + 1 and 4h + 2j + 2 times. */
typedef struct key3 {
  uint32_t step, add, mix;
} key3;

static key3 key_of(uint64_t seed, uint64_t stream, uint64_t high, unsigned j) {
  const uint64_t key = mix(seed ^ mix(stream + golden));
  const uint64_t k1 = mix(key + (4 * high + 2 * j + 1) * golden);
  const uint64_t k2 = mix(key + (4 * high + 2 * j + 2) * golden);
  const key3 k = {(uint32_t)k1 | 1u, (uint32_t)(k1 >> 32), (uint32_t)k2};
  return k;
}

/* Word j of element `index`: lowbias32 of the low half times the odd step plus add, with mix xored
 * in between the two rounds. */
static uint32_t word(uint64_t seed, uint64_t stream, uint64_t index, unsigned j) {
  const key3 k = key_of(seed, stream, index >> 32, j);
  uint32_t x = (uint32_t)index * k.step + k.add;
  x = (x ^ (x >> 16)) * 0x7feb352du;
  x ^= k.mix;
  x = (x ^ (x >> 15)) * 0x846ca68bu;
  return x ^ (x >> 16);
}

static uint64_t bits64(uint64_t seed, uint64_t stream, uint64_t index) {
  return (uint64_t)word(seed, stream, index, 1) << 32 | word(seed, stream, index, 0);
}

/* The cases every statistical part runs: seeds, streams and first indices, one across 2^32. */
typedef struct rcase {
  uint64_t seed, stream, first;
} rcase;

static const rcase cases[] = {
    {0, 0, 0},
    {42, 7, 1000},
    {1, 2, (UINT64_C(1) << 32) - N / 2},
    {0x243f6a8885a308d3u, 0x13198a2e03707344u, UINT64_C(5) << 40},
};

/* Words j of the case's N consecutive indices. */
static void fill(const rcase *c, unsigned j, uint32_t *w) {
  for (size_t i = 0; i < N; i++) {
    w[i] = word(c->seed, c->stream, c->first + i, j);
  }
}

/* Chi-square of `cells` equally likely cells as a standard normal (Wilson-Hilferty). */
static double chi_square_z(const size_t *counts, size_t cells, size_t n) {
  const double expected = (double)n / (double)cells, df = (double)cells - 1.0;
  double chi = 0.0;
  for (size_t i = 0; i < cells; i++) {
    const double d = (double)counts[i] - expected;
    chi += d * d / expected;
  }
  const double v = 2.0 / (9.0 * df);
  return (cbrt(chi / df) - (1.0 - v)) / sqrt(v);
}

static void check(const char *what, const rcase *c, unsigned j, double z, double limit) {
  const int bad = !(fabs(z) < limit);
  printf("%-36s seed %llu stream %llu first %llu word %u: z = %6.2f%s\n", what,
         (unsigned long long)c->seed, (unsigned long long)c->stream, (unsigned long long)c->first,
         j, z, bad ? "  FAIL" : "");
  failures += bad;
}

static void part_uniformity(uint32_t *w) {
  for (size_t n = 0; n < COUNT(cases); n++) {
    for (unsigned j = 0; j < 2; j++) {
      fill(&cases[n], j, w);
      size_t top[256] = {0}, low[256] = {0};
      for (size_t i = 0; i < N; i++) {
        top[w[i] >> 24]++;
        low[w[i] & 255]++;
      }
      check("uniformity: top 8 bits", &cases[n], j, chi_square_z(top, 256, N), 4.0);
      check("uniformity: low 8 bits", &cases[n], j, chi_square_z(low, 256, N), 4.0);
    }
  }
}

static void part_balance(void) {
  for (size_t n = 0; n < COUNT(cases); n++) {
    const rcase *c = &cases[n];
    size_t ones[64] = {0};
    for (size_t i = 0; i < N; i++) {
      const uint64_t b = bits64(c->seed, c->stream, c->first + i);
      for (unsigned k = 0; k < 64; k++) {
        ones[k] += b >> k & 1;
      }
    }
    double worst = 0.0;
    for (unsigned k = 0; k < 64; k++) {
      const double z = ((double)ones[k] - N / 2.0) / sqrt(N / 4.0);
      worst = fabs(z) > fabs(worst) ? z : worst;
    }
    check("balance: the worst of 64 bits", c, 0, worst, 5.0);
  }
}

/* Pearson correlation of a[i] and b[i] (as uniform variables) times sqrt(n): about N(0, 1). */
static double correlation_z(const uint32_t *a, const uint32_t *b, size_t n) {
  double sab = 0.0, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double x = a[i] * 0x1p-32, y = b[i] * 0x1p-32;
    sab += x * y;
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
  }
  const double m = (double)n, cov = sab / m - (sa / m) * (sb / m);
  const double r = cov / sqrt((saa / m - (sa / m) * (sa / m)) * (sbb / m - (sb / m) * (sb / m)));
  return r * sqrt(m);
}

/* The mean number of equal bits of a[i] and b[i], 16 for independent words, as a z. */
static double agreement_z(const uint32_t *a, const uint32_t *b, size_t n) {
  double equal = 0.0;
  for (size_t i = 0; i < n; i++) {
    equal += 32 - __builtin_popcount(a[i] ^ b[i]);
  }
  return (equal - 16.0 * (double)n) / sqrt(8.0 * (double)n);
}

static void part_neighbours(uint32_t *w) {
  static const size_t lags[] = {1, 2, 3, 7, 8};
  for (size_t n = 0; n < COUNT(cases); n++) {
    for (unsigned j = 0; j < 2; j++) {
      fill(&cases[n], j, w);
      for (size_t l = 0; l < COUNT(lags); l++) {
        char what[64];
        snprintf(what, sizeof what, "neighbours: correlation at lag %zu", lags[l]);
        check(what, &cases[n], j, correlation_z(w, w + lags[l], N - lags[l]), 5.0);
      }
      size_t top[256] = {0}, low[256] = {0};
      for (size_t i = 0; i + 1 < N; i++) {
        top[(w[i] >> 28) << 4 | w[i + 1] >> 28]++;
        low[(w[i] & 15) << 4 | (w[i + 1] & 15)]++;
      }
      check("neighbours: pairs of top 4 bits", &cases[n], j, chi_square_z(top, 256, N - 1), 4.0);
      check("neighbours: pairs of low 4 bits", &cases[n], j, chi_square_z(low, 256, N - 1), 4.0);
    }
  }
}

static void part_streams(uint32_t *w) {
  uint32_t *v = malloc(N * sizeof *v);
  for (size_t n = 0; n < COUNT(cases); n++) {
    const rcase *c = &cases[n];
    const rcase next_stream = {c->seed, c->stream + 1, c->first};
    const rcase next_seed = {c->seed + 1, c->stream, c->first};
    fill(c, 0, w);
    fill(&next_stream, 0, v);
    check("streams: stream + 1, correlation", c, 0, correlation_z(w, v, N), 5.0);
    check("streams: stream + 1, equal bits", c, 0, agreement_z(w, v, N), 5.0);
    fill(&next_seed, 0, v);
    check("streams: seed + 1, correlation", c, 0, correlation_z(w, v, N), 5.0);
    fill(c, 1, v);
    check("streams: word 1 against word 0", c, 0, correlation_z(w, v, N), 5.0);
    check("streams: word 1 against word 0, bits", c, 0, agreement_z(w, v, N), 5.0);
    /* Stream + 1 shifted so that its first element's input to the hash is this stream's first
     * one: with the offset alone as key, this shift would line the two sequences up for good (and
     * the mix in between the rounds alone leaves that visible); the step makes them diverge. */
    const uint64_t high = c->first >> 32;
    const key3 a = key_of(c->seed, c->stream, high, 0), b = key_of(c->seed, c->stream + 1, high, 0);
    uint32_t inverse = b.step; /* of the odd step modulo 2^32, by Newton's iteration */
    for (int k = 0; k < 5; k++) {
      inverse *= 2u - b.step * inverse;
    }
    const uint32_t low = (uint32_t)c->first;
    const uint32_t shift = ((low * a.step + a.add - b.add) * inverse) - low;
    for (size_t i = 0; i < N; i++) {
      /* Both in the high half of the case's first index. */
      const uint32_t at = (uint32_t)(low + i);
      w[i] = word(c->seed, c->stream, high << 32 | at, 0);
      v[i] = word(next_stream.seed, next_stream.stream, high << 32 | (uint32_t)(at + shift), 0);
    }
    check("streams: stream + 1 lined up, equal bits", c, 0, agreement_z(w, v, N), 5.0);
    check("streams: stream + 1 lined up, correl.", c, 0, correlation_z(w, v, N), 5.0);
  }
  free(v);
}

/* Kernels across 2^32 and 2^33: the key changes inside one call. */
enum { SPAN = 4099, BEFORE = 2050 };

static void kernel_fail(const char *kernel, uint64_t index, long long got, long long want) {
  if (failures++ < 20) {
    fprintf(stderr, "FAIL kernels %s: index %llu gives %lld, expected %lld\n", kernel,
            (unsigned long long)index, got, want);
  }
}

static void part_kernels(void) {
  static const uint64_t firsts[] = {(UINT64_C(1) << 32) - BEFORE, (UINT64_C(1) << 33) - BEFORE};
  float *x = malloc(SPAN * sizeof *x);
  int64_t *acc = malloc(SPAN * sizeof *acc);
  int32_t *acc32 = malloc(SPAN * sizeof *acc32);
  int16_t *q = malloc(SPAN * sizeof *q);
  float *y = malloc(SPAN * sizeof *y);
  for (size_t i = 0; i < SPAN; i++) {
    x[i] = (float)((double)((i * 2654435761u) % 20011) / 20011.0 * 200.0 - 100.0);
    acc[i] = (int64_t)((i * 0x9e3779b97f4a7c15u) >> 2) - (INT64_C(1) << 61);
    acc32[i] = (int32_t)(i * 2654435761u) >> 4;
  }
  size_t checked = 0;
  for (size_t n = 0; n < lb_quantize_fixed_kernel_count(); n++) {
    const lb_quantize_fixed_kernel_info *k = lb_quantize_fixed_kernel_at(n);
    if (!lb_cpu_has_isa(k->isa) || k->code != LB_CODE_S16) {
      continue;
    }
    /* f32 takes word 1, i32 with s = 9 the low bits of word 0, i64 with s = 40 both words. */
    const int shift = k->source == LB_FIXED_SOURCE_F32   ? 6
                      : k->source == LB_FIXED_SOURCE_I32 ? 9
                                                         : 40;
    const lb_quantize_fixed_args a = {16, shift, LB_ROUND_STOCHASTIC, 11, 12};
    const void *src = k->source == LB_FIXED_SOURCE_F32   ? (const void *)x
                      : k->source == LB_FIXED_SOURCE_I32 ? (const void *)acc32
                                                         : (const void *)acc;
    for (size_t f = 0; f < COUNT(firsts); f++) {
      k->fn(SPAN, src, firsts[f], q, &a);
      for (size_t i = 0; i < SPAN; i++) {
        const uint64_t index = firsts[f] + i, r = bits64(11, 12, index);
        double t;
        if (k->source == LB_FIXED_SOURCE_F32) {
          t = floor(ldexp((double)x[i], shift) + ldexp((double)(r >> 32), -32));
        } else {
          const int64_t v = k->source == LB_FIXED_SOURCE_I32 ? acc32[i] : acc[i];
          const uint64_t mask = (UINT64_C(1) << shift) - 1;
          t = (double)((v >> shift) + (int64_t)((((uint64_t)v & mask) + (r & mask)) >> shift));
        }
        const long long want = t < -32768.0 ? -32768 : t > 32767.0 ? 32767 : (long long)t;
        if (q[i] != want) {
          kernel_fail(k->name, index, q[i], want);
        }
        checked++;
      }
    }
  }
  /* Minifloat E5M10 from floats: the normal range takes the low 13 bits of word 0. */
  for (size_t n = 0; n < lb_minifloat_kernel_count(); n++) {
    const lb_minifloat_kernel_info *k = lb_minifloat_kernel_at(n);
    if (!lb_cpu_has_isa(k->isa) || k->source != LB_FIXED_SOURCE_F32 ||
        k->output != LB_MINIFLOAT_FLOAT) {
      continue;
    }
    const lb_minifloat_params p = {5, 10, LB_ROUND_STOCHASTIC, 13, 14, 0};
    for (size_t f = 0; f < COUNT(firsts); f++) {
      k->ukernel(SPAN, x, firsts[f], y, &p);
      for (size_t i = 0; i < SPAN; i++) {
        const uint64_t index = firsts[f] + i;
        uint32_t in, got;
        memcpy(&in, &x[i], sizeof in);
        memcpy(&got, &y[i], sizeof got);
        /* |x| in [2^-14, 100]: normal in E5M10, 13 mantissa bits dropped. */
        const uint32_t a = in & 0x7fffffffu;
        const uint32_t want =
            a < 0x38800000u
                ? got
                : (in & 0x80000000u) | ((a + (word(13, 14, index, 0) & 0x1fffu)) & ~0x1fffu);
        if (got != want) {
          kernel_fail(k->name, index, got, want);
        }
        checked++;
      }
    }
  }
  printf("kernels: %zu codes across 2^32 and 2^33\n", checked);
  if (checked == 0) {
    failures++;
  }
  free(x);
  free(acc);
  free(acc32);
  free(q);
  free(y);
}

int main(int argc, char **argv) {
  const char *part = argc > 1 ? argv[1] : "all";
  const int all = strcmp(part, "all") == 0;
  uint32_t *w = malloc(N * sizeof *w);
  if (all || strcmp(part, "uniformity") == 0) {
    part_uniformity(w);
  }
  if (all || strcmp(part, "balance") == 0) {
    part_balance();
  }
  if (all || strcmp(part, "neighbours") == 0) {
    part_neighbours(w);
  }
  if (all || strcmp(part, "streams") == 0) {
    part_streams(w);
  }
  if (all || strcmp(part, "kernels") == 0) {
    part_kernels();
  }
  free(w);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
