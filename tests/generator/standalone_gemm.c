/* Checks one generated GEMM kernel and its pack kernels against a plain int64 reference, outside
 * the runtime: the test script writes standalone_config.h (kernel names, bits, encodings, tile,
 * code formats) and cross-compiles this file with the generated sources. Applies the encoding
 * corrections of docs/design.md, section 2, itself. Returns non-zero on the first mismatch. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "standalone_config.h"

typedef struct operand {
  unsigned bits;
  char encoding; /* 'u', 's', 'b' */
} operand;

typedef struct side {
  operand op;
  int code_format; /* enum lb_code_format */
  lb_pack_args pack;
  int64_t max_abs_code;
} side;

static int64_t value_min(operand op) {
  if (op.encoding == 'u')
    return 0;
  if (op.encoding == 'b')
    return -1;
  return -((int64_t)1 << (op.bits - 1));
}

static int64_t value_max(operand op) {
  if (op.encoding == 'u')
    return ((int64_t)1 << op.bits) - 1;
  if (op.encoding == 'b')
    return 1;
  return ((int64_t)1 << (op.bits - 1)) - 1;
}

static int64_t max_abs(int64_t a, int64_t b) {
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  return a > b ? a : b;
}

/* The offset and shift that bring the operand's values into the code format (section 2). */
static side make_side(operand op, int code_format) {
  side s;
  memset(&s, 0, sizeof s);
  s.op = op;
  s.code_format = code_format;
  s.pack.bits = op.bits;
  s.pack.source_signed = op.encoding != 'u';
  int64_t lo = value_min(op), hi = value_max(op);
  if (code_format == LB_CODE_BITPLANES) {
    if (op.encoding == 'b') {
      s.pack.code_offset = -1;
      s.pack.code_shift = 1;
    }
    s.pack.planes = op.bits;
  } else {
    int64_t code_lo = code_format == LB_CODE_U8 ? 0 : code_format == LB_CODE_S8 ? -128 : -32768;
    int64_t code_hi = code_format == LB_CODE_U8 ? 255 : code_format == LB_CODE_S8 ? 127 : 32767;
    if (lo < code_lo || hi > code_hi)
      s.pack.code_offset = (int32_t)(lo - code_lo);
  }
  int64_t offset = s.pack.code_offset;
  s.max_abs_code = max_abs((lo - offset) >> s.pack.code_shift, (hi - offset) >> s.pack.code_shift);
  return s;
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

enum fill { FILL_RANDOM, FILL_MAX, FILL_MIN, FILL_ALTERNATE };

static int64_t fill_value(operand op, enum fill fill, size_t index) {
  int64_t lo = value_min(op), hi = value_max(op);
  switch (fill) {
  case FILL_MAX: return hi;
  case FILL_MIN: return lo;
  case FILL_ALTERNATE: return index % 2 ? lo : hi;
  default: break;
  }
  if (op.encoding == 'b')
    return next_random() & 1 ? 1 : -1;
  return lo + (int64_t)(next_random() % (uint64_t)(hi - lo + 1));
}

/* Source matrix of rows x k values in the element type lb_pack_args describes. */
static void *make_source(const side *s, size_t rows, size_t k, enum fill fill, int64_t *values) {
  size_t size = s->op.bits <= 8 ? 1 : 2;
  unsigned char *data = malloc(rows * k * size);
  for (size_t i = 0; i < rows * k; i++) {
    int64_t v = fill_value(s->op, fill, i);
    values[i] = v;
    if (size == 1) {
      if (s->pack.source_signed)
        ((int8_t *)data)[i] = (int8_t)v;
      else
        ((uint8_t *)data)[i] = (uint8_t)v;
    } else if (s->pack.source_signed) {
      ((int16_t *)data)[i] = (int16_t)v;
    } else {
      ((uint16_t *)data)[i] = (uint16_t)v;
    }
  }
  return data;
}

static size_t panel_bytes(const side *s, size_t rows, size_t kblocks) {
  if (s->code_format == LB_CODE_BITPLANES)
    return kblocks * s->pack.planes * rows * (LB_TEST_KBLOCK / 64) * sizeof(uint64_t);
  return kblocks * rows * LB_TEST_KBLOCK * (s->code_format == LB_CODE_S16 ? 2 : 1);
}

/* Packs every panel of R rows; sums receives the code sums of all rows. */
static unsigned char *pack_all(lb_pack_fn pack, const side *s, const void *source, size_t rows,
                               size_t r, size_t k, size_t kblocks, int64_t *sums) {
  size_t element = s->op.bits <= 8 ? 1 : 2;
  size_t panels = (rows + r - 1) / r;
  size_t bytes = panel_bytes(s, r, kblocks);
  unsigned char *packed = malloc(panels * bytes);
  for (size_t p = 0; p < panels; p++) {
    size_t height = rows - p * r < r ? rows - p * r : r;
    pack(height, k, (const unsigned char *)source + p * r * k * element, k, packed + p * bytes,
         sums + p * r, &s->pack);
  }
  return packed;
}

static int64_t plane_coef[32 * 32];

static int run_case(size_t m, size_t n, size_t k, enum fill fill_a, enum fill fill_w, int out64) {
  const operand a_op = {LB_TEST_ABITS, LB_TEST_AENC}, w_op = {LB_TEST_WBITS, LB_TEST_WENC};
  const side a = make_side(a_op, LB_TEST_A_CODE), w = make_side(w_op, LB_TEST_W_CODE);
  const size_t kblocks = (k + LB_TEST_KBLOCK - 1) / LB_TEST_KBLOCK;
  int64_t *a_values = malloc(m * k * sizeof *a_values),
          *w_values = malloc(n * k * sizeof *w_values);
  void *a_source = make_source(&a, m, k, fill_a, a_values);
  void *w_source = make_source(&w, n, k, fill_w, w_values);
  int64_t *a_sums = calloc(m + LB_TEST_MR, sizeof *a_sums);
  int64_t *w_sums = calloc(n + LB_TEST_NR, sizeof *w_sums);
  unsigned char *a_packed =
      pack_all(LB_TEST_PACK_A, &a, a_source, m, LB_TEST_MR, k, kblocks, a_sums);
  unsigned char *w_packed =
      pack_all(LB_TEST_PACK_W, &w, w_source, n, LB_TEST_NR, k, kblocks, w_sums);
  size_t a_bytes = panel_bytes(&a, LB_TEST_MR, kblocks),
         w_bytes = panel_bytes(&w, LB_TEST_NR, kblocks);

  for (unsigned i = 0; i < a.pack.planes; i++)
    for (unsigned j = 0; j < w.pack.planes; j++) {
      int negative = (a_op.encoding == 's' && i == a_op.bits - 1) !=
                     (w_op.encoding == 's' && j == w_op.bits - 1);
      plane_coef[i * w.pack.planes + j] = (negative ? -1 : 1) * ((int64_t)1 << (i + j));
    }
  lb_gemm_ukernel_args args = {
      a.pack.planes, w.pack.planes, plane_coef, a.max_abs_code * w.max_abs_code, out64, 0};

  size_t elem = out64 ? sizeof(int64_t) : sizeof(int32_t);
  unsigned char *t = calloc(m * n, elem);
  /* Split K in two calls when there are two blocks or more, to test accumulate. */
  size_t first = kblocks >= 2 ? kblocks / 2 : kblocks;
  for (size_t m0 = 0; m0 < m; m0 += LB_TEST_MR)
    for (size_t n0 = 0; n0 < n; n0 += LB_TEST_NR) {
      size_t mr = m - m0 < LB_TEST_MR ? m - m0 : LB_TEST_MR;
      size_t nr = n - n0 < LB_TEST_NR ? n - n0 : LB_TEST_NR;
      const unsigned char *ap = a_packed + m0 / LB_TEST_MR * a_bytes;
      const unsigned char *wp = w_packed + n0 / LB_TEST_NR * w_bytes;
      void *c = t + (m0 * n + n0) * elem;
      args.accumulate = 0;
      LB_TEST_GEMM(mr, nr, first, ap, wp, c, n, &args);
      if (first < kblocks) {
        args.accumulate = 1;
        LB_TEST_GEMM(mr, nr, kblocks - first, ap + a_bytes / kblocks * first,
                     wp + w_bytes / kblocks * first, c, n, &args);
      }
    }

  int failed = 0;
  const int64_t offa = a.pack.code_offset, offw = w.pack.code_offset;
  const unsigned sha = a.pack.code_shift, shw = w.pack.code_shift;
  for (size_t i = 0; i < m && !failed; i++)
    for (size_t j = 0; j < n && !failed; j++) {
      int64_t expected = 0;
      for (size_t x = 0; x < k; x++)
        expected += a_values[i * k + x] * w_values[j * k + x];
      int64_t raw = out64 ? ((int64_t *)t)[i * n + j] : ((int32_t *)t)[i * n + j];
      int64_t got = LB_TEST_STRATEGY == LB_STRATEGY_BITSERIAL_XOR
                        ? (int64_t)k - 2 * raw
                        : raw * ((int64_t)1 << (sha + shw)) +
                              a_sums[i] * ((int64_t)1 << sha) * offw +
                              w_sums[j] * ((int64_t)1 << shw) * offa + (int64_t)k * offa * offw;
      if (got != expected) {
        printf("%s: M=%zu N=%zu K=%zu fills %d/%d out%d: C[%zu][%zu] = %" PRId64
               ", reference %" PRId64 "\n",
               LB_TEST_NAME, m, n, k, (int)fill_a, (int)fill_w, out64 ? 64 : 32, i, j, got,
               expected);
        failed = 1;
      }
    }
  free(t);
  free(a_packed);
  free(w_packed);
  free(a_sums);
  free(w_sums);
  free(a_source);
  free(w_source);
  free(a_values);
  free(w_values);
  return failed;
}

int main(void) {
  static const size_t shapes[][3] = {
      {1, 1, 1},    {3, 7, 17},    {7, 3, 63},    {17, 5, 65},  {5, 17, 127},
      {63, 65, 7},  {65, 63, 3},   {4, 4, 1000},  {2, 3, 4096}, {3, 2, 4608},
      {1, 5, 8192}, {2, 2, 65536}, {127, 1, 129}, {1, 127, 64},
  };
  static const enum fill fills[][2] = {
      {FILL_RANDOM, FILL_RANDOM}, {FILL_MAX, FILL_MAX},       {FILL_MIN, FILL_MIN},
      {FILL_MAX, FILL_MIN},       {FILL_ALTERNATE, FILL_MAX},
  };
  const size_t shape_count = sizeof shapes / sizeof shapes[0];
  const size_t fill_count = sizeof fills / sizeof fills[0];
  size_t cases = 0;
  for (size_t s = 0; s < shape_count; s++)
    for (size_t f = 0; f < fill_count; f++)
      for (int out64 = 1; out64 >= 0; out64--) {
        /* int32 output only where the raw sum provably fits, as the runtime decides. */
        const operand a_op = {LB_TEST_ABITS, LB_TEST_AENC}, w_op = {LB_TEST_WBITS, LB_TEST_WENC};
        int64_t bound = (int64_t)shapes[s][2] * make_side(a_op, LB_TEST_A_CODE).max_abs_code *
                        make_side(w_op, LB_TEST_W_CODE).max_abs_code;
        if (!out64 && bound > INT32_MAX)
          continue;
        if (run_case(shapes[s][0], shapes[s][1], shapes[s][2], fills[f][0], fills[f][1], out64))
          return 1;
        cases++;
      }
  printf("%s: %zu cases match the reference\n", LB_TEST_NAME, cases);
  return 0;
}
