/* The SGD optimizer of the training engine (lowbit/train.h): lb_sgd_update on fixed-point codes,
 * plain float loops on float parameters. */
#pragma STDC FP_CONTRACT OFF

#include <stdint.h>
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

/* A float parameter's master codes in its state, after the float momentum: minifloat codes, or
 * BFP codes [rows][row_length] and their exponents [rows][blocks]. */
typedef struct master_layout {
  int kind; /* LB_NUMBER_FLOAT: the values themselves are the master */
  size_t code_bytes, rows;
  lb_bfp_format bfp; /* the block cut to the row */
  void *codes;
  int16_t *exponents;
} master_layout;

static master_layout master_of(const lb_train_sgd_config *c, const lb_train_param *p) {
  master_layout ml;
  memset(&ml, 0, sizeof ml);
  const lb_number_format *f = &c->master_format;
  size_t k = p->row_length ? p->row_length : p->count;
  ml.kind = LB_NUMBER_FLOAT;
  if (p->fixed || p->count == 0 || p->count % k) {
    return ml;
  }
  if (f->kind == LB_NUMBER_MINIFLOAT) {
    ml.code_bytes = lb_minifloat_code_bytes(&f->minifloat);
  } else if (f->kind == LB_NUMBER_BFP && f->bfp.block >= 1) {
    ml.bfp = f->bfp;
    ml.bfp.block = ml.bfp.block > k ? k : ml.bfp.block;
    ml.code_bytes = lb_bfp_code_bytes(&ml.bfp);
    ml.rows = p->count / k;
  }
  if (ml.code_bytes) {
    ml.kind = f->kind;
    unsigned char *base = p->state ? (unsigned char *)p->state + p->count * sizeof(float) : NULL;
    ml.codes = base;
    /* the exponents after the codes, whose bytes are rounded up to even for their alignment */
    size_t at = (p->count * ml.code_bytes + 1) / 2 * 2;
    ml.exponents = base ? (int16_t *)(uintptr_t)(base + at) : NULL;
  }
  return ml;
}

static size_t master_bytes(const master_layout *ml, const lb_train_param *p) {
  if (ml->kind == LB_NUMBER_FLOAT) {
    return 0;
  }
  size_t codes = (p->count * ml->code_bytes + 1) / 2 * 2;
  if (ml->kind != LB_NUMBER_BFP) {
    return codes;
  }
  return codes + ml->rows * lb_bfp_blocks(&ml->bfp, p->count / ml->rows) * sizeof(int16_t);
}

/* Rounds the values to the master's codes and sets the values to their decoding. */
static lb_status master_round(const lb_train_sgd_config *c, const master_layout *ml,
                              lb_train_param *p, lb_rounding rounding, uint64_t seed,
                              uint64_t stream) {
  const lb_number_format *f = &c->master_format;
  lb_status s;
  if (ml->kind == LB_NUMBER_MINIFLOAT) {
    s = lb_quantize_minifloat_codes(&f->minifloat, rounding, seed, stream, 0, p->count, p->values,
                                    ml->codes, p->threads);
    return s == LB_OK ? lb_minifloat_decode(&f->minifloat, p->count, ml->codes, p->values) : s;
  }
  size_t k = p->count / ml->rows;
  s = lb_quantize_bfp_f32(&ml->bfp, rounding, seed, stream, 0, ml->rows, k, p->values, ml->codes,
                          ml->exponents, p->threads);
  return s == LB_OK ? lb_bfp_decode(&ml->bfp, ml->rows, k, ml->codes, ml->exponents, p->values) : s;
}

static size_t sgd_state_bytes(const void *config, const lb_train_param *p) {
  const lb_train_sgd_config *c = config;
  if (p->fixed && c->master == LB_SGD_MASTER_NONE) {
    return p->count * sizeof(int16_t);
  }
  if (p->fixed) {
    return 2 * p->count * sizeof(float); /* master, then momentum */
  }
  master_layout ml = master_of(c, p);
  return p->count * sizeof(float) + master_bytes(&ml, p);
}

static int master_format_valid(const lb_number_format *f) {
  if (f->rounding != LB_ROUND_NEAREST && f->rounding != LB_ROUND_STOCHASTIC) {
    return 0;
  }
  switch (f->kind) {
  case LB_NUMBER_FLOAT: return 1;
  case LB_NUMBER_MINIFLOAT: return lb_minifloat_code_bytes(&f->minifloat) != 0;
  case LB_NUMBER_BFP: return lb_bfp_code_bytes(&f->bfp) != 0 && f->bfp.block >= 1;
  default: return 0;
  }
}

static lb_status sgd_init(const void *config, lb_train_param *p) {
  const lb_train_sgd_config *c = config;
  if ((c->master != LB_SGD_MASTER_NONE && c->master != LB_SGD_MASTER_F32) ||
      !master_format_valid(&c->master_format)) {
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
  master_layout ml = master_of(c, p);
  if (ml.kind != LB_NUMBER_FLOAT) {
    return master_round(c, &ml, p, LB_ROUND_NEAREST, 0, 0);
  }
  return LB_OK;
}

static lb_sgd_desc fixed_desc(const lb_train_sgd_config *c, const lb_train_param *p, uint64_t seed,
                              uint64_t stream_base) {
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
  return d;
}

static lb_status sgd_check(const void *config, const lb_train_param *p, size_t *refused) {
  const lb_train_sgd_config *c = config;
  if (p->fixed) {
    lb_sgd_desc d = fixed_desc(c, p, 0, 0);
    return lb_sgd_check(&d, p->count, p->gradient, refused);
  }
  const float *g = p->gradient;
  double gscale = lb_train_pow2(-p->gradient_fl);
  size_t bad = 0;
  for (size_t i = 0; i < p->count; i++) {
    float gi = (float)(g[i] * gscale);
    bad += !(gi - gi == 0.0f); /* NaN or infinite, also after the unscaling */
  }
  *refused = bad;
  return LB_OK;
}

static lb_status sgd_step(const void *config, lb_train_param *p, uint64_t step, uint64_t seed,
                          uint64_t stream_base) {
  const lb_train_sgd_config *c = config;
  (void)step;
  if (p->fixed) {
    lb_sgd_desc d = fixed_desc(c, p, seed, stream_base);
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
  master_layout ml = master_of(c, p);
  if (ml.kind != LB_NUMBER_FLOAT) {
    return master_round(c, &ml, p, c->master_format.rounding, seed, stream_base + 2);
  }
  return LB_OK;
}

lb_train_optimizer lb_train_sgd(const lb_train_sgd_config *config) {
  lb_train_optimizer o = {"sgd", sgd_state_bytes, sgd_init, sgd_step, config, sgd_check};
  return o;
}
