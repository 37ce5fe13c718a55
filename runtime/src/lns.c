/* Logarithmic numbers: the exact level tables, argument checks, kernel choice and decode
 * (docs/design.md, section 17). */
#include "lowbit/lns.h"
#include <stddef.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "chunked.h"
#include "registry.h"

#pragma STDC FP_CONTRACT OFF

enum {
  MIN_BITS = 2,
  MAX_BITS = 16,
  MAX_SHIFT = 62,
  /* c^n for c < 2^25 and n <= 2 * 64 has at most 3200 bits. */
  LIMBS = 101,
  BUCKET_SHIFT = 16
};

static const uint32_t ONE = UINT32_C(1) << 23; /* the significand of 1.0 */

/* Whether c^n < 2^p, exactly: the bit length of c^n in 32-bit limbs. */
static int power_below(uint32_t c, unsigned n, unsigned p) {
  uint32_t limb[LIMBS] = {1};
  size_t used = 1;
  for (unsigned i = 0; i < n; i++) {
    uint64_t carry = 0;
    for (size_t l = 0; l < used; l++) {
      const uint64_t product = (uint64_t)limb[l] * c + carry;
      limb[l] = (uint32_t)product;
      carry = product >> 32;
    }
    if (carry) {
      limb[used++] = (uint32_t)carry;
    }
  }
  const unsigned length =
      (unsigned)(used - 1) * 32 + (32 - (unsigned)__builtin_clz(limb[used - 1]));
  return length <= p;
}

/* 2^(i / n) for 0 <= i <= n, to about an ulp of double: bisection on y in [1, 2] with y^n by
 * repeated multiplication. Only a starting point for the exact search below. */
static double root_estimate(unsigned i, unsigned n) {
  double target = 1.0, low = 1.0, high = 2.0;
  for (unsigned k = 0; k < i; k++) {
    target *= 2.0;
  }
  for (int step = 0; step < 60; step++) {
    const double mid = (low + high) / 2.0;
    double power = 1.0;
    for (unsigned k = 0; k < n; k++) {
      power *= mid;
    }
    if (power < target) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return low;
}

/* floor(2^(i / n) * 2^23) for 0 < i < n, where 2^(i/n) is irrational: the largest c with
 * c^n < 2^(i + 23 n). */
static uint32_t floor_root(unsigned i, unsigned n) {
  uint32_t c = (uint32_t)(root_estimate(i, n) * (double)ONE);
  while (!power_below(c, n, i + 23 * n)) {
    c--;
  }
  while (power_below(c + 1, n, i + 23 * n)) {
    c++;
  }
  return c;
}

static void build_tables(lb_lns_tables *t, unsigned gamma) {
  memset(t, 0, sizeof *t);
  t->gamma = gamma;
  t->level[0] = ONE;
  t->level[gamma] = 2 * ONE;
  for (unsigned j = 1; j < gamma; j++) {
    /* Nearest: up when 2^(j/gamma) * 2^23 > q + 1/2, i.e. (2q + 1)^gamma < 2^(j + 24 gamma). */
    const uint32_t q = floor_root(j, gamma);
    t->level[j] = q + power_below(2 * q + 1, gamma, j + 24 * gamma);
  }
  for (unsigned j = 0; j < gamma; j++) {
    t->midpoint[j] = floor_root(2 * j + 1, 2 * gamma) + 1;
  }
  /* Levels and midpoints are more than 2^23 (2^(1/64) - 1) > 2^16 apart: one per bucket at most. */
  for (unsigned j = 0; j < gamma; j++) {
    t->level_pair[j] = t->level[j] | (uint64_t)t->level[j + 1] << 32;
  }
  for (unsigned b = 0; b < LB_LNS_BUCKETS; b++) {
    const uint32_t start = (uint32_t)b << BUCKET_SHIFT, end = start + (UINT32_C(1) << BUCKET_SHIFT);
    uint32_t nearest_count = 0, nearest_threshold = ONE, floor_count = 0, floor_threshold = ONE;
    for (unsigned j = 0; j < gamma; j++) {
      const uint32_t m = t->midpoint[j] - ONE;
      nearest_count += m < start;
      if (m >= start && m < end) {
        nearest_threshold = m;
      }
    }
    for (unsigned j = 1; j < gamma; j++) {
      const uint32_t m = t->level[j] - ONE;
      floor_count += m < start;
      if (m >= start && m < end) {
        floor_threshold = m;
      }
    }
    t->nearest_bucket[b] = nearest_count << 24 | nearest_threshold;
    t->floor_bucket[b] = floor_count << 24 | floor_threshold;
  }
}

static struct {
  pthread_mutex_t lock;
  atomic_int ready[LB_LNS_MAX_GAMMA + 1];
  lb_lns_tables tables[LB_LNS_MAX_GAMMA + 1];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

const lb_lns_tables *lb_lns_tables_of(unsigned gamma) {
  if (gamma < 1 || gamma > LB_LNS_MAX_GAMMA) {
    return NULL;
  }
  if (!atomic_load_explicit(&cache.ready[gamma], memory_order_acquire)) {
    pthread_mutex_lock(&cache.lock);
    if (!atomic_load_explicit(&cache.ready[gamma], memory_order_relaxed)) {
      build_tables(&cache.tables[gamma], gamma);
      atomic_store_explicit(&cache.ready[gamma], 1, memory_order_release);
    }
    pthread_mutex_unlock(&cache.lock);
  }
  return &cache.tables[gamma];
}

static int format_is_valid(const lb_lns_format *format) {
  if (format == NULL || format->bits < MIN_BITS || format->bits > MAX_BITS || format->gamma < 1 ||
      format->gamma > LB_LNS_MAX_GAMMA) {
    return 0;
  }
  const int64_t gamma = format->gamma, largest = (INT64_C(1) << (format->bits - 1)) - 1;
  return 1 + (int64_t)format->offset >= -126 * gamma &&
         largest + (int64_t)format->offset <= 128 * gamma - 1;
}

size_t lb_lns_code_bytes(const lb_lns_format *format) {
  return !format_is_valid(format) ? 0 : format->bits <= 8 ? 1 : 2;
}

static int code_of(const lb_lns_format *format) {
  return format->bits <= 8 ? LB_LNS_CODE_U8 : LB_LNS_CODE_U16;
}

size_t lb_lns_kernel_count(void) { return lb_registry_quantize_lns_count; }

const lb_lns_kernel_info *lb_lns_kernel_at(size_t index) {
  return index < lb_registry_quantize_lns_count ? &lb_registry_quantize_lns[index] : NULL;
}

struct lns_key {
  int source, code;
};

static int matches_lns(const void *row, const void *key) {
  const lb_lns_kernel_info *kernel = row;
  const struct lns_key *want = key;
  return kernel->source == want->source && kernel->code == want->code;
}

const lb_lns_kernel_info *lb_lns_select(int source, int code) {
  return lb_registry_first_runnable(lb_registry_quantize_lns, lb_registry_quantize_lns_count,
                                    sizeof lb_registry_quantize_lns[0],
                                    offsetof(lb_lns_kernel_info, isa), matches_lns,
                                    &(const struct lns_key){.source = source, .code = code});
}

size_t lb_lns_madam_kernel_count(void) { return lb_registry_update_lns_madam_count; }

const lb_lns_madam_kernel_info *lb_lns_madam_kernel_at(size_t index) {
  return index < lb_registry_update_lns_madam_count ? &lb_registry_update_lns_madam[index] : NULL;
}

struct lns_madam_key {
  int code;
};

static int matches_lns_madam(const void *row, const void *key) {
  const lb_lns_madam_kernel_info *kernel = row;
  const struct lns_madam_key *want = key;
  return kernel->code == want->code;
}

const lb_lns_madam_kernel_info *lb_lns_madam_select(int code) {
  return lb_registry_first_runnable(
      lb_registry_update_lns_madam, lb_registry_update_lns_madam_count,
      sizeof lb_registry_update_lns_madam[0], offsetof(lb_lns_madam_kernel_info, isa),
      matches_lns_madam, &(const struct lns_madam_key){.code = code});
}

/* One kernel call per chunk, at the chunk's first element index. */
typedef struct lb_lns_work {
  const lb_lns_kernel_info *kernel;
  lb_quantize_lns_args args;
  uint64_t first_index;
  const unsigned char *in;
  unsigned char *codes;
  size_t in_bytes, code_bytes;
} lb_lns_work;

static void quantize_chunk(void *context, size_t first, size_t count) {
  const lb_lns_work *work = context;
  work->kernel->fn(count, work->in + first * work->in_bytes, work->first_index + first,
                   work->codes + first * work->code_bytes, &work->args);
}

static lb_status quantize(const lb_lns_format *format, int source, unsigned shift,
                          lb_rounding rounding, uint64_t seed, uint64_t stream,
                          uint64_t first_index, size_t count, const void *in, void *codes,
                          unsigned threads) {
  if (!format_is_valid(format) || in == NULL || codes == NULL || count == 0 || shift > MAX_SHIFT ||
      (rounding != LB_ROUND_NEAREST && rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_lns_kernel_info *kernel = lb_lns_select(source, code_of(format));
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }
  const lb_lns_work work = {.kernel = kernel,
                            .args = {.bits = format->bits,
                                     .offset = format->offset,
                                     .shift = shift,
                                     .rounding = rounding,
                                     .seed = seed,
                                     .stream = stream,
                                     .tables = lb_lns_tables_of(format->gamma)},
                            .first_index = first_index,
                            .in = in,
                            .codes = codes,
                            .in_bytes = source == LB_LNS_SOURCE_I64 ? 8 : 4,
                            .code_bytes = lb_lns_code_bytes(format)};
  /* 64 elements: a whole number of vectors for every ISA. */
  lb_chunked_for(threads, count, 64, quantize_chunk, (void *)&work);
  return LB_OK;
}

lb_status lb_quantize_lns(const lb_lns_format *format, lb_rounding rounding, uint64_t seed,
                          uint64_t stream, uint64_t first_index, size_t count, const float *x,
                          void *codes, unsigned threads) {
  return quantize(format, LB_LNS_SOURCE_F32, 0, rounding, seed, stream, first_index, count, x,
                  codes, threads);
}

lb_status lb_quantize_lns_i32(const lb_lns_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                              const int32_t *acc, void *codes, unsigned threads) {
  return quantize(format, LB_LNS_SOURCE_I32, s, rounding, seed, stream, first_index, count, acc,
                  codes, threads);
}

lb_status lb_quantize_lns_i64(const lb_lns_format *format, unsigned s, lb_rounding rounding,
                              uint64_t seed, uint64_t stream, uint64_t first_index, size_t count,
                              const int64_t *acc, void *codes, unsigned threads) {
  return quantize(format, LB_LNS_SOURCE_I64, s, rounding, seed, stream, first_index, count, acc,
                  codes, threads);
}

lb_status lb_lns_decode(const lb_lns_format *format, size_t count, const void *codes, float *y) {
  if (!format_is_valid(format) || codes == NULL || y == NULL || count == 0) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_lns_tables *t = lb_lns_tables_of(format->gamma);
  const int32_t gamma = (int32_t)format->gamma;
  const uint32_t sign_shift = format->bits - 1, largest = (UINT32_C(1) << sign_shift) - 1;
  const int narrow = format->bits <= 8;
  for (size_t i = 0; i < count; i++) {
    const uint32_t code = narrow ? ((const uint8_t *)codes)[i] : ((const uint16_t *)codes)[i];
    const uint32_t sign = ((code >> sign_shift) & 1u) << 31, f = code & largest;
    uint32_t bits = sign;
    if (f != 0) {
      /* 2^(k / gamma) = 2^e * 2^(j / gamma), k = f + e0 = gamma * e + j, 0 <= j < gamma. */
      const int32_t k = (int32_t)f + format->offset;
      const int32_t e = (k >= 0 ? k : k - gamma + 1) / gamma, j = k - e * gamma;
      bits |= (uint32_t)(e + 127) << 23 | (t->level[j] - ONE);
    }
    memcpy(&y[i], &bits, sizeof bits);
  }
  return LB_OK;
}

/* The update's chunks: the check of one, or its update at its first element index. */
typedef struct lb_madam_work {
  const lb_lns_madam_kernel_info *kernel;
  lb_lns_madam_args args;
  uint64_t first_index;
  unsigned char *codes;
  size_t code_bytes;
  float *v;
  const float *g;
} lb_madam_work;

static size_t madam_check_chunk(void *context, size_t first, size_t count) {
  const lb_madam_work *work = context;
  return work->kernel->check(count, work->v + first, work->g + first);
}

static void madam_update_chunk(void *context, size_t first, size_t count) {
  const lb_madam_work *work = context;
  work->kernel->fn(count, work->codes + first * work->code_bytes, work->v + first, work->g + first,
                   work->first_index + first, &work->args);
}

lb_status lb_lns_madam_update(const lb_lns_format *format, const lb_lns_madam_params *params,
                              uint64_t first_index, size_t count, void *codes, float *v,
                              const float *g, unsigned threads) {
  if (!format_is_valid(format) || params == NULL || codes == NULL || v == NULL || g == NULL ||
      count == 0 ||
      (params->rounding != LB_ROUND_NEAREST && params->rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  /* Written so that NaN fails each test. */
  if (!(params->eta >= 0.0f && (double)params->eta * format->gamma <= 65536.0) ||
      !(params->beta >= 0.0f && params->beta <= 1.0f)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_lns_madam_kernel_info *kernel = lb_lns_madam_select(code_of(format));
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }
  lb_madam_work work = {.kernel = kernel,
                        .args = {.bits = format->bits,
                                 .gamma = format->gamma,
                                 .eta = params->eta,
                                 .beta = params->beta,
                                 .rounding = params->rounding,
                                 .seed = params->seed,
                                 .stream = params->stream},
                        .first_index = first_index,
                        .codes = codes,
                        .code_bytes = lb_lns_code_bytes(format),
                        .v = v,
                        .g = g};
  /* The whole call is checked before any chunk writes: a refused element anywhere leaves every
   * code and state as they were, whatever the thread count. */
  if (lb_chunked_sum(threads, count, 64, madam_check_chunk, &work) != 0) {
    return LB_BAD_GRADIENT;
  }
  lb_chunked_for(threads, count, 64, madam_update_chunk, &work);
  return LB_OK;
}
