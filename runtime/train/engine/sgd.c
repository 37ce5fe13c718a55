/* The SGD optimizer of the training engine (lowbit/train.h): lb_sgd_update on fixed-point codes,
 * plain float loops on float parameters. */
#pragma STDC FP_CONTRACT OFF

#include <string.h>

#include "lowbit/train.h"
#include "train_math.h"

/* x >= 0 as mantissa * 2^-shift with a 24-bit mantissa (float precision), which keeps the terms
 * of lb_sgd_update's exact sums well inside 61 bits. */
static lb_fixed_multiplier multiplier_of(double x) {
  lb_fixed_multiplier m = {0, 0};
  if (!(x > 0)) {
    return m;
  }
  unsigned shift = 0;
  while (x * lb_train_pow2((int)shift) < 8388608.0 && shift < 62) {
    shift++;
  }
  while (x * lb_train_pow2((int)shift) >= 16777216.0 && shift > 0) {
    shift--;
  }
  double v = x * lb_train_pow2((int)shift) + 0.5;
  m.mantissa = v >= 2147483647.0 ? 2147483647u : (uint32_t)v;
  m.shift = shift;
  return m;
}

static int momentum_fl(const lb_train_sgd_config *c, const lb_train_param *p) {
  int fl = p->format.fl + c->momentum_extra_bits;
  return fl > 32 ? 32 : fl;
}

static size_t sgd_state_bytes(const void *config, const lb_train_param *p) {
  const lb_train_sgd_config *c = config;
  if (p->fixed && c->master == LB_SGD_MASTER_NONE) {
    return p->count * sizeof(int16_t);
  }
  if (p->fixed) {
    return 2 * p->count * sizeof(float); /* master, then momentum */
  }
  return p->count * sizeof(float);
}

static lb_status sgd_init(const void *config, lb_train_param *p) {
  const lb_train_sgd_config *c = config;
  if (c->master != LB_SGD_MASTER_NONE && c->master != LB_SGD_MASTER_F32) {
    return LB_INVALID_ARGUMENT;
  }
  if (p->fixed && c->master == LB_SGD_MASTER_F32) {
    float *master = p->state;
    double step = lb_train_pow2(-p->format.fl);
    for (size_t i = 0; i < p->count; i++) {
      int32_t q =
          p->format.wl <= 8 ? ((const int8_t *)p->codes)[i] : ((const int16_t *)p->codes)[i];
      master[i] = (float)(q * step);
    }
  }
  return LB_OK;
}

static lb_status sgd_step(const void *config, lb_train_param *p, uint64_t step, uint64_t seed,
                          uint64_t stream_base) {
  const lb_train_sgd_config *c = config;
  (void)step;
  if (p->fixed) {
    lb_sgd_desc d;
    memset(&d, 0, sizeof d);
    d.weights = p->format;
    d.momentum.wl = 16;
    d.momentum.fl = momentum_fl(c, p);
    d.master = c->master;
    d.gradient = p->gradient_source;
    d.gradient_fl = p->gradient_fl;
    d.learning_rate = multiplier_of(c->learning_rate);
    d.momentum_coefficient = multiplier_of(c->momentum);
    d.weight_decay = multiplier_of(c->weight_decay);
    d.rounding = p->rounding;
    d.seed = seed;
    d.stream_v = stream_base, d.stream_w = stream_base + 1, d.stream_q = stream_base + 2;
    if (c->master == LB_SGD_MASTER_F32) {
      float *master = p->state;
      return lb_sgd_update(&d, 0, p->count, p->gradient, p->codes, master + p->count, master,
                           p->threads);
    }
    return lb_sgd_update(&d, 0, p->count, p->gradient, p->codes, p->state, NULL, p->threads);
  }
  const float *g = p->gradient;
  float *v = p->state, *w = p->values;
  double gscale = lb_train_pow2(-p->gradient_fl);
  for (size_t i = 0; i < p->count; i++) {
    if (!(g[i] - g[i] == 0.0f)) {
      return LB_BAD_GRADIENT; /* NaN or infinite: nothing written, as lb_sgd_update */
    }
  }
  for (size_t i = 0; i < p->count; i++) {
    float gi = (float)(g[i] * gscale);
    float mv = c->momentum * v[i];
    float t = mv + gi;
    float decay = c->weight_decay * w[i];
    v[i] = t + decay;
    float delta = c->learning_rate * v[i];
    w[i] = w[i] - delta;
  }
  return LB_OK;
}

lb_train_optimizer lb_train_sgd(const lb_train_sgd_config *config) {
  lb_train_optimizer o = {"sgd", sgd_state_bytes, sgd_init, sgd_step, config};
  return o;
}
