/* SGD updates and loss scaling (docs/design.md, section 19). Parts:
 * - kernels: every registered kernel against a reference written from the header's formula
 *   (floor divisions, not shifts; libm's nearbyint and floor for float gradients and masters), on
 *   random and extreme codes, momenta and gradients that saturate, in both roundings;
 * - unbiased: 10^5 stochastic updates of one element (at 10^5 indices) through every kernel: the
 *   mean new momentum and weight (or code) within 3 sigma of the exact real update;
 * - overflow: NaN, infinities and out-of-range sums refused by every kernel's check and by
 *   lb_sgd_update, which leaves weights, momentum and master bit-identical;
 * - lossscale: the loss-scale state machine step by step: skips, halving, doubling after N clean
 *   steps, the rising floor and its cap, the ceiling, a static scale;
 * - master: the master-copy variants through lb_sgd_update: codes are the master's rounding;
 * - chunking: one call against the same tensor in chunks (first_index), SIMD kernels against the
 *   generic one bit for bit;
 * - threads: 1 and 2 threads alike, also when a refused gradient sits in the second half (then
 *   nothing is written anywhere);
 * - invalid: the API's refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/lowbit.h"
#include "lowbit/update.h"
#include "support/operands.h"

#pragma STDC FP_CONTRACT OFF

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

static int64_t pow2(int s) { return (int64_t)1 << s; }

/* floor(a / 2^s) by division, for the reference (the kernels shift). */
static int64_t floor_div(int64_t a, int s) {
  const int64_t d = pow2(s), q = a / d;
  return a % d != 0 && a < 0 ? q - 1 : q;
}

/* round(a * 2^-s) as the header says; |a| < 2^62 in every case the tests build. */
static int64_t round_ref(int64_t a, int s, int stochastic, uint64_t r) {
  if (stochastic) {
    return floor_div(a + (int64_t)(r & (uint64_t)(pow2(s) - 1)), s);
  }
  if (s == 0) {
    return a;
  }
  const int64_t q = floor_div(a, s), rest = a - q * pow2(s), half = pow2(s - 1);
  return rest > half || (rest == half && (q & 1)) ? q + 1 : q;
}

static int64_t clamp_wl(int64_t v, unsigned wl) {
  const int64_t high = pow2((int)wl - 1) - 1;
  return v < -high - 1 ? -high - 1 : v > high ? high : v;
}

static unsigned bits_of(uint32_t x) {
  unsigned b = 0;
  while (x >> b) {
    b++;
  }
  return b;
}

static int imax(int a, int b) { return a > b ? a : b; }

/* The grid F of step 1, from the header's words. */
static int grid_f(const lb_sgd_desc *d, unsigned w_wl, int fw) {
  const int fv = d->momentum.fl;
  const int fine = imax(fv + (int)d->momentum_coefficient.shift, fw + (int)d->weight_decay.shift);
  if (d->gradient != LB_FIXED_SOURCE_F32) {
    return imax(fine, d->gradient_fl);
  }
  int f = fv + 32;
  while (f > fine && ((int)(d->momentum.wl - 1 + bits_of(d->momentum_coefficient.mantissa)) +
                              (f - fv - (int)d->momentum_coefficient.shift) >
                          61 ||
                      (int)(w_wl - 1 + bits_of(d->weight_decay.mantissa)) +
                              (f - fw - (int)d->weight_decay.shift) >
                          61)) {
    f--;
  }
  return f;
}

typedef struct element {
  double g;          /* the gradient as read (float or integer) */
  int64_t w, v;      /* codes (or the s16 master) and momentum */
  float mf, vf;      /* float master and momentum */
  int64_t w2, v2, q; /* results: weight (or master), momentum, codes */
  float mf2, vf2;
} element;

/* One element through the formula. */
static void reference(const lb_sgd_desc *d, uint64_t index, element *e) {
  const int stochastic = d->rounding == LB_ROUND_STOCHASTIC;
  const unsigned q_wl = d->weights.wl;
  if (d->master == LB_SGD_MASTER_F32) {
    const float mu =
        (float)ldexp(d->momentum_coefficient.mantissa, -(int)d->momentum_coefficient.shift);
    const float lambda = (float)ldexp(d->weight_decay.mantissa, -(int)d->weight_decay.shift);
    const float eta = (float)ldexp(d->learning_rate.mantissa, -(int)d->learning_rate.shift);
    const float g = (float)ldexp(e->g, -d->gradient_fl);
    const float a = mu * e->vf, b = a + g, c = lambda * e->mf, v = b + c;
    const float step = eta * v, m = e->mf - step;
    e->vf2 = v;
    e->mf2 = m;
    const double t = ldexp((double)m, d->weights.fl);
    const double r = ldexp((double)(random_bits(d->seed, d->stream_q, index) >> 32), -32);
    const double high = ldexp(1.0, (int)q_wl - 1) - 1.0;
    const double rounded = stochastic ? floor(t + r) : nearbyint(t);
    e->q = (int64_t)(rounded > high ? high : rounded < -high - 1.0 ? -high - 1.0 : rounded);
    return;
  }
  const int s16 = d->master == LB_SGD_MASTER_S16;
  const unsigned w_wl = s16 ? 16 : d->weights.wl;
  const int fw = s16 ? d->master_fl : d->weights.fl, fv = d->momentum.fl;
  const int f = grid_f(d, w_wl, fw);
  const int64_t g = d->gradient == LB_FIXED_SOURCE_F32
                        ? (int64_t)nearbyint(ldexp(e->g, f - d->gradient_fl))
                        : (int64_t)e->g * pow2(f - d->gradient_fl);
  const int64_t sum =
      (int64_t)d->momentum_coefficient.mantissa * e->v *
          pow2(f - fv - (int)d->momentum_coefficient.shift) +
      g + (int64_t)d->weight_decay.mantissa * e->w * pow2(f - fw - (int)d->weight_decay.shift);
  e->v2 = clamp_wl(round_ref(sum, f - fv, stochastic, random_bits(d->seed, d->stream_v, index)),
                   d->momentum.wl);
  const int f2 = imax(fw, fv + (int)d->learning_rate.shift);
  const int64_t diff = e->w * pow2(f2 - fw) - (int64_t)d->learning_rate.mantissa * e->v2 *
                                                  pow2(f2 - fv - (int)d->learning_rate.shift);
  e->w2 = clamp_wl(round_ref(diff, f2 - fw, stochastic, random_bits(d->seed, d->stream_w, index)),
                   w_wl);
  if (s16) {
    e->q = clamp_wl(round_ref(e->w2, d->master_fl - d->weights.fl, stochastic,
                              random_bits(d->seed, d->stream_q, index)),
                    q_wl);
  }
}

static unsigned weight_bits(const lb_update_sgd_kernel_info *k) {
  return k->weight == LB_CODE_S8 ? 8 : 16;
}

static int runs_here(const lb_update_sgd_kernel_info *k) {
  if (!lb_cpu_has_isa(k->isa)) {
    printf("skipped %s: this CPU lacks %s\n", k->name, k->isa);
    return 0;
  }
  return 1;
}

/* The buffers of one kernel call, in the kernel's element types. */
typedef struct buffers {
  void *grad, *weights, *momentum, *master;
} buffers;

static void *alloc(size_t n, size_t bytes) { return calloc(n, bytes); }

static buffers buffers_new(size_t n) {
  return (buffers){alloc(n, 8), alloc(n, 2), alloc(n, 4), alloc(n, 4)};
}

static void buffers_free(buffers b) {
  free(b.grad);
  free(b.weights);
  free(b.momentum);
  free(b.master);
}

static void put(const lb_update_sgd_kernel_info *k, buffers b, size_t i, const element *e) {
  if (k->gradient == LB_FIXED_SOURCE_F32) {
    ((float *)b.grad)[i] = (float)e->g;
  } else if (k->gradient == LB_FIXED_SOURCE_I32) {
    ((int32_t *)b.grad)[i] = (int32_t)e->g;
  } else {
    ((int64_t *)b.grad)[i] = (int64_t)e->g;
  }
  if (k->master == LB_SGD_MASTER_F32) {
    ((float *)b.master)[i] = e->mf;
    ((float *)b.momentum)[i] = e->vf;
    return;
  }
  if (k->master == LB_SGD_MASTER_S16) {
    ((int16_t *)b.master)[i] = (int16_t)e->w;
  } else if (k->weight == LB_CODE_S8) {
    ((int8_t *)b.weights)[i] = (int8_t)e->w;
  } else {
    ((int16_t *)b.weights)[i] = (int16_t)e->w;
  }
  if (k->momentum == 2) {
    ((int16_t *)b.momentum)[i] = (int16_t)e->v;
  } else {
    ((int32_t *)b.momentum)[i] = (int32_t)e->v;
  }
}

static int64_t code_at(const lb_update_sgd_kernel_info *k, buffers b, size_t i) {
  return k->weight == LB_CODE_S8 ? ((int8_t *)b.weights)[i] : ((int16_t *)b.weights)[i];
}

/* Results of element i against e: 0 when equal. */
static int differs(const lb_update_sgd_kernel_info *k, buffers b, size_t i, const element *e) {
  if (k->master == LB_SGD_MASTER_F32) {
    const float m = ((float *)b.master)[i], v = ((float *)b.momentum)[i];
    return memcmp(&m, &e->mf2, 4) != 0 || memcmp(&v, &e->vf2, 4) != 0 || code_at(k, b, i) != e->q;
  }
  const int64_t v = k->momentum == 2 ? ((int16_t *)b.momentum)[i] : ((int32_t *)b.momentum)[i];
  if (k->master == LB_SGD_MASTER_S16) {
    return ((int16_t *)b.master)[i] != e->w2 || v != e->v2 || code_at(k, b, i) != e->q;
  }
  return code_at(k, b, i) != e->w2 || v != e->v2;
}

/* A configuration that fits a kernel's types. */
static lb_sgd_desc desc_for(const lb_update_sgd_kernel_info *k, unsigned wl, int variant) {
  lb_sgd_desc d = {
      .weights = {wl, 6},
      .momentum = {k->momentum == 2 ? 16 : 28, 12},
      .master = k->master,
      .master_fl = 13,
      .gradient = k->gradient,
      .gradient_fl = k->gradient == LB_FIXED_SOURCE_F32 ? 3 : 20,
      .learning_rate = {3, 5},         /* 0.09375 */
      .momentum_coefficient = {14, 4}, /* 0.875 */
      .weight_decay = {5, 9},          /* ~0.0098 */
      .rounding = LB_ROUND_NEAREST,
      .seed = 77,
      .stream_v = 1,
      .stream_w = 2,
      .stream_q = 3,
  };
  if (variant == 1) { /* coarse momentum, large rate, zero decay, fine master */
    d.momentum.fl = 4;
    d.weights.fl = -2;
    d.master_fl = 10;
    d.learning_rate = (lb_fixed_multiplier){1000, 9};
    d.momentum_coefficient = (lb_fixed_multiplier){0, 0};
    d.weight_decay = (lb_fixed_multiplier){0, 3};
    d.gradient_fl = k->gradient == LB_FIXED_SOURCE_F32 ? -5 : 7;
  } else if (variant == 2) { /* wide mantissas, a large loss scale on the gradient */
    d.learning_rate = (lb_fixed_multiplier){123456789, 33};
    d.momentum_coefficient = (lb_fixed_multiplier){(1u << 20) - 3, 20};
    d.weight_decay = (lb_fixed_multiplier){7777, 24};
    d.gradient_fl = k->gradient == LB_FIXED_SOURCE_F32 ? 24 : 31;
    d.momentum.wl = k->momentum == 2 ? 12 : 20;
  }
  return d;
}

/* Random elements of d: codes over their whole range with their extremes, gradients about twice
 * the momentum's range so that some saturate, specials where float allows. */
static void random_element(const lb_update_sgd_kernel_info *k, const lb_sgd_desc *d, size_t i,
                           uint64_t *rng, element *e) {
  const unsigned w_wl = k->master == LB_SGD_MASTER_S16 ? 16 : d->weights.wl;
  const int64_t w_high = pow2((int)w_wl - 1) - 1, v_high = pow2((int)d->momentum.wl - 1) - 1;
  const uint64_t r = lb_test_random(rng);
  memset(e, 0, sizeof *e);
  e->w = i % 7 == 0   ? w_high
         : i % 7 == 1 ? -w_high - 1
                      : (int64_t)(r % (uint64_t)(2 * w_high + 2)) - w_high - 1;
  const uint64_t r2 = lb_test_random(rng);
  e->v = i % 5 == 0   ? v_high
         : i % 5 == 1 ? -v_high - 1
                      : (int64_t)(r2 % (uint64_t)(2 * v_high + 2)) - v_high - 1;
  /* The momentum's range as a value, in gradient units: 2^(v_wl - 1 - fv + gs). */
  const double span = ldexp(2.0, (int)d->momentum.wl - 1 - d->momentum.fl + d->gradient_fl);
  const double u = (double)(int64_t)lb_test_random(rng) * 0x1p-63;
  double g = nearbyint(u * span);
  if (k->gradient == LB_FIXED_SOURCE_F32) {
    g = (double)(float)(u * span * (1.0 + 0x1p-10 * (double)(r & 7)));
  } else if (k->gradient == LB_FIXED_SOURCE_I32) {
    g = g > 2147483647.0 ? 2147483647.0 : g < -2147483648.0 ? -2147483648.0 : g;
  }
  e->g = g;
  e->mf = (float)(u * ldexp(1.0, (int)d->weights.wl - d->weights.fl));
  e->vf = (float)ldexp((double)e->v, -d->momentum.fl);
}

enum { N = 1031 };

static void part_kernels(uint64_t *rng) {
  buffers b = buffers_new(N);
  element *e = malloc(N * sizeof *e);
  size_t checked = 0;
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    const unsigned wls[] = {2, 5, weight_bits(k)};
    for (size_t w = 0; w < COUNT(wls); w++) {
      for (int variant = 0; variant < 3; variant++) {
        for (int rounding = 0; rounding < 2; rounding++) {
          lb_sgd_desc d = desc_for(k, wls[w], variant);
          d.rounding = (lb_rounding)rounding;
          const lb_update_sgd_kernel_info *chosen;
          lb_sgd_args args;
          const lb_status status = lb_sgd_prepare(&d, &chosen, &args);
          if (status != LB_OK) {
            fprintf(stderr, "FAIL prepare %s variant %d wl %u: status %d\n", k->name, variant,
                    wls[w], (int)status);
            failures++;
            continue;
          }
          const uint64_t first = 5000 + lb_test_random(rng) % 1000;
          for (size_t i = 0; i < N; i++) {
            random_element(k, &d, i, rng, &e[i]);
            put(k, b, i, &e[i]);
          }
          if (k->check(N, b.grad, &args) != 0) {
            fprintf(stderr, "FAIL %s: the check refuses gradients in range\n", k->name);
            failures++;
          }
          k->update(N, b.grad, first, b.weights, b.momentum, b.master, &args);
          for (size_t i = 0; i < N; i++) {
            reference(&d, first + i, &e[i]);
            if (differs(k, b, i, &e[i])) {
              fail("reference", k->name, i, code_at(k, b, i),
                   k->master == LB_SGD_MASTER_NONE ? e[i].w2 : e[i].q);
            }
          }
          checked += N;
        }
      }
    }
  }
  printf("kernels: %zu updates against the reference\n", checked);
  buffers_free(b);
  free(e);
}

enum { DRAWS = 100000 };

static double worst_sigma;

/* The mean of DRAWS values against the exact expectation, in standard errors of the sample. */
static void check_mean(const char *what, const char *kernel, double sum, double sum_squares,
                       double expected) {
  const double mean = sum / DRAWS, variance = sum_squares / DRAWS - mean * mean;
  const double sigma = sqrt(variance > 0.0 ? variance / DRAWS : 0.0);
  const double deviation = fabs(mean - expected);
  if (sigma == 0.0 ? deviation > 1e-9 : deviation > 3.0 * sigma) {
    fprintf(stderr, "FAIL unbiased %s %s: mean %.9g, expected %.9g, sigma %.3g\n", kernel, what,
            mean, expected, sigma);
    failures++;
  } else if (sigma > 0.0 && deviation / sigma > worst_sigma) {
    worst_sigma = deviation / sigma;
  }
  printf("unbiased %s %s: mean %.6f, expected %.6f (%.2f sigma)\n", kernel, what, mean, expected,
         sigma > 0.0 ? deviation / sigma : 0.0);
}

static void part_unbiased(void) {
  buffers b = buffers_new(DRAWS);
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    lb_sgd_desc d = desc_for(k, weight_bits(k), 0);
    d.rounding = LB_ROUND_STOCHASTIC;
    d.seed = 2024;
    const lb_update_sgd_kernel_info *chosen;
    lb_sgd_args args;
    if (lb_sgd_prepare(&d, &chosen, &args) != LB_OK) {
      fprintf(stderr, "FAIL prepare %s\n", k->name);
      failures++;
      continue;
    }
    /* Well inside every range: nothing saturates, so the mean is the real update. */
    element e = {.g = k->gradient == LB_FIXED_SOURCE_F32 ? (double)0.3f : 777777.0,
                 .w = k->master == LB_SGD_MASTER_S16 ? 4321 : 37,
                 .v = -1234,
                 .mf = 0.8f,
                 .vf = -0.3f};
    for (size_t i = 0; i < DRAWS; i++) {
      put(k, b, i, &e);
    }
    k->update(DRAWS, b.grad, 123456, b.weights, b.momentum, b.master, &args);
    double sums[3][2] = {{0}};
    for (size_t i = 0; i < DRAWS; i++) {
      const double q = (double)code_at(k, b, i);
      const double v = k->master == LB_SGD_MASTER_F32 ? 0.0
                       : k->momentum == 2             ? ((int16_t *)b.momentum)[i]
                                                      : ((int32_t *)b.momentum)[i];
      const double w = k->master == LB_SGD_MASTER_S16 ? ((int16_t *)b.master)[i] : q;
      const double values[3] = {v, w, q};
      for (int j = 0; j < 3; j++) {
        sums[j][0] += values[j];
        sums[j][1] += values[j] * values[j];
      }
    }
    if (k->master == LB_SGD_MASTER_F32) {
      element exact = e;
      reference(&d, 0, &exact);
      check_mean("codes", k->name, sums[2][0], sums[2][1], ldexp(exact.mf2, d.weights.fl));
      continue;
    }
    /* The exact rational update, with the real (unrounded) mean of v'. */
    const int s16 = k->master == LB_SGD_MASTER_S16;
    const int fw = s16 ? d.master_fl : d.weights.fl, fv = d.momentum.fl;
    const double g = ldexp(e.g, -d.gradient_fl);
    const double mu = ldexp(d.momentum_coefficient.mantissa, -(int)d.momentum_coefficient.shift);
    const double lambda = ldexp(d.weight_decay.mantissa, -(int)d.weight_decay.shift);
    const double eta = ldexp(d.learning_rate.mantissa, -(int)d.learning_rate.shift);
    const double v_real = mu * ldexp((double)e.v, -fv) + g + lambda * ldexp((double)e.w, -fw);
    const double w_real = ldexp((double)e.w, -fw) - eta * v_real;
    check_mean("momentum", k->name, sums[0][0], sums[0][1], ldexp(v_real, fv));
    check_mean("weights", k->name, sums[1][0], sums[1][1], ldexp(w_real, fw));
    if (s16) {
      check_mean("codes", k->name, sums[2][0], sums[2][1], ldexp(w_real, d.weights.fl));
    }
  }
  printf("unbiased: worst deviation %.2f sigma\n", worst_sigma);
  buffers_free(b);
}

static void part_overflow(uint64_t *rng) {
  enum { M = 64 };
  buffers b = buffers_new(M), saved = buffers_new(M);
  size_t refused = 0;
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    lb_sgd_desc d = desc_for(k, weight_bits(k), 0);
    /* Integer sums of few fraction bits, so that the bound is inside int32 too. */
    d.gradient_fl = k->gradient == LB_FIXED_SOURCE_F32 ? 3
                    : k->master == LB_SGD_MASTER_F32   ? -40
                                                       : -20;
    const lb_update_sgd_kernel_info *chosen;
    lb_sgd_args args;
    if (lb_sgd_prepare(&d, &chosen, &args) != LB_OK) {
      fprintf(stderr, "FAIL prepare %s\n", k->name);
      failures++;
      continue;
    }
    const double float_bound =
        k->master == LB_SGD_MASTER_F32 ? ldexp(1.0, 64 + d.gradient_fl) : 0x1p61 / args.g_scale;
    /* Bad values, and the largest accepted one (the check takes it). */
    double bad[4], edge;
    if (k->gradient == LB_FIXED_SOURCE_F32) {
      bad[0] = NAN;
      bad[1] = INFINITY;
      bad[2] = -INFINITY;
      bad[3] = float_bound * 2.0;
      edge = k->master == LB_SGD_MASTER_F32 ? float_bound * 0.5 : float_bound;
    } else {
      const double limit =
          k->master == LB_SGD_MASTER_F32 ? ldexp(1.0, 64 + d.gradient_fl) : (double)args.g_max;
      bad[0] = bad[1] = bad[2] = bad[3] = limit * 2.0;
      bad[1] = -bad[1];
      edge = k->master == LB_SGD_MASTER_F32 ? limit * 0.5 : limit;
      if (k->gradient == LB_FIXED_SOURCE_I32 && limit * 2.0 > 2147483647.0) {
        fprintf(stderr, "FAIL %s: the test's bound is out of int32\n", k->name);
        failures++;
        continue;
      }
    }
    for (int which = 0; which < 5; which++) {
      element e;
      for (size_t i = 0; i < M; i++) {
        random_element(k, &d, i, rng, &e);
        e.g = 0.0;
        put(k, b, i, &e);
      }
      const size_t at = lb_test_random(rng) % M;
      e.g = which < 4 ? bad[which] : edge;
      put(k, b, at, &e);
      const size_t want = which < 4;
      const size_t got = k->check(M, b.grad, &args);
      if (got != want) {
        fprintf(stderr, "FAIL %s check of %g: %zu refused, expected %zu\n", k->name, e.g, got,
                want);
        failures++;
      }
      /* The API on the same types, which picks this kernel or a sibling of another ISA. */
      memcpy(saved.grad, b.grad, M * 8);
      memcpy(saved.weights, b.weights, M * 2);
      memcpy(saved.momentum, b.momentum, M * 4);
      memcpy(saved.master, b.master, M * 4);
      size_t counted = 99;
      if (lb_sgd_check(&d, M, b.grad, &counted) != LB_OK || counted != want) {
        fprintf(stderr, "FAIL lb_sgd_check %s: %zu refused, expected %zu\n", k->name, counted,
                want);
        failures++;
      }
      const lb_status status = lb_sgd_update(&d, 0, M, b.grad, b.weights, b.momentum,
                                             k->master == LB_SGD_MASTER_NONE ? NULL : b.master, 1);
      if (status != (want ? LB_BAD_GRADIENT : LB_OK)) {
        fprintf(stderr, "FAIL %s update with %g: status %d\n", k->name, e.g, (int)status);
        failures++;
      }
      if (want && (memcmp(saved.weights, b.weights, M * 2) != 0 ||
                   memcmp(saved.momentum, b.momentum, M * 4) != 0 ||
                   memcmp(saved.master, b.master, M * 4) != 0)) {
        fprintf(stderr, "FAIL %s: a refused update wrote\n", k->name);
        failures++;
      }
      refused += want;
    }
  }
  printf("overflow: %zu refused gradients left every buffer unchanged\n", refused);
  buffers_free(b);
  buffers_free(saved);
}

static void expect(lb_status got, lb_status want, const char *what) {
  if (got != want) {
    fprintf(stderr, "FAIL %s: status %d, expected %d\n", what, (int)got, (int)want);
    failures++;
  }
}

/* One step: clean or not, and the expected outcome. */
typedef struct scale_step {
  int clean, apply, log2_scale, min_log2;
} scale_step;

static void run_steps(const lb_loss_scale_config *c, const scale_step *steps, size_t count,
                      const char *what) {
  lb_loss_scale s;
  expect(lb_loss_scale_init(&s, c), LB_OK, what);
  for (size_t i = 0; i < count; i++) {
    int apply = -1;
    expect(lb_loss_scale_update(&s, steps[i].clean, &apply), LB_OK, what);
    if (apply != steps[i].apply || s.log2_scale != steps[i].log2_scale ||
        s.min_log2 != steps[i].min_log2) {
      fprintf(stderr, "FAIL %s step %zu: apply %d log2 %d floor %d, expected %d %d %d\n", what,
              i + 1, apply, s.log2_scale, s.min_log2, steps[i].apply, steps[i].log2_scale,
              steps[i].min_log2);
      failures++;
    }
  }
  if (lb_loss_scale_value(&s) != (float)ldexp(1.0, s.log2_scale)) {
    fprintf(stderr, "FAIL %s: the value is not 2^%d\n", what, s.log2_scale);
    failures++;
  }
  printf("lossscale %s: %zu steps, %llu skipped, scale 2^%d\n", what, count,
         (unsigned long long)s.skipped, s.log2_scale);
}

static void part_lossscale(void) {
  /* Dynamic: doubling after 3 clean steps, halving on a bad one, the floor 2^2 rising by 2x
   * every 4 steps up to 2^5, the ceiling 2^9. */
  const lb_loss_scale_config dynamic = {.mode = LB_LOSS_SCALE_DYNAMIC,
                                        .log2_scale = 8,
                                        .max_log2 = 9,
                                        .growth_interval = 3,
                                        .min_log2 = 2,
                                        .floor_interval = 4,
                                        .floor_step = 1,
                                        .floor_cap_log2 = 5};
  static const scale_step halving[] = {
      {1, 1, 8, 2}, {1, 1, 8, 2}, {1, 1, 9, 2}, /* third clean step doubles */
      {1, 1, 9, 3},                             /* step 4: the floor rises */
      {1, 1, 9, 3}, {1, 1, 9, 3}, {1, 1, 9, 3}, /* doubling stops at the ceiling */
      {0, 0, 8, 4},                             /* bad: skip and halve; the floor rises */
      {0, 0, 7, 4}, {0, 0, 6, 4}, {0, 0, 5, 4}, {0, 0, 5, 5}, /* the floor lifts the scale */
      {0, 0, 5, 5}, {0, 0, 5, 5}, {1, 1, 5, 5}, {0, 0, 5, 5}, /* halving stops at the floor */
      {1, 1, 5, 5}, {1, 1, 5, 5}, {1, 1, 6, 5}, {1, 1, 6, 5}, /* the cap holds the floor */
      {0, 0, 5, 5}, {1, 1, 5, 5}, {1, 1, 5, 5}, {0, 0, 5, 5},
  };
  run_steps(&dynamic, halving, COUNT(halving), "dynamic");
  /* A floor that never rises: a bad step resets the count of clean ones. */
  lb_loss_scale_config fixed_floor = dynamic;
  fixed_floor.floor_interval = 0;
  fixed_floor.floor_step = 0;
  static const scale_step reset[] = {
      {1, 1, 8, 2}, {1, 1, 8, 2}, {0, 0, 7, 2}, {1, 1, 7, 2}, {1, 1, 7, 2}, {1, 1, 8, 2},
      {0, 0, 7, 2}, {0, 0, 6, 2}, {0, 0, 5, 2}, {0, 0, 4, 2}, {0, 0, 3, 2}, {0, 0, 2, 2},
      {0, 0, 2, 2}, {1, 1, 2, 2}, {1, 1, 2, 2}, {1, 1, 3, 2},
  };
  run_steps(&fixed_floor, reset, COUNT(reset), "fixed-floor");
  /* Static: the scale never moves; bad steps are skipped. */
  const lb_loss_scale_config fixed = {.mode = LB_LOSS_SCALE_STATIC, .log2_scale = -3};
  static const scale_step still[] = {{1, 1, -3, 0}, {0, 0, -3, 0}, {1, 1, -3, 0},
                                     {1, 1, -3, 0}, {1, 1, -3, 0}, {0, 0, -3, 0}};
  run_steps(&fixed, still, COUNT(still), "static");
  /* Refusals. */
  lb_loss_scale s;
  int apply;
  lb_loss_scale_config c = dynamic;
  expect(lb_loss_scale_init(NULL, &c), LB_INVALID_ARGUMENT, "loss scale NULL state");
  expect(lb_loss_scale_init(&s, NULL), LB_INVALID_ARGUMENT, "loss scale NULL config");
  c.growth_interval = 0;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "growth interval 0");
  c = dynamic;
  c.min_log2 = 9;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "floor above the scale");
  c = dynamic;
  c.floor_cap_log2 = 10;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "cap above the ceiling");
  c = dynamic;
  c.floor_step = 0;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "floor step 0");
  c = dynamic;
  c.log2_scale = 128;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "log2 128");
  c = dynamic;
  c.mode = (lb_loss_scale_mode)2;
  expect(lb_loss_scale_init(&s, &c), LB_INVALID_ARGUMENT, "mode 2");
  expect(lb_loss_scale_init(&s, &dynamic), LB_OK, "init");
  expect(lb_loss_scale_update(&s, 2, &apply), LB_INVALID_ARGUMENT, "clean 2");
  expect(lb_loss_scale_update(&s, 1, NULL), LB_INVALID_ARGUMENT, "NULL apply");
  expect(lb_loss_scale_update(NULL, 1, &apply), LB_INVALID_ARGUMENT, "NULL state");
  if (s.step != 0) {
    fprintf(stderr, "FAIL a refused update counted a step\n");
    failures++;
  }
}

/* The kernel lb_sgd_update takes for k's types: the generic one of them. */
static const lb_update_sgd_kernel_info *generic_of(const lb_update_sgd_kernel_info *k) {
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *g = lb_update_sgd_kernel_at(n);
    if (strcmp(g->isa, "generic") == 0 && g->gradient == k->gradient && g->weight == k->weight &&
        g->momentum == k->momentum && g->master == k->master) {
      return g;
    }
  }
  return NULL;
}

static void part_master(uint64_t *rng) {
  /* Through the API: the master updated as the formula says and the codes its rounding. */
  buffers b = buffers_new(N);
  element *e = malloc(N * sizeof *e);
  size_t checked = 0;
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (k->master == LB_SGD_MASTER_NONE || generic_of(k) != k) {
      continue;
    }
    for (int rounding = 0; rounding < 2; rounding++) {
      lb_sgd_desc d = desc_for(k, k->weight == LB_CODE_S8 ? 4 : 11, 0);
      d.rounding = (lb_rounding)rounding;
      for (size_t i = 0; i < N; i++) {
        random_element(k, &d, i, rng, &e[i]);
        put(k, b, i, &e[i]);
      }
      expect(lb_sgd_update(&d, 9, N, b.grad, b.weights, b.momentum, b.master, 1), LB_OK, k->name);
      for (size_t i = 0; i < N; i++) {
        reference(&d, 9 + i, &e[i]);
        if (differs(k, b, i, &e[i])) {
          fail("master", k->name, i, code_at(k, b, i), e[i].q);
        }
        /* Nearest: the codes are the master's nearest <wl, fl> values, ties to even. */
        const double m = k->master == LB_SGD_MASTER_F32
                             ? (double)((float *)b.master)[i]
                             : ldexp(((int16_t *)b.master)[i], -d.master_fl);
        const double t = nearbyint(ldexp(m, d.weights.fl)),
                     high = ldexp(1.0, (int)d.weights.wl - 1);
        const double want = t >= high ? high - 1.0 : t < -high ? -high : t;
        if (rounding == 0 && (double)code_at(k, b, i) != want) {
          fail("master nearest", k->name, i, code_at(k, b, i), (long long)want);
        }
      }
      checked += N;
    }
  }
  printf("master: %zu updates of masters and their codes\n", checked);
  buffers_free(b);
  free(e);
}

static void part_chunking(uint64_t *rng) {
  buffers whole = buffers_new(N), parts = buffers_new(N), other = buffers_new(N);
  size_t compared = 0, simd = 0;
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (!runs_here(k)) {
      continue;
    }
    lb_sgd_desc d = desc_for(k, weight_bits(k) - 1, 0);
    d.rounding = LB_ROUND_STOCHASTIC;
    const lb_update_sgd_kernel_info *chosen;
    lb_sgd_args args;
    expect(lb_sgd_prepare(&d, &chosen, &args), LB_OK, k->name);
    for (size_t i = 0; i < N; i++) {
      element e;
      random_element(k, &d, i, rng, &e);
      put(k, whole, i, &e);
      put(k, parts, i, &e);
      put(k, other, i, &e);
    }
    const uint64_t first = UINT64_C(1) << 40;
    k->update(N, whole.grad, first, whole.weights, whole.momentum, whole.master, &args);
    /* Chunks of 1, 332, 15 and the rest through the API, each told where it starts. */
    static const size_t cuts[] = {0, 1, 333, 348, N};
    const size_t gb = k->gradient == LB_FIXED_SOURCE_I64 ? 8 : 4, wb = weight_bits(k) / 8;
    const size_t vb = (size_t)k->momentum;
    const size_t mb = k->master == LB_SGD_MASTER_F32 ? 4 : k->master == LB_SGD_MASTER_S16 ? 2 : 0;
    for (size_t c = 0; c + 1 < COUNT(cuts); c++) {
      const size_t at = cuts[c];
      expect(lb_sgd_update(&d, first + at, cuts[c + 1] - at, (char *)parts.grad + at * gb,
                           (char *)parts.weights + at * wb, (char *)parts.momentum + at * vb,
                           k->master == LB_SGD_MASTER_NONE ? NULL : (char *)parts.master + at * mb,
                           1),
             LB_OK, "chunk");
    }
    if (memcmp(whole.weights, parts.weights, N * wb) != 0 ||
        memcmp(whole.momentum, parts.momentum, N * vb) != 0 ||
        memcmp(whole.master, parts.master, N * mb) != 0) {
      fprintf(stderr, "FAIL chunks %s: the results differ from one call's\n", k->name);
      failures++;
    }
    compared += N;
    const lb_update_sgd_kernel_info *g = generic_of(k);
    if (g == k) {
      continue;
    }
    g->update(N, other.grad, first, other.weights, other.momentum, other.master, &args);
    if (memcmp(whole.weights, other.weights, N * wb) != 0 ||
        memcmp(whole.momentum, other.momentum, N * vb) != 0 ||
        memcmp(whole.master, other.master, N * mb) != 0) {
      fprintf(stderr, "FAIL %s: results differ from %s's\n", k->name, g->name);
      failures++;
    }
    simd++;
  }
  printf("chunking: %zu updates in chunks; %zu SIMD kernels equal to the generic ones\n", compared,
         simd);
  buffers_free(whole);
  buffers_free(parts);
  buffers_free(other);
}

enum { BIG = 100003 };

/* lb_sgd_update with 1 and 2 threads on a tensor that 2 threads split, for every type combination
 * (its generic kernel's): the same weights, momentum and master; and with one refused gradient in
 * the second half, LB_BAD_GRADIENT from both and every buffer unchanged, the first half (which
 * another thread would update) included. */
static void part_threads(uint64_t *rng) {
  buffers start = buffers_new(BIG), one = buffers_new(BIG), two = buffers_new(BIG);
  size_t compared = 0;
  for (size_t n = 0; n < lb_update_sgd_kernel_count(); n++) {
    const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(n);
    if (generic_of(k) != k) {
      continue;
    }
    /* Stochastic: the rounding whose bits depend on the element's index, which chunks must
     * keep (nearest is the digest test's). */
    lb_sgd_desc d = desc_for(k, weight_bits(k), 0);
    d.rounding = LB_ROUND_STOCHASTIC;
    /* Few fraction bits, as in part_overflow, so that an int32 gradient can be refused. */
    d.gradient_fl = k->gradient == LB_FIXED_SOURCE_F32 ? 3
                    : k->master == LB_SGD_MASTER_F32   ? -40
                                                       : -20;
    const lb_update_sgd_kernel_info *chosen;
    lb_sgd_args args;
    expect(lb_sgd_prepare(&d, &chosen, &args), LB_OK, k->name);
    const double limit =
        k->master == LB_SGD_MASTER_F32 ? ldexp(1.0, 64 + d.gradient_fl) : (double)args.g_max;
    element e;
    for (size_t i = 0; i < BIG; i++) {
      random_element(k, &d, i, rng, &e);
      if (k->gradient != LB_FIXED_SOURCE_F32) {
        e.g = nearbyint((double)(int64_t)lb_test_random(rng) * 0x1p-64 * limit);
      }
      put(k, start, i, &e);
    }
    const size_t gb = k->gradient == LB_FIXED_SOURCE_I64 ? 8 : 4;
    const size_t bytes[4] = {BIG * gb, BIG * 2, BIG * 4, BIG * 4};
    for (int refused = 0; refused <= 1; refused++) {
      if (refused) {
        e.g = k->gradient == LB_FIXED_SOURCE_F32 ? NAN : limit * 2.0;
        put(k, start, BIG - 7, &e);
      }
      void *const from[4] = {start.grad, start.weights, start.momentum, start.master};
      void *const to[2][4] = {{one.grad, one.weights, one.momentum, one.master},
                              {two.grad, two.weights, two.momentum, two.master}};
      for (int b = 0; b < 4; b++) {
        memcpy(to[0][b], from[b], bytes[b]);
        memcpy(to[1][b], from[b], bytes[b]);
      }
      void *master_one = k->master == LB_SGD_MASTER_NONE ? NULL : one.master;
      void *master_two = k->master == LB_SGD_MASTER_NONE ? NULL : two.master;
      const lb_status want = refused ? LB_BAD_GRADIENT : LB_OK;
      expect(lb_sgd_update(&d, 3, BIG, one.grad, one.weights, one.momentum, master_one, 1), want,
             k->name);
      expect(lb_sgd_update(&d, 3, BIG, two.grad, two.weights, two.momentum, master_two, 2), want,
             k->name);
      for (int b = 1; b < 4; b++) {
        if (memcmp(to[0][b], to[1][b], bytes[b]) != 0) {
          fprintf(stderr, "FAIL threads %s: 1 and 2 threads differ (buffer %d)\n", k->name, b);
          failures++;
        }
        if (refused && memcmp(to[1][b], from[b], bytes[b]) != 0) {
          fprintf(stderr, "FAIL threads %s: a refused update wrote (buffer %d)\n", k->name, b);
          failures++;
        }
      }
      if (!refused && memcmp(one.momentum, start.momentum, bytes[2]) == 0) {
        fprintf(stderr, "FAIL threads %s: the update changed nothing\n", k->name);
        failures++;
      }
      compared++;
    }
  }
  printf("threads: %zu updates of %d elements, 1 and 2 threads alike\n", compared, BIG);
  buffers_free(start);
  buffers_free(one);
  buffers_free(two);
}

static void part_invalid(void) {
  const lb_update_sgd_kernel_info *k = lb_update_sgd_kernel_at(0);
  const lb_sgd_desc ok = desc_for(k, 8, 0);
  float grad[2] = {0.5f, -0.25f};
  int8_t w[2] = {3, -3};
  int16_t v[2] = {100, -100};
  float master[2] = {1.0f, 2.0f};
  size_t refused;
  expect(lb_sgd_update(&ok, 0, 2, grad, w, v, NULL, 1), LB_OK, "valid");
  lb_sgd_desc d;
#define REFUSE(field, value, what)                                                                 \
  do {                                                                                             \
    d = ok;                                                                                        \
    d.field = value;                                                                               \
    expect(lb_sgd_update(&d, 0, 2, grad, w, v, NULL, 1), LB_INVALID_ARGUMENT, what);               \
    expect(lb_sgd_check(&d, 2, grad, &refused), LB_INVALID_ARGUMENT, what);                        \
  } while (0)
  REFUSE(weights.wl, 1, "weights wl 1");
  REFUSE(weights.wl, 17, "weights wl 17");
  REFUSE(weights.fl, 33, "weights fl 33");
  REFUSE(weights.fl, -33, "weights fl -33");
  REFUSE(momentum.wl, 1, "momentum wl 1");
  REFUSE(momentum.wl, 33, "momentum wl 33");
  REFUSE(momentum.fl, 40, "momentum fl 40");
  REFUSE(master, 3, "master 3");
  REFUSE(gradient, 3, "gradient 3");
  REFUSE(gradient_fl, 129, "gradient fl 129");
  REFUSE(gradient_fl, -129, "gradient fl -129");
  REFUSE(learning_rate.mantissa, 1u << 31, "mantissa 2^31");
  REFUSE(momentum_coefficient.shift, 63, "shift 63");
  REFUSE(weight_decay.shift, 100, "shift 100");
  REFUSE(rounding, (lb_rounding)2, "rounding 2");
  REFUSE(stream_w, ok.stream_v, "stream w = v");
  REFUSE(stream_q, ok.stream_w, "stream q = w");
  /* Terms beyond 61 bits: a 31-bit mantissa on a 32-bit momentum. */
  d = ok;
  d.momentum.wl = 32;
  d.momentum_coefficient = (lb_fixed_multiplier){(1u << 31) - 1, 31};
  expect(lb_sgd_update(&d, 0, 2, grad, w, (int32_t[2]){0, 0}, NULL, 1), LB_INVALID_ARGUMENT,
         "terms beyond 61 bits");
  d = ok;
  d.master = LB_SGD_MASTER_S16;
  d.master_fl = ok.weights.fl - 1;
  expect(lb_sgd_update(&d, 0, 2, grad, w, v, master, 1), LB_INVALID_ARGUMENT, "master fl below fl");
  expect(lb_sgd_update(NULL, 0, 2, grad, w, v, NULL, 1), LB_INVALID_ARGUMENT, "NULL desc");
  expect(lb_sgd_update(&ok, 0, 2, NULL, w, v, NULL, 1), LB_INVALID_ARGUMENT, "NULL gradients");
  expect(lb_sgd_update(&ok, 0, 2, grad, NULL, v, NULL, 1), LB_INVALID_ARGUMENT, "NULL weights");
  expect(lb_sgd_update(&ok, 0, 2, grad, w, NULL, NULL, 1), LB_INVALID_ARGUMENT, "NULL momentum");
  expect(lb_sgd_update(&ok, 0, 2, grad, w, v, master, 1), LB_INVALID_ARGUMENT,
         "master without one");
  expect(lb_sgd_update(&ok, 0, 0, grad, w, v, NULL, 1), LB_INVALID_ARGUMENT, "count 0");
  d = ok;
  d.master = LB_SGD_MASTER_F32;
  expect(lb_sgd_update(&d, 0, 2, grad, w, master, NULL, 1), LB_INVALID_ARGUMENT, "no float master");
  expect(lb_sgd_check(&ok, 2, grad, NULL), LB_INVALID_ARGUMENT, "NULL refused");
  expect(lb_sgd_check(NULL, 2, grad, &refused), LB_INVALID_ARGUMENT, "check NULL desc");
  expect(lb_sgd_prepare(&ok, NULL, NULL), LB_INVALID_ARGUMENT, "prepare NULL");
  /* Refusals wrote nothing: the values are those of the one valid step. */
  int8_t w_once[2] = {3, -3};
  int16_t v_once[2] = {100, -100};
  expect(lb_sgd_update(&ok, 0, 2, grad, w_once, v_once, NULL, 1), LB_OK, "valid");
  if (memcmp(w, w_once, sizeof w) != 0 || memcmp(v, v_once, sizeof v) != 0 || master[0] != 1.0f) {
    fprintf(stderr, "FAIL invalid: a refused call wrote\n");
    failures++;
  }
  if (lb_update_sgd_kernel_at(lb_update_sgd_kernel_count()) != NULL) {
    fprintf(stderr, "FAIL kernel_at past the end\n");
    failures++;
  }
  printf("invalid: %s\n", lb_status_string(LB_BAD_GRADIENT));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr,
            "usage: %s kernels|unbiased|overflow|lossscale|master|chunking|threads|invalid\n",
            argv[0]);
    return 2;
  }
  printf("cpu: %s, %zu update kernels\n", lb_cpu_description(), lb_update_sgd_kernel_count());
  uint64_t rng = 0x6a09e667f3bcc908u;
  if (strcmp(argv[1], "kernels") == 0) {
    part_kernels(&rng);
  } else if (strcmp(argv[1], "unbiased") == 0) {
    part_unbiased();
  } else if (strcmp(argv[1], "overflow") == 0) {
    part_overflow(&rng);
  } else if (strcmp(argv[1], "lossscale") == 0) {
    part_lossscale();
  } else if (strcmp(argv[1], "master") == 0) {
    part_master(&rng);
  } else if (strcmp(argv[1], "chunking") == 0) {
    part_chunking(&rng);
  } else if (strcmp(argv[1], "threads") == 0) {
    part_threads(&rng);
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
