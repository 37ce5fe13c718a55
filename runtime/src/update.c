/* SGD updates: the argument checks, the shifts of the exact formula (docs/design.md, section 19)
 * and the choice of a registered kernel. */
#include <stddef.h>
#include <string.h>

#include "chunked.h"
#include "lowbit/update.h"
#include "registry.h"

/* Every term of the update's sums stays below 2^TERM_BITS, so a sum of three fits int64. */
enum { TERM_BITS = 61, MAX_FL = 32, MAX_GS = 128, MAX_SHIFT = 62, FLOAT_GRID_BITS = 32 };

size_t lb_update_sgd_kernel_count(void) { return lb_registry_update_sgd_count; }

const lb_update_sgd_kernel_info *lb_update_sgd_kernel_at(size_t index) {
  return index < lb_registry_update_sgd_count ? &lb_registry_update_sgd[index] : NULL;
}

struct update_sgd_key {
  int gradient, weight, momentum, master;
};

static int matches_update_sgd(const void *row, const void *key) {
  const lb_update_sgd_kernel_info *kernel = row;
  const struct update_sgd_key *want = key;
  return kernel->gradient == want->gradient && kernel->weight == want->weight &&
         kernel->momentum == want->momentum && kernel->master == want->master;
}

static const lb_update_sgd_kernel_info *select_kernel(int gradient, int weight, int momentum,
                                                      int master) {
  return lb_registry_first_runnable(
      lb_registry_update_sgd, lb_registry_update_sgd_count, sizeof lb_registry_update_sgd[0],
      offsetof(lb_update_sgd_kernel_info, isa), matches_update_sgd,
      &(const struct update_sgd_key){
          .gradient = gradient, .weight = weight, .momentum = momentum, .master = master});
}

static unsigned bit_length(uint32_t x) {
  unsigned bits = 0;
  while (x >> bits) {
    bits++;
  }
  return bits;
}

/* 2^e for e in -1100..1100 in double: exact (an underflow to 0 is exact enough for a scale that
 * no float can reach). Multiplying by 2 or 1/2 is exact in IEEE arithmetic. */
static double power_of_two(int e) {
  double p = 1.0;
  for (int i = 0; i < e; i++) {
    p *= 2.0;
  }
  for (int i = 0; i > e; i--) {
    p *= 0.5;
  }
  return p;
}

static int multiplier_is_valid(lb_fixed_multiplier m) {
  return m.mantissa < (UINT32_C(1) << 31) && m.shift <= MAX_SHIFT;
}

static int fl_is_valid(int fl) { return fl >= -MAX_FL && fl <= MAX_FL; }

/* The shifts of the fixed-point formula; 0 when they do not fit TERM_BITS. */
static int fixed_shifts(const lb_sgd_desc *d, unsigned w_wl, int fw, lb_sgd_args *a) {
  const unsigned v_wl = d->momentum.wl;
  const int fv = d->momentum.fl, gs = d->gradient_fl;
  const lb_fixed_multiplier mu = d->momentum_coefficient, lambda = d->weight_decay,
                            eta = d->learning_rate;
  /* A term m * q * 2^k is below 2^(wl - 1 + bit_length(m) + k): the largest k that fits. */
  const int mu_room = TERM_BITS - (int)(v_wl - 1 + bit_length(mu.mantissa));
  const int lambda_room = TERM_BITS - (int)(w_wl - 1 + bit_length(lambda.mantissa));
  const int fine =
      fv + (int)mu.shift > fw + (int)lambda.shift ? fv + (int)mu.shift : fw + (int)lambda.shift;
  int f;
  if (d->gradient == LB_FIXED_SOURCE_F32) {
    /* As fine a grid as fits, up to 2^-32 of a momentum step, so that the one rounding of the
     * float gradient stays far below the update's own. */
    f = fv + FLOAT_GRID_BITS;
    f = f < fv + (int)mu.shift + mu_room ? f : fv + (int)mu.shift + mu_room;
    f = f < fw + (int)lambda.shift + lambda_room ? f : fw + (int)lambda.shift + lambda_room;
    f = f > fine ? f : fine;
  } else {
    f = fine > gs ? fine : gs;
  }
  const int mu_left = f - fv - (int)mu.shift, lambda_left = f - fw - (int)lambda.shift;
  const int g_left = f - gs, v_right = f - fv;
  if (mu_left > mu_room || lambda_left > lambda_room || v_right > MAX_SHIFT) {
    return 0;
  }
  if (d->gradient != LB_FIXED_SOURCE_F32 && g_left > TERM_BITS) {
    return 0;
  }
  const int f2 = fw > fv + (int)eta.shift ? fw : fv + (int)eta.shift;
  const int w_right = f2 - fw, eta_left = f2 - fv - (int)eta.shift;
  if ((int)w_wl - 1 + w_right > TERM_BITS ||
      (int)(v_wl - 1 + bit_length(eta.mantissa)) + eta_left > TERM_BITS || w_right > MAX_SHIFT) {
    return 0;
  }
  a->w_wl = w_wl;
  a->v_wl = v_wl;
  a->mu = mu.mantissa;
  a->lambda = lambda.mantissa;
  a->eta = eta.mantissa;
  a->mu_left = (unsigned)mu_left;
  a->lambda_left = (unsigned)lambda_left;
  a->v_right = (unsigned)v_right;
  a->w_right = (unsigned)w_right;
  a->eta_left = (unsigned)eta_left;
  if (d->gradient == LB_FIXED_SOURCE_F32) {
    a->g_scale = power_of_two(f - gs);
  } else {
    a->g_left = (unsigned)g_left;
    a->g_max = INT64_C(1) << (TERM_BITS - g_left);
  }
  return 1;
}

lb_status lb_sgd_prepare(const lb_sgd_desc *d, const lb_update_sgd_kernel_info **kernel,
                         lb_sgd_args *args) {
  if (d == NULL || kernel == NULL || args == NULL) {
    return LB_INVALID_ARGUMENT;
  }
  const int float_master = d->master == LB_SGD_MASTER_F32;
  if (d->weights.wl < 2 || d->weights.wl > 16 || !fl_is_valid(d->weights.fl) ||
      (d->master != LB_SGD_MASTER_NONE && d->master != LB_SGD_MASTER_S16 && !float_master) ||
      (d->gradient != LB_FIXED_SOURCE_F32 && d->gradient != LB_FIXED_SOURCE_I32 &&
       d->gradient != LB_FIXED_SOURCE_I64) ||
      d->gradient_fl < -MAX_GS || d->gradient_fl > MAX_GS ||
      !multiplier_is_valid(d->learning_rate) || !multiplier_is_valid(d->momentum_coefficient) ||
      !multiplier_is_valid(d->weight_decay) ||
      (d->rounding != LB_ROUND_NEAREST && d->rounding != LB_ROUND_STOCHASTIC) ||
      d->stream_v == d->stream_w || d->stream_v == d->stream_q || d->stream_w == d->stream_q) {
    return LB_INVALID_ARGUMENT;
  }
  if (!float_master &&
      (d->momentum.wl < 2 || d->momentum.wl > 32 || !fl_is_valid(d->momentum.fl))) {
    return LB_INVALID_ARGUMENT;
  }
  if (d->master == LB_SGD_MASTER_S16 && (d->master_fl < d->weights.fl || d->master_fl > MAX_FL)) {
    return LB_INVALID_ARGUMENT;
  }
  lb_sgd_args a;
  memset(&a, 0, sizeof a);
  a.rounding = d->rounding;
  a.seed = d->seed;
  a.stream_v = d->stream_v;
  a.stream_w = d->stream_w;
  a.stream_q = d->stream_q;
  a.q_wl = d->weights.wl;
  if (float_master) {
    a.g_scale = power_of_two(-d->gradient_fl);
    a.q_scale = power_of_two(d->weights.fl);
    /* mantissa < 2^31 is exact in double; the float is its one rounding. */
    a.mu_f = (float)(d->momentum_coefficient.mantissa *
                     power_of_two(-(int)d->momentum_coefficient.shift));
    a.lambda_f = (float)(d->weight_decay.mantissa * power_of_two(-(int)d->weight_decay.shift));
    a.eta_f = (float)(d->learning_rate.mantissa * power_of_two(-(int)d->learning_rate.shift));
  } else if (d->master == LB_SGD_MASTER_S16) {
    if (!fixed_shifts(d, 16, d->master_fl, &a)) {
      return LB_INVALID_ARGUMENT;
    }
    a.q_right = (unsigned)(d->master_fl - d->weights.fl);
  } else if (!fixed_shifts(d, d->weights.wl, d->weights.fl, &a)) {
    return LB_INVALID_ARGUMENT;
  }
  const int momentum_bytes = float_master || d->momentum.wl > 16 ? 4 : 2;
  *kernel = select_kernel(d->gradient, d->weights.wl <= 8 ? LB_CODE_S8 : LB_CODE_S16,
                          momentum_bytes, d->master);
  *args = a;
  return *kernel == NULL ? LB_NO_KERNEL : LB_OK;
}

lb_status lb_sgd_check(const lb_sgd_desc *desc, size_t count, const void *gradients,
                       size_t *refused) {
  const lb_update_sgd_kernel_info *kernel;
  lb_sgd_args args;
  if (gradients == NULL || refused == NULL || count == 0) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_status status = lb_sgd_prepare(desc, &kernel, &args);
  if (status != LB_OK) {
    return status;
  }
  *refused = kernel->check(count, gradients, &args);
  return LB_OK;
}

/* The update's chunks: the check of one, or its update at its first element index. */
typedef struct lb_sgd_work {
  const lb_update_sgd_kernel_info *kernel;
  lb_sgd_args args;
  uint64_t first_index;
  const unsigned char *gradients;
  unsigned char *weights, *momentum, *master;
  size_t gradient_bytes, weight_bytes, momentum_bytes, master_bytes;
} lb_sgd_work;

static size_t check_chunk(void *context, size_t first, size_t count) {
  const lb_sgd_work *work = context;
  return work->kernel->check(count, work->gradients + first * work->gradient_bytes, &work->args);
}

static void update_chunk(void *context, size_t first, size_t count) {
  const lb_sgd_work *work = context;
  work->kernel->update(
      count, work->gradients + first * work->gradient_bytes, work->first_index + first,
      work->weights + first * work->weight_bytes, work->momentum + first * work->momentum_bytes,
      work->master == NULL ? NULL : work->master + first * work->master_bytes, &work->args);
}

lb_status lb_sgd_update(const lb_sgd_desc *desc, uint64_t first_index, size_t count,
                        const void *gradients, void *weights, void *momentum, void *master,
                        unsigned threads) {
  if (desc == NULL || gradients == NULL || weights == NULL || momentum == NULL || count == 0 ||
      (desc->master == LB_SGD_MASTER_NONE) != (master == NULL)) {
    return LB_INVALID_ARGUMENT;
  }
  lb_sgd_work work = {.first_index = first_index,
                      .gradients = gradients,
                      .weights = weights,
                      .momentum = momentum,
                      .master = master};
  const lb_status status = lb_sgd_prepare(desc, &work.kernel, &work.args);
  if (status != LB_OK) {
    return status;
  }
  work.gradient_bytes = desc->gradient == LB_FIXED_SOURCE_I64 ? sizeof(int64_t) : sizeof(float);
  work.weight_bytes = work.kernel->weight == LB_CODE_S8 ? 1 : 2;
  work.momentum_bytes = (size_t)work.kernel->momentum;
  work.master_bytes = desc->master == LB_SGD_MASTER_F32 ? sizeof(float) : sizeof(int16_t);
  /* The whole call is checked before any chunk writes: a refused gradient anywhere leaves every
   * weight, momentum and master as they were, whatever the thread count. */
  if (lb_chunked_sum(threads, count, 64, check_chunk, &work) != 0) {
    return LB_BAD_GRADIENT;
  }
  lb_chunked_for(threads, count, 64, update_chunk, &work);
  return LB_OK;
}
