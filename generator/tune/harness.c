/* One convolution through lb_conv2d (weights prepacked at create, code input, exact sums out), the
 * program that lowbit-tune links with each candidate's kernels and that scripts/mca-layers.sh
 * models. Built against liblowbit_core.a plus a candidate's generated sources (or a whole
 * liblowbit.a), for the host or static for a board.
 *
 * Usage: harness SHAPE ABITS AENC WBITS WENC STRATEGY ROWS REPEATS
 *   SHAPE     a ResNet-18 layer, C2..C12 (bench/resnet_bench.cc's shapes, batch 1), or
 *             H,W,CIN,COUT,K,S (square input and kernel, SAME padding when K > 1)
 *   AENC/WENC u, s or b;  STRATEGY auto, bitserial or direct
 *   ROWS      compute the first ROWS output rows only (0: all); every row does the same work,
 *             so a slice scales to the layer
 *   REPEATS   0: one lb_conv2d_run between the markers lb_mca_begin and lb_mca_end, for
 *             scripts/mca-trace.sh; N > 0: one warm-up run, then N timed on the thread's CPU
 *             clock (another process's time on a shared machine does not count), printing their
 *             median in ns
 * Prints `macs M in_bytes B out_rows R` (what the slice computes and reads) and, when timing,
 * `median_ns T`. Exit status: 0 done, 1 the library refused the layer, 2 bad arguments. */
#include <lowbit/operators.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shapes.h"

/* The trace's markers: never inlined, so that their blocks execute where the region starts and
 * ends. */
__attribute__((noinline)) void lb_mca_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void lb_mca_end(void) { __asm__ volatile("" ::: "memory"); }

static int parse_operand(const char *bits, const char *enc, lb_operand *op) {
  unsigned long b;
  if (!parse_count(bits, 1, 16, &b) || strlen(enc) != 1) {
    return 0;
  }
  op->bits = (unsigned)b;
  op->encoding = enc[0] == 'u' ? LB_UNSIGNED : enc[0] == 's' ? LB_SIGNED : LB_BIPOLAR;
  return strchr("usb", enc[0]) && (op->encoding != LB_BIPOLAR || b == 1);
}

static int parse_strategy(const char *text, lb_strategy_choice *strategy) {
  *strategy = strcmp(text, "bitserial") == 0 ? LB_BITSERIAL
              : strcmp(text, "direct") == 0  ? LB_DIRECT
                                             : LB_AUTO;
  return *strategy != LB_AUTO || strcmp(text, "auto") == 0;
}

/* A value of op's range from a fixed hash of i. */
static int32_t value_of(lb_operand op, uint64_t i) {
  uint64_t h = (i + 1) * 0x9e3779b97f4a7c15u;
  h ^= h >> 29;
  if (op.encoding == LB_BIPOLAR) {
    return (h & 1) ? 1 : -1;
  }
  int32_t v = (int32_t)(h % (1u << op.bits));
  return op.encoding == LB_SIGNED ? v - (int32_t)(1u << (op.bits - 1)) : v;
}

static void fill(void *data, size_t count, lb_operand op) {
  for (size_t i = 0; i < count; i++) {
    if (op.bits <= 8) {
      ((int8_t *)data)[i] = (int8_t)value_of(op, i);
    } else {
      ((int16_t *)data)[i] = (int16_t)value_of(op, i);
    }
  }
}

static double thread_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  layer_shape l;
  lb_conv2d_desc d;
  memset(&d, 0, sizeof d);
  unsigned long rows = 0, repeats = 0;
  if (argc != 9 || !parse_shape(argv[1], &l) || !parse_operand(argv[2], argv[3], &d.a) ||
      !parse_operand(argv[4], argv[5], &d.w) || !parse_strategy(argv[6], &d.strategy) ||
      !parse_count(argv[7], 0, 4096, &rows) || !parse_count(argv[8], 0, 100000, &repeats)) {
    fprintf(stderr, "usage: harness C2..C12|H,W,CIN,COUT,K,S ABITS u|s|b WBITS u|s|b "
                    "auto|bitserial|direct ROWS REPEATS\n");
    return 2;
  }
  d.batch = 1, d.in_h = l.size, d.in_w = l.size, d.in_c = l.in_c, d.out_c = l.out_c;
  d.kernel_h = d.kernel_w = l.kernel, d.stride_h = d.stride_w = l.stride;
  d.dilation_h = d.dilation_w = 1, d.groups = 1, d.threads = 1;
  d.output = LB_OUTPUT_SUMS, d.input = LB_INPUT_CODES;
  if (l.kernel > 1) {
    lb_conv2d_pad_same(&d);
  }
  size_t out_rows = lb_conv2d_out_h(&d);
  if (rows > out_rows) {
    fprintf(stderr, "harness: ROWS must be 0..%zu for %s\n", out_rows, l.name);
    return 2;
  }
  if (rows > 0) {
    /* The first ROWS output rows read the input rows up to (ROWS - 1) * stride + kernel. */
    d.in_h = (rows - 1) * l.stride + l.kernel - d.pad_top;
    d.pad_bottom = 0;
    out_rows = rows;
  }
  const size_t in_count = d.in_h * d.in_w * d.in_c,
               w_count = d.out_c * l.kernel * l.kernel * l.in_c;
  void *input = malloc(in_count * 2), *weights = malloc(w_count * 2);
  int64_t *sums = malloc(out_rows * lb_conv2d_out_w(&d) * d.out_c * sizeof(int64_t));
  if (!input || !weights || !sums) {
    fprintf(stderr, "harness: out of memory\n");
    return 1;
  }
  fill(input, in_count, d.a);
  fill(weights, w_count, d.w);
  lb_conv2d *op = NULL;
  lb_status s = lb_conv2d_create(&d, weights, &op);
  if (s != LB_OK) {
    fprintf(stderr, "harness: lb_conv2d_create: %s\n", lb_status_string(s));
    return 1;
  }
  double *times = malloc((repeats + 1) * sizeof *times);
  if (repeats == 0) {
    lb_mca_begin();
    s = lb_conv2d_run(op, input, sums);
    lb_mca_end();
  }
  for (unsigned long r = 0; r <= repeats && repeats > 0 && s == LB_OK; r++) {
    const double start = thread_ns();
    s = lb_conv2d_run(op, input, sums);
    times[r] = thread_ns() - start;
  }
  if (s != LB_OK) {
    fprintf(stderr, "harness: lb_conv2d_run: %s\n", lb_status_string(s));
    return 1;
  }
  const size_t k = (size_t)l.kernel * l.kernel * l.in_c,
               out_count = out_rows * lb_conv2d_out_w(&d) * d.out_c;
  printf("macs %zu in_bytes %zu out_rows %zu\n", out_count * k, in_count * (d.a.bits <= 8 ? 1 : 2),
         out_rows);
  /* What a call reads and writes at the least: the input and weight codes and the sums. */
  printf("bytes %zu kernel %s\n",
         in_count * (d.a.bits <= 8 ? 1 : 2) + w_count * (d.w.bits <= 8 ? 1 : 2) +
             out_count * (lb_gemm_output_type(d.a, d.w, k) == LB_OUT_INT64 ? 8 : 4),
         lb_conv2d_kernel(op)->name);
  if (repeats > 0) {
    /* times[0] is the warm-up. */
    qsort(times + 1, repeats, sizeof *times, compare_doubles);
    printf("median_ns %.0f\n", times[1 + repeats / 2]);
  }
  lb_conv2d_destroy(op);
  free(times), free(input), free(weights), free(sums);
  return 0;
}
