/* Fixed-point quantizers: argument checks and the choice of a registered kernel. */
#include <stddef.h>
#include <string.h>

#include "chunked.h"
#include "lowbit/fixed_point.h"
#include "registry.h"

enum { MIN_WL = 2, MAX_WL = 16, MAX_FL = 32, MAX_SHIFT = 62 };

size_t lb_quantize_fixed_kernel_count(void) { return lb_registry_quantize_fixed_count; }

const lb_quantize_fixed_kernel_info *lb_quantize_fixed_kernel_at(size_t index) {
  return index < lb_registry_quantize_fixed_count ? &lb_registry_quantize_fixed[index] : NULL;
}

struct quantize_fixed_key {
  int source, code;
};

static int matches_quantize_fixed(const void *row, const void *key) {
  const lb_quantize_fixed_kernel_info *kernel = row;
  const struct quantize_fixed_key *want = key;
  return kernel->source == want->source && kernel->code == want->code;
}

const lb_quantize_fixed_kernel_info *lb_quantize_fixed_select(int source, unsigned wl) {
  if (wl < MIN_WL || wl > MAX_WL) {
    return NULL;
  }
  /* The narrowest code that holds wl bits: the same codes, half the bytes. */
  const int code = wl <= 8 ? LB_CODE_S8 : LB_CODE_S16;
  return lb_registry_first_runnable(
      lb_registry_quantize_fixed, lb_registry_quantize_fixed_count,
      sizeof lb_registry_quantize_fixed[0], offsetof(lb_quantize_fixed_kernel_info, isa),
      matches_quantize_fixed, &(const struct quantize_fixed_key){.source = source, .code = code});
}

/* One kernel call per chunk: element first of the call is element first_index + first of the
 * tensor, so the chunks write what one call would. */
typedef struct lb_fixed_work {
  const lb_quantize_fixed_kernel_info *kernel;
  lb_quantize_fixed_args args;
  uint64_t first_index;
  const unsigned char *in;
  unsigned char *out;
  size_t in_bytes, out_bytes;
} lb_fixed_work;

static void run_chunk(void *context, size_t first, size_t count) {
  const lb_fixed_work *work = context;
  work->kernel->fn(count, work->in + first * work->in_bytes, work->first_index + first,
                   work->out + first * work->out_bytes, &work->args);
}

static lb_status run(int source, unsigned wl, int shift, lb_rounding rounding, uint64_t seed,
                     uint64_t stream, uint64_t first_index, size_t count, const void *in, void *out,
                     unsigned threads) {
  if (in == NULL || out == NULL ||
      (rounding != LB_ROUND_NEAREST && rounding != LB_ROUND_STOCHASTIC)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_quantize_fixed_kernel_info *kernel = lb_quantize_fixed_select(source, wl);
  if (kernel == NULL) {
    return wl < MIN_WL || wl > MAX_WL ? LB_INVALID_ARGUMENT : LB_NO_KERNEL;
  }
  const lb_fixed_work work = {
      .kernel = kernel,
      .args = {.wl = wl, .shift = shift, .rounding = rounding, .seed = seed, .stream = stream},
      .first_index = first_index,
      .in = in,
      .out = out,
      .in_bytes = source == LB_FIXED_SOURCE_I64 ? sizeof(int64_t) : sizeof(float),
      .out_bytes = kernel->code == LB_CODE_S8 ? 1 : 2};
  /* 64 elements: a whole number of vectors for every ISA's code and source widths. */
  lb_chunked_for(threads, count, 64, run_chunk, (void *)&work);
  return LB_OK;
}

lb_status lb_quantize_fixed_f32(const lb_fixed_format *fmt, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count, const float *x,
                                void *q, unsigned threads) {
  if (fmt == NULL || fmt->fl < -MAX_FL || fmt->fl > MAX_FL) {
    return LB_INVALID_ARGUMENT;
  }
  return run(LB_FIXED_SOURCE_F32, fmt->wl, fmt->fl, rounding, seed, stream, first_index, count, x,
             q, threads);
}

lb_status lb_quantize_fixed_i32(unsigned wl, unsigned s, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count,
                                const int32_t *acc, void *q, unsigned threads) {
  if (s > MAX_SHIFT) {
    return LB_INVALID_ARGUMENT;
  }
  return run(LB_FIXED_SOURCE_I32, wl, (int)s, rounding, seed, stream, first_index, count, acc, q,
             threads);
}

lb_status lb_quantize_fixed_i64(unsigned wl, unsigned s, lb_rounding rounding, uint64_t seed,
                                uint64_t stream, uint64_t first_index, size_t count,
                                const int64_t *acc, void *q, unsigned threads) {
  if (s > MAX_SHIFT) {
    return LB_INVALID_ARGUMENT;
  }
  return run(LB_FIXED_SOURCE_I64, wl, (int)s, rounding, seed, stream, first_index, count, acc, q,
             threads);
}
