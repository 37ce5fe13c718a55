/* liblowbit weight updates and loss scaling (docs/design.md, section 19).
 *
 * SGD with momentum and weight decay (Gupta et al. 2015: fixed point with stochastic rounding,
 * no float master copy):
 *
 *   v <- mu * v + g + lambda * w        rounded to the momentum's <wl, fl>
 *   w <- w - eta * v                     rounded to the weights' <wl, fl>, with the new v
 *
 * each rounded to nearest (ties to even) or stochastically and saturated to its format. Weights w
 * are fixed-point codes <wl, fl> as lowbit/fixed_point.h holds them (int8_t when wl <= 8, else
 * int16_t); the momentum has its own <wl, fl> (int16_t when wl <= 16, else int32_t, wl up to 32);
 * mu, lambda and eta are fixed-point multipliers; a gradient is the exact integer sum G of a
 * backward product (int32_t or int64_t) standing for g = G * 2^-gs, or a float x standing for
 * g = x * 2^-gs (gs = gradient_fl: the sum's fraction bits plus the loss scale's log2).
 *
 * The arithmetic is exact int64 (docs/design.md, section 19, derives it): with
 * F = max(fv + mu.shift, fw + lambda.shift, gs) (integer gradients; float ones: see below),
 *
 *   S  = mu.m * qv * 2^(F - fv - mu.shift) + G * 2^(F - gs) + lambda.m * qw * 2^(F - fw -
 * lambda.shift) qv' = clamp_v(round(S * 2^-(F - fv))) F2 = max(fw, fv + eta.shift) D  = qw * 2^(F2
 * - fw) - eta.m * qv' * 2^(F2 - fv - eta.shift) qw' = clamp_w(round(D * 2^-(F2 - fw)))
 *
 * where round(a * 2^-s) is floor((a + 2^(s-1)) / 2^s) with ties to even (nearest) or
 * floor((a + (r & (2^s - 1))) / 2^s) (stochastic), r = lb_random_bits(seed, stream, first_index
 * + i) with stream_v for v and stream_w for w. A float gradient x goes onto 2^-F once, to nearest
 * even: G_F = round(x * 2^(F - gs)), with F the largest grid up to fv + 32 on which the terms
 * fit (at least max(fv + mu.shift, fw + lambda.shift)). Results are the same on every target and
 * for any split of a tensor into calls (first_index).
 *
 * Master copies (lb_sgd_desc.master):
 * - LB_SGD_MASTER_S16: an int16_t master <16, master_fl> is updated as above in place of the
 *   codes; the codes are its rounding to <wl, fl> (master_fl >= fl) with stream_q.
 * - LB_SGD_MASTER_F32: a float master m and a float momentum v are updated in IEEE float
 *   operations in this order: v = (mu * v + g) + lambda * m; m = m - eta * v (the multipliers as
 *   floats, g = (float)(x * 2^-gs) computed in double); the codes are the rounding of m to
 *   <wl, fl> as lb_quantize_fixed_f32 rounds it, with stream_q.
 *
 * The check: a gradient is refused when it is NaN or infinite or beyond what the update
 * represents: |G| > 2^(61 - (F - gs)) for integer gradients, |x * 2^(F - gs)| > 2^61 for float
 * ones, and |g| >= 2^64 with a float master. lb_sgd_update checks all of its count gradients
 * before it updates anything: with one refused, it writes nothing (weights, momentum and master
 * are unchanged) and returns LB_BAD_GRADIENT. To skip a step for every tensor at once, call
 * lb_sgd_check on all of them first, and feed the outcome to lb_loss_scale_update.
 *
 * Include this header on its own (lowbit/lowbit.h does not include it). */
#ifndef LOWBIT_UPDATE_H
#define LOWBIT_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/fixed_point.h"
#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mantissa * 2^-shift, mantissa < 2^31, shift 0..62: eta = 0.01 is about {5243, 19}. */
typedef struct lb_fixed_multiplier {
  uint32_t mantissa;
  unsigned shift;
} lb_fixed_multiplier;

typedef struct lb_sgd_desc {
  lb_fixed_format weights;  /* the codes: wl 2..16, fl -32..32 */
  lb_fixed_format momentum; /* wl 2..32, fl -32..32; unused with a float master */
  int master;               /* enum lb_sgd_master (lowbit/ukernel.h) */
  int master_fl;            /* LB_SGD_MASTER_S16: the master is <16, master_fl>, master_fl in
                               weights.fl .. 32 */
  int gradient;             /* enum lb_fixed_source: LB_FIXED_SOURCE_F32, _I32 or _I64 */
  int gradient_fl;          /* gs in -128..128: g = G * 2^-gs or x * 2^-gs */
  lb_fixed_multiplier learning_rate, momentum_coefficient, weight_decay; /* eta, mu, lambda */
  lb_rounding rounding;
  uint64_t seed;
  uint64_t stream_v, stream_w, stream_q; /* pairwise distinct */
} lb_sgd_desc;

/* One step on elements first_index .. first_index + count - 1 of a tensor:
 * - LB_SGD_MASTER_NONE: weights (codes) and momentum updated in place, master NULL;
 * - LB_SGD_MASTER_S16: master (int16_t) and momentum updated, weights (codes) written;
 * - LB_SGD_MASTER_F32: master and momentum (float) updated, weights (codes) written.
 * threads: 0 takes the default (LOWBIT_THREADS if set, else one per online CPU, fewer for small
 * calls), 1 runs on the calling thread, n splits [0, count) into chunks over up to n threads of
 * liblowbit's pool (small calls stay on the calling thread); the gradients of the whole call are
 * checked, in parallel, before any chunk is updated. The results are the same for every thread
 * count.
 * LB_INVALID_ARGUMENT: desc or a buffer the mode needs NULL (count 0 included), a field out of
 * range, streams not distinct, or a configuration whose terms do not fit 61 bits (the header
 * comment's shifts); nothing is written. LB_BAD_GRADIENT: a refused gradient, nothing is
 * written. LB_NO_KERNEL: no kernel for the types on this CPU. */
lb_status lb_sgd_update(const lb_sgd_desc *desc, uint64_t first_index, size_t count,
                        const void *gradients, void *weights, void *momentum, void *master,
                        unsigned threads);

/* *refused = the number of gradients in gradients[0, count) that lb_sgd_update would refuse.
 * LB_INVALID_ARGUMENT as lb_sgd_update (and refused NULL). */
lb_status lb_sgd_check(const lb_sgd_desc *desc, size_t count, const void *gradients,
                       size_t *refused);

/* The update kernels built into this library, in kernels.spec order (tests call each one). */
size_t lb_update_sgd_kernel_count(void);
const lb_update_sgd_kernel_info *lb_update_sgd_kernel_at(size_t index);

/* The kernel lb_sgd_update uses for desc on this CPU (a SIMD one when the CPU runs it, else the
 * generic one), and the arguments it passes; LB_INVALID_ARGUMENT as lb_sgd_update. */
lb_status lb_sgd_prepare(const lb_sgd_desc *desc, const lb_update_sgd_kernel_info **kernel,
                         lb_sgd_args *args);

/* Loss scaling. The scale is 2^log2_scale, so that halving and doubling are exact and removing
 * the scale from integer sums is adding log2_scale to their gradient_fl.
 *
 * Per step, lb_loss_scale_update(state, clean, &apply) with clean = no gradient refused:
 *   step += 1
 *   clean:      apply = 1; clean_steps += 1; dynamic and clean_steps == growth_interval:
 *               log2_scale = min(log2_scale + 1, max_log2), clean_steps = 0
 *   not clean:  apply = 0 (skip the step); clean_steps = 0; dynamic:
 *               log2_scale = max(log2_scale - 1, min_log2)
 *   dynamic, floor_interval > 0 and step % floor_interval == 0 (enhanced loss scaling,
 *   Mellempudi et al. 2019: a minimum that rises):
 *               min_log2 = min(min_log2 + floor_step, floor_cap_log2),
 *               log2_scale = max(log2_scale, min_log2)
 * A static scale never changes; its steps are still skipped when not clean. */
typedef enum lb_loss_scale_mode {
  LB_LOSS_SCALE_STATIC = 0,
  LB_LOSS_SCALE_DYNAMIC = 1
} lb_loss_scale_mode;

typedef struct lb_loss_scale_config {
  lb_loss_scale_mode mode;
  int log2_scale;           /* initial; all log2 values in -126..127 */
  int max_log2;             /* dynamic: ceiling, >= log2_scale */
  unsigned growth_interval; /* dynamic: clean steps before doubling, >= 1 */
  int min_log2;             /* dynamic: initial floor, <= log2_scale */
  uint64_t floor_interval;  /* dynamic: steps between rises of the floor; 0: it never rises */
  unsigned floor_step;      /* log2 of a rise (1: the floor doubles), >= 1 when floor_interval */
  int floor_cap_log2;       /* the floor's cap: min_log2 <= floor_cap_log2 <= max_log2 */
} lb_loss_scale_config;

typedef struct lb_loss_scale {
  lb_loss_scale_config config;
  int log2_scale, min_log2;
  unsigned clean_steps;
  uint64_t step;
  uint64_t skipped; /* steps not applied */
} lb_loss_scale;

/* LB_INVALID_ARGUMENT: state or config NULL, a field out of range (above). */
lb_status lb_loss_scale_init(lb_loss_scale *state, const lb_loss_scale_config *config);

/* One step as above; *apply = 1 when the step's update is to be applied. LB_INVALID_ARGUMENT:
 * state or apply NULL, clean not 0 or 1. */
lb_status lb_loss_scale_update(lb_loss_scale *state, int clean, int *apply);

/* The scale as a float (exact), 0 for NULL. */
float lb_loss_scale_value(const lb_loss_scale *state);

#ifdef __cplusplus
}
#endif

#endif
