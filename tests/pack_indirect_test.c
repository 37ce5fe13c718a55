/* Every registered kernel's indirect A packs against its contiguous A pack: the same rows, given
 * as runs through pointers in scattered places (as an im2col indirection buffer gives them), must
 * give the same panel bytes and code sums, for run lengths below, at and above the K block and
 * for K across several gather chunks; and float runs through the quantizing pack must give the
 * panel of their values quantized by the test's own reference (support/quantize.c); with
 * stochastic rounding, the panel of the separately SR-quantized tensor (the test's formula of
 * lowbit/ukernel.h, and for signed operands with zero point 0 lb_quantize_fixed_f32 itself), keyed
 * by the element's index in the logical tensor from a first-row offset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/fixed_point.h"
#include "lowbit/lowbit.h"
#include "support/operands.h"
#include "support/quantize.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct runs_shape {
  size_t segments, segment_length;
} runs_shape;

static const runs_shape shapes[] = {{1, 1}, {9, 3}, {9, 64}, {7, 130}, {3, 1000}, {2, 4100}};

/* Source values and pack arguments that the kernel's A format holds, with a code offset where the
 * format needs one (signed 8-bit values in u8 codes). */
static void operand_for(const lb_gemm_kernel_info *kernel, lb_operand *op, lb_pack_args *args) {
  memset(args, 0, sizeof *args);
  switch (kernel->a_format) {
  case LB_CODE_BITPLANES:
    /* 1-bit kernels take bipolar operands: codes (v + 1) >> 1, one plane. */
    if (kernel->abits == 1) {
      *op = (lb_operand){1, LB_BIPOLAR};
      args->code_offset = -1;
      args->code_shift = 1;
      args->planes = 1;
    } else {
      *op = (lb_operand){3, LB_UNSIGNED};
      args->planes = 3;
    }
    break;
  case LB_CODE_U8:
    *op = (lb_operand){8, LB_SIGNED};
    args->code_offset = -128;
    break;
  case LB_CODE_S8: *op = (lb_operand){8, LB_SIGNED}; break;
  default: *op = (lb_operand){16, LB_SIGNED}; break;
  }
  args->bits = op->bits;
  args->source_signed = op->encoding != LB_UNSIGNED;
}

static size_t block_bytes(const lb_gemm_kernel_info *kernel, const lb_pack_args *args) {
  switch (kernel->a_format) {
  case LB_CODE_BITPLANES:
    return args->planes * kernel->mr * (kernel->kblock / 64) * sizeof(uint64_t);
  case LB_CODE_S16: return kernel->mr * kernel->kblock * sizeof(int16_t);
  default: return kernel->mr * kernel->kblock;
  }
}

/* Quantizing pack of float runs against the contiguous pack of reference-quantized values, into
 * the buffers of check_case (matrix receives the values; pointers are rebuilt for the floats). */
static int check_quantize(const lb_gemm_kernel_info *kernel, size_t rows, runs_shape shape,
                          const lb_pack_args *args, lb_operand op, const void **pointers,
                          unsigned char *matrix, unsigned char *direct, unsigned char *indirect,
                          size_t panel_bytes, uint64_t *rng) {
  const size_t k = shape.segments * shape.segment_length;
  const lb_quantize_args q = {.scale = 0.25f,
                              .zero_point = op.encoding == LB_UNSIGNED ? 3 : -1,
                              .min_value = (int32_t)lb_test_min_value(op),
                              .max_value = (int32_t)lb_test_max_value(op),
                              .bipolar = op.encoding == LB_BIPOLAR};
  float *floats = malloc(rows * k * sizeof *floats);
  if (floats == NULL) {
    fprintf(stderr, "FAIL %s: out of memory\n", kernel->name);
    return 0;
  }
  for (size_t i = 0; i < rows * k; i++) {
    floats[i] = lb_test_random_float(q.scale, q.zero_point, op, rng);
    lb_test_store_value(matrix, i, lb_test_quantize(floats[i], q.scale, q.zero_point, op), op);
  }
  const float **runs = (const float **)pointers;
  for (size_t r = 0; r < rows; r++) {
    for (size_t s = 0; s < shape.segments; s++) {
      runs[r * shape.segments + s] = floats + r * k + s * shape.segment_length;
    }
  }
  int64_t direct_sums[64], quantized_sums[64];
  memset(direct, 0xa5, panel_bytes);
  memset(indirect, 0x5a, panel_bytes);
  kernel->pack_a(rows, k, matrix, k, direct, direct_sums, args);
  kernel->pack_a_quantize(rows, shape.segments, shape.segment_length, runs, indirect,
                          quantized_sums, args, &q);
  const int ok = memcmp(direct, indirect, panel_bytes) == 0 &&
                 memcmp(direct_sums, quantized_sums, rows * sizeof direct_sums[0]) == 0;
  if (!ok) {
    fprintf(stderr, "FAIL %s: rows %zu, %zu float runs of %zu: quantizing pack differs\n",
            kernel->name, rows, shape.segments, shape.segment_length);
  }
  free(floats);
  return ok;
}

/* The library's random bits (docs/design.md, section 13), written again from the formula. */
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

/* Stochastic rounding as lb_quantize_args documents it. */
static int32_t sr_reference(float x, const lb_quantize_args *q, uint64_t index) {
  const double low = (double)q->min_value - q->zero_point,
               high = (double)q->max_value - q->zero_point;
  double t = (double)x / q->scale;
  t = isnan(t) ? 0.0 : fmin(fmax(t, low), high);
  const double u = ldexp((double)(random_bits(q->seed, q->stream, index) >> 32), -32);
  const double v = floor(t + u) + q->zero_point;
  return (int32_t)fmin(fmax(v, q->min_value), q->max_value);
}

/* The stochastic quantizing pack of float runs (rows first_row.. of a logical tensor) against the
 * contiguous pack of the separately SR-quantized values. */
static int check_quantize_stochastic(const lb_gemm_kernel_info *kernel, size_t rows,
                                     runs_shape shape, const lb_pack_args *args, lb_operand op,
                                     const void **pointers, unsigned char *matrix,
                                     unsigned char *direct, unsigned char *indirect,
                                     size_t panel_bytes, uint64_t *rng) {
  if (op.encoding == LB_BIPOLAR) {
    return 1; /* the sign: nothing to round */
  }
  const size_t k = shape.segments * shape.segment_length;
  const uint64_t first_row = 5 + (*rng >> 60);
  const lb_quantize_args q = {.scale = 0.25f,
                              .zero_point = op.encoding == LB_UNSIGNED ? 3 : 0,
                              .min_value = (int32_t)lb_test_min_value(op),
                              .max_value = (int32_t)lb_test_max_value(op),
                              .rounding = LB_ROUND_STOCHASTIC,
                              .seed = 17,
                              .stream = 4,
                              .first_row = first_row};
  float *floats = malloc(rows * k * sizeof *floats);
  int16_t *fixed = malloc(rows * k * sizeof *fixed);
  if (floats == NULL || fixed == NULL) {
    fprintf(stderr, "FAIL %s: out of memory\n", kernel->name);
    free(floats);
    free(fixed);
    return 0;
  }
  for (size_t i = 0; i < rows * k; i++) {
    floats[i] = lb_test_random_float(q.scale, q.zero_point, op, rng);
    lb_test_store_value(matrix, i, sr_reference(floats[i], &q, first_row * k + i), op);
  }
  int ok = 1;
  if (op.encoding == LB_SIGNED) {
    /* The library's own SR quantizer gives the same values: <bits, 2> is scale 2^-2. */
    const lb_fixed_format format = {op.bits, 2};
    ok = lb_quantize_fixed_f32(&format, LB_ROUND_STOCHASTIC, q.seed, q.stream, first_row * k,
                               rows * k, floats, fixed, 1) == LB_OK;
    for (size_t i = 0; ok && i < rows * k; i++) {
      const int32_t v = op.bits <= 8 ? ((int8_t *)fixed)[i] : fixed[i];
      ok = v == sr_reference(floats[i], &q, first_row * k + i);
    }
    if (!ok) {
      fprintf(stderr, "FAIL %s: lb_quantize_fixed_f32 differs from the SR formula\n", kernel->name);
    }
  }
  const float **runs = (const float **)pointers;
  for (size_t r = 0; r < rows; r++) {
    for (size_t s = 0; s < shape.segments; s++) {
      runs[r * shape.segments + s] = floats + r * k + s * shape.segment_length;
    }
  }
  int64_t direct_sums[64], quantized_sums[64];
  memset(direct, 0xa5, panel_bytes);
  memset(indirect, 0x5a, panel_bytes);
  kernel->pack_a(rows, k, matrix, k, direct, direct_sums, args);
  kernel->pack_a_quantize(rows, shape.segments, shape.segment_length, runs, indirect,
                          quantized_sums, args, &q);
  if (memcmp(direct, indirect, panel_bytes) != 0 ||
      memcmp(direct_sums, quantized_sums, rows * sizeof direct_sums[0]) != 0) {
    fprintf(stderr,
            "FAIL %s: rows %zu, %zu float runs of %zu: stochastic quantizing pack differs\n",
            kernel->name, rows, shape.segments, shape.segment_length);
    ok = 0;
  }
  free(floats);
  free(fixed);
  return ok;
}

/* 1 when the indirect pack of `rows` rows matches the contiguous one. */
static int check_case(const lb_gemm_kernel_info *kernel, size_t rows, runs_shape shape,
                      uint64_t *rng) {
  lb_operand op;
  lb_pack_args args;
  operand_for(kernel, &op, &args);
  const size_t k = shape.segments * shape.segment_length;
  const size_t bytes = lb_test_elem_bytes(op);
  const size_t panel_bytes = (k + kernel->kblock - 1) / kernel->kblock * block_bytes(kernel, &args);
  unsigned char *matrix = lb_test_matrix(op, rows, k, k, LB_FILL_RANDOM, rng);
  /* Runs in a pool, ordered by segment then row, three elements apart. */
  const size_t spacing = shape.segment_length + 3;
  unsigned char *pool = calloc(rows * shape.segments * spacing, bytes);
  const void **pointers = calloc(rows * shape.segments, sizeof *pointers);
  unsigned char *direct = malloc(panel_bytes), *indirect = malloc(panel_bytes);
  int64_t direct_sums[64], indirect_sums[64];
  int ok = matrix != NULL && pool != NULL && pointers != NULL && direct != NULL && indirect != NULL;
  if (ok) {
    for (size_t r = 0; r < rows; r++) {
      for (size_t s = 0; s < shape.segments; s++) {
        unsigned char *run = pool + (s * rows + r) * spacing * bytes;
        memcpy(run, matrix + (r * k + s * shape.segment_length) * bytes,
               shape.segment_length * bytes);
        pointers[r * shape.segments + s] = run;
      }
    }
    memset(direct, 0xa5, panel_bytes);
    memset(indirect, 0x5a, panel_bytes);
    kernel->pack_a(rows, k, matrix, k, direct, direct_sums, &args);
    kernel->pack_a_indirect(rows, shape.segments, shape.segment_length, pointers, indirect,
                            indirect_sums, &args);
    ok = memcmp(direct, indirect, panel_bytes) == 0 &&
         memcmp(direct_sums, indirect_sums, rows * sizeof direct_sums[0]) == 0;
    if (!ok) {
      fprintf(stderr, "FAIL %s: rows %zu, %zu runs of %zu: indirect pack differs\n", kernel->name,
              rows, shape.segments, shape.segment_length);
    }
    ok = ok && check_quantize(kernel, rows, shape, &args, op, pointers, matrix, direct, indirect,
                              panel_bytes, rng);
    ok = ok && check_quantize_stochastic(kernel, rows, shape, &args, op, pointers, matrix, direct,
                                         indirect, panel_bytes, rng);
  } else {
    fprintf(stderr, "FAIL %s: out of memory\n", kernel->name);
  }
  free(matrix);
  free(pool);
  free(pointers);
  free(direct);
  free(indirect);
  return ok;
}

int main(void) {
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x243f6a8885a308d3u;
  size_t passed = 0, failed = 0;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (!lb_cpu_has_isa(kernel->isa)) {
      printf("skipped %s: this CPU lacks %s\n", kernel->name, kernel->isa);
      continue;
    }
    const size_t row_counts[] = {kernel->mr, 1, kernel->mr > 1 ? kernel->mr - 1 : 1};
    for (size_t r = 0; r < COUNT(row_counts); r++) {
      for (size_t s = 0; s < COUNT(shapes); s++) {
        if (check_case(kernel, row_counts[r], shapes[s], &rng)) {
          passed++;
        } else {
          failed++;
        }
      }
    }
  }
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
