/* One ResNet-18 convolution (bench/resnet_bench.cc's shapes) through lb_conv2d, for
 * scripts/mca-layers.sh: built static for aarch64, run under qemu-aarch64 by scripts/mca-trace.sh,
 * which models the instructions between lb_mca_begin and lb_mca_end (one lb_conv2d_run: the
 * activation packing, the products and the output; the weights are packed at create, before).
 * Usage: layer NAME ABITS AENC WBITS WENC [ROWS]: the layer's first ROWS output rows (default all;
 * the per-row work is the same in every row, so a slice scales). Encodings: u, s, b. */
#include <lowbit/operators.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer_shape {
  const char *name;
  size_t size, in_c, out_c;
  unsigned kernel, stride, same;
} layer_shape;

static const layer_shape layers[] = {
    {"C2", 56, 64, 64, 3, 1, 1},    {"C3", 56, 64, 64, 1, 1, 0},   {"C4", 56, 64, 128, 3, 2, 1},
    {"C5", 56, 64, 128, 1, 2, 0},   {"C6", 28, 128, 128, 3, 1, 1}, {"C7", 28, 128, 256, 3, 2, 1},
    {"C8", 28, 128, 256, 1, 2, 0},  {"C9", 14, 256, 256, 3, 1, 1}, {"C10", 14, 256, 512, 3, 2, 1},
    {"C11", 14, 256, 512, 1, 2, 0}, {"C12", 7, 512, 512, 3, 1, 1},
};

/* The trace's markers: never inlined, so that their blocks execute where the region starts and
 * ends. */
__attribute__((noinline)) void lb_mca_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void lb_mca_end(void) { __asm__ volatile("" ::: "memory"); }

static int operand(const char *bits, const char *enc, lb_operand *op) {
  op->bits = (unsigned)atoi(bits);
  op->encoding = enc[0] == 'u'   ? LB_UNSIGNED
                 : enc[0] == 's' ? LB_SIGNED
                 : enc[0] == 'b' ? LB_BIPOLAR
                                 : (lb_encoding)-1;
  return op->bits >= 1 && op->bits <= 16 && enc[1] == '\0' && (int)op->encoding >= 0;
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

int main(int argc, char **argv) {
  const layer_shape *l = NULL;
  lb_conv2d_desc d;
  memset(&d, 0, sizeof d);
  for (size_t i = 0; argc >= 6 && i < sizeof layers / sizeof layers[0]; i++) {
    l = strcmp(argv[1], layers[i].name) == 0 ? &layers[i] : l;
  }
  if (!l || !operand(argv[2], argv[3], &d.a) || !operand(argv[4], argv[5], &d.w)) {
    fprintf(stderr, "usage: layer C2..C12 ABITS u|s|b WBITS u|s|b [ROWS]\n");
    return 2;
  }
  d.batch = 1, d.in_h = l->size, d.in_w = l->size, d.in_c = l->in_c, d.out_c = l->out_c;
  d.kernel_h = d.kernel_w = l->kernel, d.stride_h = d.stride_w = l->stride;
  d.dilation_h = d.dilation_w = 1, d.groups = 1, d.strategy = LB_AUTO, d.threads = 1;
  d.output = LB_OUTPUT_SUMS, d.input = LB_INPUT_CODES;
  if (l->same) {
    lb_conv2d_pad_same(&d);
  }
  size_t out_rows = lb_conv2d_out_h(&d);
  if (argc > 6) {
    /* The first ROWS output rows read the input rows up to (ROWS - 1) * stride + kernel. */
    size_t rows = (size_t)atol(argv[6]);
    if (rows < 1 || rows > out_rows) {
      fprintf(stderr, "layer: ROWS must be 1..%zu\n", out_rows);
      return 2;
    }
    d.in_h = (rows - 1) * l->stride + l->kernel - d.pad_top;
    d.pad_bottom = 0;
    out_rows = rows;
  }
  const size_t in_count = d.in_h * d.in_w * d.in_c,
               w_count = d.out_c * l->kernel * l->kernel * l->in_c;
  void *input = malloc(in_count * 2), *weights = malloc(w_count * 2);
  int64_t *sums = malloc(out_rows * lb_conv2d_out_w(&d) * d.out_c * sizeof(int64_t));
  fill(input, in_count, d.a);
  fill(weights, w_count, d.w);
  lb_conv2d *op = NULL;
  lb_status s = lb_conv2d_create(&d, weights, &op);
  if (s != LB_OK) {
    fprintf(stderr, "layer: lb_conv2d_create: %s\n", lb_status_string(s));
    return 1;
  }
  lb_mca_begin();
  s = lb_conv2d_run(op, input, sums);
  lb_mca_end();
  if (s != LB_OK) {
    fprintf(stderr, "layer: lb_conv2d_run: %s\n", lb_status_string(s));
    return 1;
  }
  /* What the layer moves: activations in, weights' panels, sums out (a reader's bound). */
  printf("macs %zu in_bytes %zu out_rows %zu\n",
         out_rows * lb_conv2d_out_w(&d) * d.out_c * (size_t)l->kernel * l->kernel * l->in_c,
         in_count * (d.a.bits <= 8 ? 1 : 2), out_rows);
  lb_conv2d_destroy(op);
  free(input), free(weights), free(sums);
  return 0;
}
