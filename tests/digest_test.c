/* Cross-target determinism of the quantizers and updates: fixed tensors (seeded, made with
 * integer arithmetic only) quantized in every format and rounding, and weights after a few update
 * steps, each with 1 and 2 threads, give one line "<case> <FNV-1a 64 of the output bytes>" per
 * case.
 *   lowbit-test-digest write FILE   the host: fails if 1 and 2 threads differ; writes FILE
 *   lowbit-test-digest check FILE   a cross target: fails unless every line equals FILE's
 * A format joins with one row of `cases` (a name and a function that fills the output). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/block_float.h"
#include "lowbit/fixed_point.h"
#include "lowbit/lns.h"
#include "lowbit/lowbit.h"
#include "lowbit/minifloat.h"
#include "lowbit/update.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

/* Elements per tensor: well above the size that 2 threads split (2 x 16384), with a ragged end.
 * An output is at most 10 bytes per element (an update's weights, momentum and master). */
enum { N = 100003, MAX_OUT_BYTES = 12 * N, PACK_ROWS = 37, PACK_K = 1000 };

static float floats[N];
static int32_t acc32[N];
static int64_t acc64[N];
/* Finite values of moderate size only, for the updates (which refuse anything else). */
static float gradients[N];
static int32_t gradients32[N];

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Floats of every kind (random bit patterns: NaN, infinities, subnormals) and, mostly, values of
 * moderate size k * 2^-j from integers, exact on every target. */
static void make_inputs(void) {
  for (size_t i = 0; i < N; i++) {
    const uint64_t r = mix(i + 1), s = mix(r);
    if (i % 8 == 0) {
      const uint32_t bits = (uint32_t)r;
      memcpy(&floats[i], &bits, sizeof bits);
    } else {
      float scale = 1.0f;
      for (unsigned j = 0; j < (s & 31); j++) {
        scale *= 0.5f;
      }
      floats[i] = (float)((int32_t)(r >> 40) - (1 << 23)) * scale * 0x1p-8f;
    }
    acc32[i] = (int32_t)(uint32_t)(s >> (s & 31));
    acc64[i] = (int64_t)(r >> ((s >> 8) & 63)) * ((s & 1) ? -1 : 1);
    /* Up to 2^3 in magnitude, down to 2^-20, and some zeros. */
    const uint64_t t = mix(s);
    float scale = 1.0f;
    for (unsigned j = 0; j < t % 24; j++) {
      scale *= 0.5f;
    }
    gradients[i] = i % 11 == 0 ? 0.0f : (float)((int32_t)(t >> 40) - (1 << 23)) * scale * 0x1p-20f;
    gradients32[i] = (int32_t)(t >> 32) >> (t % 24);
  }
  acc64[0] = INT64_MIN;
  acc64[1] = INT64_MAX;
  acc32[0] = INT32_MIN;
  acc32[1] = INT32_MAX;
}

/* Each case writes its output to out, sets *bytes, and returns LB_OK. */
typedef lb_status (*case_fn)(unsigned threads, void *out, size_t *bytes);

#define FIXED_F32(NAME, WL, FL, ROUNDING)                                                          \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_fixed_format f = {WL, FL};                                                            \
    *bytes = N * ((WL) <= 8 ? 1 : 2);                                                              \
    return lb_quantize_fixed_f32(&f, ROUNDING, 11, 1, 0, N, floats, out, threads);                 \
  }
#define FIXED_INT(NAME, SOURCE, INPUT, WL, S, ROUNDING)                                            \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    *bytes = N * ((WL) <= 8 ? 1 : 2);                                                              \
    return lb_quantize_fixed_##SOURCE(WL, S, ROUNDING, 11, 2, 100, N, INPUT, out, threads);        \
  }
#define MINIFLOAT(NAME, E, M, ROUNDING, FUNCTION, INPUT, ...)                                      \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_minifloat_format f = {E, M};                                                          \
    *bytes = N * (strstr(#FUNCTION, "codes") ? lb_minifloat_code_bytes(&f) : 4);                   \
    return FUNCTION(&f, __VA_ARGS__ ROUNDING, 13, (E)*16 + (M), 7, N, INPUT, out, threads);        \
  }

FIXED_F32(fixed_f32_8_4_nearest, 8, 4, LB_ROUND_NEAREST)
FIXED_F32(fixed_f32_8_4_sr, 8, 4, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_16_8_nearest, 16, 8, LB_ROUND_NEAREST)
FIXED_F32(fixed_f32_16_8_sr, 16, 8, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_4_1_sr, 4, 1, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_12_m3_sr, 12, -3, LB_ROUND_STOCHASTIC)
FIXED_INT(fixed_i32_8_s12_nearest, i32, acc32, 8, 12, LB_ROUND_NEAREST)
FIXED_INT(fixed_i32_8_s12_sr, i32, acc32, 8, 12, LB_ROUND_STOCHASTIC)
FIXED_INT(fixed_i64_16_s40_nearest, i64, acc64, 16, 40, LB_ROUND_NEAREST)
FIXED_INT(fixed_i64_16_s40_sr, i64, acc64, 16, 40, LB_ROUND_STOCHASTIC)
MINIFLOAT(e5m2_nearest, 5, 2, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m2_sr, 5, 2, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e4m3_nearest, 4, 3, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e4m3_sr, 4, 3, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_nearest, 5, 10, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e2m0_sr, 2, 0, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e3m4_sr, 3, 4, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e8m7_sr, 8, 7, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_float_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat, floats, )
MINIFLOAT(e8m10_float_sr, 8, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat, floats, )
MINIFLOAT(e4m3_i32_s16_nearest, 4, 3, LB_ROUND_NEAREST, lb_quantize_minifloat_i32_codes, acc32,
          16, )
MINIFLOAT(e4m3_i32_s16_sr, 4, 3, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i32_codes, acc32, 16, )
MINIFLOAT(e5m10_i64_s40_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i64_codes, acc64,
          40, )
MINIFLOAT(e8m10_float_i64_s20_sr, 8, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i64, acc64,
          20, )

/* Block floating point: rows of k values (as many as fit N), nearest and stochastic; out =
 * exponents, then codes (each array at an offset aligned for its type). */
#define BFP(NAME, FUNCTION, INPUT, M, BLOCK, K, ROUNDING, ...)                                     \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_bfp_format f = {M, BLOCK};                                                            \
    const size_t rows = N / (K), exponents = rows * lb_bfp_blocks(&f, K) * sizeof(int16_t);        \
    *bytes = exponents + rows * (K)*lb_bfp_code_bytes(&f);                                         \
    return FUNCTION(&f, __VA_ARGS__ ROUNDING, 17, (M)*100 + (BLOCK), 3, rows, K, INPUT,            \
                    (unsigned char *)out + exponents, out, threads);                               \
  }
/* Logarithmic codes. */
#define LNS(NAME, FUNCTION, INPUT, BITS, GAMMA, OFFSET, ROUNDING, ...)                             \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_lns_format f = {BITS, GAMMA, OFFSET};                                                 \
    *bytes = N * lb_lns_code_bytes(&f);                                                            \
    return FUNCTION(&f, __VA_ARGS__ ROUNDING, 19, (BITS)*100 + (GAMMA), 9, N, INPUT, out,          \
                    threads);                                                                      \
  }

BFP(bfp_f32_m7_n16_nearest, lb_quantize_bfp_f32, floats, 7, 16, 1000, LB_ROUND_NEAREST, )
BFP(bfp_f32_m7_n16_sr, lb_quantize_bfp_f32, floats, 7, 16, 1000, LB_ROUND_STOCHASTIC, )
BFP(bfp_f32_m3_n24_sr, lb_quantize_bfp_f32, floats, 3, 24, 37, LB_ROUND_STOCHASTIC, )
BFP(bfp_f32_m15_n1000_sr, lb_quantize_bfp_f32, floats, 15, 1000, 1000, LB_ROUND_STOCHASTIC, )
BFP(bfp_f32_m4_n8_sr, lb_quantize_bfp_f32, floats, 4, 8, 50001, LB_ROUND_STOCHASTIC, )
BFP(bfp_i32_m7_n16_nearest, lb_quantize_bfp_i32, acc32, 7, 16, 1000, LB_ROUND_NEAREST, 12, )
BFP(bfp_i32_m7_n16_sr, lb_quantize_bfp_i32, acc32, 7, 16, 1000, LB_ROUND_STOCHASTIC, 12, )
BFP(bfp_i64_m15_n32_nearest, lb_quantize_bfp_i64, acc64, 15, 32, 500, LB_ROUND_NEAREST, 40, )
BFP(bfp_i64_m15_n32_sr, lb_quantize_bfp_i64, acc64, 15, 32, 500, LB_ROUND_STOCHASTIC, 40, )
LNS(lns_f32_b8_g8_nearest, lb_quantize_lns, floats, 8, 8, -64, LB_ROUND_NEAREST, )
LNS(lns_f32_b8_g8_sr, lb_quantize_lns, floats, 8, 8, -64, LB_ROUND_STOCHASTIC, )
LNS(lns_f32_b12_g16_nearest, lb_quantize_lns, floats, 12, 16, -1000, LB_ROUND_NEAREST, )
LNS(lns_f32_b12_g16_sr, lb_quantize_lns, floats, 12, 16, -1000, LB_ROUND_STOCHASTIC, )
LNS(lns_i32_b8_g8_s16_nearest, lb_quantize_lns_i32, acc32, 8, 8, -64, LB_ROUND_NEAREST, 16, )
LNS(lns_i32_b8_g8_s16_sr, lb_quantize_lns_i32, acc32, 8, 8, -64, LB_ROUND_STOCHASTIC, 16, )
LNS(lns_i64_b12_g16_s40_nearest, lb_quantize_lns_i64, acc64, 12, 16, -1000, LB_ROUND_NEAREST, 40, )
LNS(lns_i64_b12_g16_s40_sr, lb_quantize_lns_i64, acc64, 12, 16, -1000, LB_ROUND_STOCHASTIC, 40, )

/* The updates take a few steps, each with other gradients (the tensor shifted by a step). */
enum { STEPS = 3, STEP_SHIFT = 7919 };

/* LNS-Madam: codes from integers, states |gradient|, then STEPS updates; out = states, codes. */
static lb_status madam_case(const lb_lns_format *f, lb_rounding rounding, unsigned threads,
                            void *out, size_t *bytes) {
  static float g[N];
  const size_t code_bytes = lb_lns_code_bytes(f);
  float *v = out;
  unsigned char *codes = (unsigned char *)out + N * sizeof(float);
  *bytes = N * (code_bytes + sizeof(float));
  for (size_t i = 0; i < N; i++) {
    const uint16_t code = (uint16_t)mix(i + 5);
    if (code_bytes == 1) {
      codes[i] = (uint8_t)code;
    } else {
      memcpy(codes + 2 * i, &code, sizeof code);
    }
    v[i] = gradients[(i + 1) % N] < 0 ? -gradients[(i + 1) % N] : gradients[(i + 1) % N];
  }
  const lb_lns_madam_params p = {
      .eta = 0.125f, .beta = 0.875f, .rounding = rounding, .seed = 23, .stream = f->bits};
  for (size_t step = 0; step < STEPS; step++) {
    for (size_t i = 0; i < N; i++) {
      g[i] = gradients[(i + step * STEP_SHIFT) % N];
    }
    const lb_status status = lb_lns_madam_update(f, &p, 0, N, codes, v, g, threads);
    if (status != LB_OK) {
      return status;
    }
  }
  return LB_OK;
}

#define MADAM(NAME, BITS, GAMMA, OFFSET, ROUNDING)                                                 \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_lns_format f = {BITS, GAMMA, OFFSET};                                                 \
    return madam_case(&f, ROUNDING, threads, out, bytes);                                          \
  }

MADAM(madam_b8_g8_nearest, 8, 8, -64, LB_ROUND_NEAREST)
MADAM(madam_b8_g8_sr, 8, 8, -64, LB_ROUND_STOCHASTIC)
MADAM(madam_b12_g16_sr, 12, 16, -1000, LB_ROUND_STOCHASTIC)

/* SGD: weights, momentum and master from integers, then STEPS updates; out = momentum, master,
 * weights (codes), the widest first so that each array is aligned for its type. Gradients: floats
 * standing for x * 2^-4, or int32 sums for G * 2^-28. */
static lb_status sgd_case(int master, int gradient, unsigned weight_wl, unsigned momentum_wl,
                          lb_rounding rounding, unsigned threads, void *out, size_t *bytes) {
  static float g_f32[N];
  static int32_t g_i32[N];
  const lb_sgd_desc d = {.weights = {weight_wl, weight_wl - 2},
                         .momentum = {momentum_wl, (int)momentum_wl - 4},
                         .master = master,
                         .master_fl = 13,
                         .gradient = gradient,
                         .gradient_fl = gradient == LB_FIXED_SOURCE_F32 ? 4 : 28,
                         .learning_rate = {3, 5},
                         .momentum_coefficient = {14, 4},
                         .weight_decay = {5, 9},
                         .rounding = rounding,
                         .seed = 29,
                         .stream_v = 1,
                         .stream_w = 2,
                         .stream_q = 3};
  const int float_master = master == LB_SGD_MASTER_F32;
  const size_t weight_bytes = weight_wl <= 8 ? 1 : 2;
  const size_t momentum_bytes = float_master || momentum_wl > 16 ? 4 : 2;
  const size_t master_bytes = float_master ? 4 : master == LB_SGD_MASTER_S16 ? 2 : 0;
  unsigned char *momentum = out, *master_copy = momentum + N * momentum_bytes;
  unsigned char *weights = master_copy + N * master_bytes;
  *bytes = N * (weight_bytes + momentum_bytes + master_bytes);
  for (size_t i = 0; i < N; i++) {
    const uint64_t r = mix(i + 1000);
    /* Codes over the whole of their range (the updates saturate), masters of moderate size. */
    const int16_t w = (int16_t)((int32_t)(r & 0xffff) >> (16 - weight_wl));
    const int32_t v = (int32_t)(uint32_t)(r >> 32) >> (32 - momentum_wl);
    memcpy(weights + i * weight_bytes,
           weight_bytes == 1 ? (const void *)&(int8_t){(int8_t)w} : (const void *)&w, weight_bytes);
    if (float_master) {
      const float m = gradients[(i + 3) % N], fv = gradients[(i + 4) % N];
      memcpy(momentum + 4 * i, &fv, sizeof fv);
      memcpy(master_copy + 4 * i, &m, sizeof m);
    } else {
      memcpy(momentum + i * momentum_bytes,
             momentum_bytes == 2 ? (const void *)&(int16_t){(int16_t)v} : (const void *)&v,
             momentum_bytes);
      if (master == LB_SGD_MASTER_S16) {
        const int16_t m = (int16_t)(r >> 16);
        memcpy(master_copy + 2 * i, &m, sizeof m);
      }
    }
  }
  for (size_t step = 0; step < STEPS; step++) {
    for (size_t i = 0; i < N; i++) {
      g_f32[i] = gradients[(i + step * STEP_SHIFT) % N];
      g_i32[i] = gradients32[(i + step * STEP_SHIFT) % N];
    }
    const void *g = gradient == LB_FIXED_SOURCE_F32 ? (const void *)g_f32 : (const void *)g_i32;
    const lb_status status =
        lb_sgd_update(&d, step * N, N, g, weights, momentum,
                      master == LB_SGD_MASTER_NONE ? NULL : master_copy, threads);
    if (status != LB_OK) {
      return status;
    }
  }
  return LB_OK;
}

#define SGD(NAME, MASTER, GRADIENT, WEIGHT_WL, MOMENTUM_WL, ROUNDING)                              \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    return sgd_case(MASTER, GRADIENT, WEIGHT_WL, MOMENTUM_WL, ROUNDING, threads, out, bytes);      \
  }

SGD(sgd_none_f32_nearest, LB_SGD_MASTER_NONE, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_none_f32_sr, LB_SGD_MASTER_NONE, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_STOCHASTIC)
SGD(sgd_none_i32_nearest, LB_SGD_MASTER_NONE, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_none_i32_sr, LB_SGD_MASTER_NONE, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_STOCHASTIC)
SGD(sgd_none_i32_w12_v24_sr, LB_SGD_MASTER_NONE, LB_FIXED_SOURCE_I32, 12, 24, LB_ROUND_STOCHASTIC)
SGD(sgd_s16_f32_nearest, LB_SGD_MASTER_S16, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_s16_f32_sr, LB_SGD_MASTER_S16, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_STOCHASTIC)
SGD(sgd_s16_i32_nearest, LB_SGD_MASTER_S16, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_s16_i32_sr, LB_SGD_MASTER_S16, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_STOCHASTIC)
SGD(sgd_f32_f32_nearest, LB_SGD_MASTER_F32, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_f32_f32_sr, LB_SGD_MASTER_F32, LB_FIXED_SOURCE_F32, 8, 16, LB_ROUND_STOCHASTIC)
SGD(sgd_f32_i32_nearest, LB_SGD_MASTER_F32, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_NEAREST)
SGD(sgd_f32_i32_sr, LB_SGD_MASTER_F32, LB_FIXED_SOURCE_I32, 8, 16, LB_ROUND_STOCHASTIC)

/* The fused SR pack into the panels of a generic kernel (built for every target, so the panel
 * layout is the same everywhere): PACK_ROWS x PACK_K floats, panel by panel, the panels split
 * between the threads (a second pthread packs the second half). */
typedef struct pack_job {
  const lb_gemm_kernel_info *kernel;
  lb_pack_args args;
  size_t panel_bytes, first_panel, last_panel;
  unsigned char *out;
  int64_t *sums;
} pack_job;

static void *pack_panels(void *context) {
  const pack_job *job = context;
  for (size_t p = job->first_panel; p < job->last_panel; p++) {
    const size_t first = p * job->kernel->mr;
    const size_t rows = PACK_ROWS - first < job->kernel->mr ? PACK_ROWS - first : job->kernel->mr;
    const float *runs[16];
    for (size_t r = 0; r < rows; r++) {
      runs[r] = floats + (first + r) * PACK_K;
    }
    const int is_signed = job->args.source_signed;
    const lb_quantize_args q = {.scale = 0.125f,
                                .zero_point = 0,
                                .min_value = is_signed ? -(1 << (job->args.bits - 1)) : 0,
                                .max_value = is_signed ? (1 << (job->args.bits - 1)) - 1
                                                       : (1 << job->args.bits) - 1,
                                .rounding = LB_ROUND_STOCHASTIC,
                                .seed = 21,
                                .stream = 3,
                                .first_row = first};
    job->kernel->pack_a_quantize(rows, 1, PACK_K, runs, job->out + p * job->panel_bytes,
                                 job->sums + first, &job->args, &q);
  }
  return NULL;
}

static lb_status pack_case(const char *name, unsigned bits, int is_signed, size_t block_bytes,
                           unsigned threads, void *out, size_t *bytes) {
  const lb_gemm_kernel_info *kernel = NULL;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    if (strcmp(lb_gemm_kernel_at(i)->name, name) == 0) {
      kernel = lb_gemm_kernel_at(i);
    }
  }
  if (kernel == NULL || kernel->pack_a_quantize == NULL || kernel->mr > 16) {
    return LB_NO_KERNEL;
  }
  pack_job job = {
      .kernel = kernel,
      .args = {.bits = bits, .source_signed = is_signed, .planes = is_signed ? 0 : bits},
      .panel_bytes = (PACK_K + kernel->kblock - 1) / kernel->kblock * block_bytes,
      .out = out};
  const size_t panels = (PACK_ROWS + kernel->mr - 1) / kernel->mr;
  const size_t panel_total = panels * job.panel_bytes;
  job.sums = (int64_t *)((unsigned char *)out + panel_total);
  *bytes = panel_total + PACK_ROWS * sizeof(int64_t);
  memset(out, 0, *bytes);
  job.last_panel = panels;
  if (threads < 2) {
    pack_panels(&job);
    return LB_OK;
  }
  pack_job second = job;
  job.last_panel = second.first_panel = panels / 2;
  pthread_t thread;
  if (pthread_create(&thread, NULL, pack_panels, &second) != 0) {
    return LB_OUT_OF_MEMORY;
  }
  pack_panels(&job);
  pthread_join(thread, NULL);
  return LB_OK;
}

static lb_status pack_s8_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_direct_s8_4x4_k1__generic", 8, 1, 4, threads, out, bytes);
}
static lb_status pack_s16_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_direct_s16_4x4_k1__generic", 16, 1, 4 * 2, threads, out, bytes);
}
static lb_status pack_bitplanes_2u_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_bitserial_a2u_w1u_4x4_k64__generic", 2, 0, 2 * 4 * 8, threads, out,
                   bytes);
}

static const struct {
  const char *name;
  case_fn run;
} cases[] = {
    {"fixed.f32.wl8.fl4.nearest", fixed_f32_8_4_nearest},
    {"fixed.f32.wl8.fl4.sr", fixed_f32_8_4_sr},
    {"fixed.f32.wl16.fl8.nearest", fixed_f32_16_8_nearest},
    {"fixed.f32.wl16.fl8.sr", fixed_f32_16_8_sr},
    {"fixed.f32.wl4.fl1.sr", fixed_f32_4_1_sr},
    {"fixed.f32.wl12.fl-3.sr", fixed_f32_12_m3_sr},
    {"fixed.i32.wl8.s12.nearest", fixed_i32_8_s12_nearest},
    {"fixed.i32.wl8.s12.sr", fixed_i32_8_s12_sr},
    {"fixed.i64.wl16.s40.nearest", fixed_i64_16_s40_nearest},
    {"fixed.i64.wl16.s40.sr", fixed_i64_16_s40_sr},
    {"minifloat.e5m2.codes.nearest", e5m2_nearest},
    {"minifloat.e5m2.codes.sr", e5m2_sr},
    {"minifloat.e4m3.codes.nearest", e4m3_nearest},
    {"minifloat.e4m3.codes.sr", e4m3_sr},
    {"minifloat.e5m10.codes.nearest", e5m10_nearest},
    {"minifloat.e5m10.codes.sr", e5m10_sr},
    {"minifloat.e2m0.codes.sr", e2m0_sr},
    {"minifloat.e3m4.codes.sr", e3m4_sr},
    {"minifloat.e8m7.codes.sr", e8m7_sr},
    {"minifloat.e5m10.float.sr", e5m10_float_sr},
    {"minifloat.e8m10.float.sr", e8m10_float_sr},
    {"minifloat.e4m3.i32.s16.codes.nearest", e4m3_i32_s16_nearest},
    {"minifloat.e4m3.i32.s16.codes.sr", e4m3_i32_s16_sr},
    {"minifloat.e5m10.i64.s40.codes.sr", e5m10_i64_s40_sr},
    {"minifloat.e8m10.i64.s20.float.sr", e8m10_float_i64_s20_sr},
    {"pack-quantize.s8.sr", pack_s8_sr},
    {"pack-quantize.s16.sr", pack_s16_sr},
    {"pack-quantize.bitplanes2u.sr", pack_bitplanes_2u_sr},
    {"bfp.f32.m7.n16.k1000.nearest", bfp_f32_m7_n16_nearest},
    {"bfp.f32.m7.n16.k1000.sr", bfp_f32_m7_n16_sr},
    {"bfp.f32.m3.n24.k37.sr", bfp_f32_m3_n24_sr},
    {"bfp.f32.m15.n1000.k1000.sr", bfp_f32_m15_n1000_sr},
    {"bfp.f32.m4.n8.k50001.sr", bfp_f32_m4_n8_sr},
    {"bfp.i32.m7.n16.k1000.s12.nearest", bfp_i32_m7_n16_nearest},
    {"bfp.i32.m7.n16.k1000.s12.sr", bfp_i32_m7_n16_sr},
    {"bfp.i64.m15.n32.k500.s40.nearest", bfp_i64_m15_n32_nearest},
    {"bfp.i64.m15.n32.k500.s40.sr", bfp_i64_m15_n32_sr},
    {"lns.f32.b8.g8.nearest", lns_f32_b8_g8_nearest},
    {"lns.f32.b8.g8.sr", lns_f32_b8_g8_sr},
    {"lns.f32.b12.g16.nearest", lns_f32_b12_g16_nearest},
    {"lns.f32.b12.g16.sr", lns_f32_b12_g16_sr},
    {"lns.i32.b8.g8.s16.nearest", lns_i32_b8_g8_s16_nearest},
    {"lns.i32.b8.g8.s16.sr", lns_i32_b8_g8_s16_sr},
    {"lns.i64.b12.g16.s40.nearest", lns_i64_b12_g16_s40_nearest},
    {"lns.i64.b12.g16.s40.sr", lns_i64_b12_g16_s40_sr},
    {"lns-madam.b8.g8.nearest", madam_b8_g8_nearest},
    {"lns-madam.b8.g8.sr", madam_b8_g8_sr},
    {"lns-madam.b12.g16.sr", madam_b12_g16_sr},
    {"sgd.none.f32.w8.v16.nearest", sgd_none_f32_nearest},
    {"sgd.none.f32.w8.v16.sr", sgd_none_f32_sr},
    {"sgd.none.i32.w8.v16.nearest", sgd_none_i32_nearest},
    {"sgd.none.i32.w8.v16.sr", sgd_none_i32_sr},
    {"sgd.none.i32.w12.v24.sr", sgd_none_i32_w12_v24_sr},
    {"sgd.s16.f32.w8.v16.nearest", sgd_s16_f32_nearest},
    {"sgd.s16.f32.w8.v16.sr", sgd_s16_f32_sr},
    {"sgd.s16.i32.w8.v16.nearest", sgd_s16_i32_nearest},
    {"sgd.s16.i32.w8.v16.sr", sgd_s16_i32_sr},
    {"sgd.f32.f32.w8.nearest", sgd_f32_f32_nearest},
    {"sgd.f32.f32.w8.sr", sgd_f32_f32_sr},
    {"sgd.f32.i32.w8.nearest", sgd_f32_i32_nearest},
    {"sgd.f32.i32.w8.sr", sgd_f32_i32_sr},
};

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 0x100000001b3u;
  }
  return h;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
    fprintf(stderr, "usage: %s write|check FILE\n", argv[0]);
    return 2;
  }
  const int writing = strcmp(argv[1], "write") == 0;
  FILE *file = fopen(argv[2], writing ? "w" : "r");
  if (file == NULL) {
    fprintf(stderr, "FAIL cannot open %s (%s)\n", argv[2],
            writing ? "to write" : "the host build's digests: run its digest test first");
    return 1;
  }
  make_inputs();
  /* Aligned for the widest element a case writes. */
  static _Alignas(8) unsigned char one[MAX_OUT_BYTES], two[MAX_OUT_BYTES];
  unsigned failures = 0;
  for (size_t c = 0; c < COUNT(cases); c++) {
    size_t bytes_one = 0, bytes_two = 0;
    memset(one, 0, sizeof one);
    memset(two, 0xff, sizeof two);
    const lb_status a = cases[c].run(1, one, &bytes_one), b = cases[c].run(2, two, &bytes_two);
    const uint64_t digest = fnv1a64(one, bytes_one);
    char line[160];
    snprintf(line, sizeof line, "%s %016llx", cases[c].name, (unsigned long long)digest);
    printf("%s\n", line);
    if (a != LB_OK || b != LB_OK || bytes_one != bytes_two || memcmp(one, two, bytes_one) != 0) {
      printf("FAIL %s: 1 and 2 threads differ (status %d, %d)\n", cases[c].name, (int)a, (int)b);
      failures++;
    }
    if (writing) {
      fprintf(file, "%s\n", line);
    } else {
      char want[160];
      if (fgets(want, sizeof want, file) == NULL) {
        printf("FAIL %s: not in %s\n", cases[c].name, argv[2]);
        failures++;
        continue;
      }
      want[strcspn(want, "\n")] = '\0';
      if (strcmp(want, line) != 0) {
        printf("FAIL %s: the host has \"%s\"\n", cases[c].name, want);
        failures++;
      }
    }
  }
  char extra[160];
  if (!writing && fgets(extra, sizeof extra, file) != NULL) {
    printf("FAIL %s has more cases than this build (%s)\n", argv[2], extra);
    failures++;
  }
  if (fclose(file) != 0) {
    failures++;
  }
  printf("%zu cases, %s\n", COUNT(cases), failures ? "FAILED" : "ok");
  return failures != 0;
}
