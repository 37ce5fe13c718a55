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
  const uint64_t g = 0x9e3779b97f4a7c15u;
  return mix(mix(seed ^ mix(stream + g)) + (index + 1) * g);
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
                                             k->master == LB_SGD_MASTER_NONE ? NULL : b.master);
      if (status != (want ? LB_GRADIENT_OVERFLOW : LB_OK)) {
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

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s kernels|unbiased|overflow|lossscale|master|chunking|invalid\n",
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
