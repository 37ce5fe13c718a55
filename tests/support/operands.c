#include "operands.h"

#include <stdlib.h>

int64_t lb_test_min_value(lb_operand op) {
  switch (op.encoding) {
    case LB_UNSIGNED: return 0;
    case LB_SIGNED: return -((int64_t)1 << (op.bits - 1));
    case LB_BIPOLAR: return -1;
  }
  return 0;
}

int64_t lb_test_max_value(lb_operand op) {
  switch (op.encoding) {
    case LB_UNSIGNED: return ((int64_t)1 << op.bits) - 1;
    case LB_SIGNED: return ((int64_t)1 << (op.bits - 1)) - 1;
    case LB_BIPOLAR: return 1;
  }
  return 0;
}

size_t lb_test_elem_bytes(lb_operand op) { return op.bits <= 8 ? 1 : 2; }

size_t lb_test_encodings(unsigned bits, lb_encoding enc[3]) {
  size_t n = 0;
  enc[n++] = LB_UNSIGNED;
  enc[n++] = LB_SIGNED;
  if (bits == 1) {
    enc[n++] = LB_BIPOLAR;
  }
  return n;
}

uint64_t lb_test_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

static int64_t fill_value(lb_operand op, lb_test_fill fill, uint64_t *rng) {
  const int64_t lo = lb_test_min_value(op);
  const int64_t hi = lb_test_max_value(op);
  switch (fill) {
    case LB_FILL_MAX: return hi;
    case LB_FILL_MIN: return lo;
    case LB_FILL_ONES: return hi >= 1 ? 1 : -1; /* signed 1-bit: all bits set is -1 */
    case LB_FILL_RANDOM: break;
  }
  if (op.encoding == LB_BIPOLAR) {
    return (lb_test_random(rng) >> 40) & 1 ? 1 : -1;
  }
  return lo + (int64_t)((lb_test_random(rng) >> 16) % (uint64_t)(hi - lo + 1));
}

static void put(lb_operand op, void *m, size_t index, int64_t v) {
  if (lb_test_elem_bytes(op) == 1) {
    if (op.encoding == LB_UNSIGNED) {
      ((uint8_t *)m)[index] = (uint8_t)v;
    } else {
      ((int8_t *)m)[index] = (int8_t)v;
    }
  } else if (op.encoding == LB_UNSIGNED) {
    ((uint16_t *)m)[index] = (uint16_t)v;
  } else {
    ((int16_t *)m)[index] = (int16_t)v;
  }
}

int64_t lb_test_get(lb_operand op, const void *m, size_t index) {
  if (lb_test_elem_bytes(op) == 1) {
    return op.encoding == LB_UNSIGNED ? ((const uint8_t *)m)[index] : ((const int8_t *)m)[index];
  }
  return op.encoding == LB_UNSIGNED ? ((const uint16_t *)m)[index] : ((const int16_t *)m)[index];
}

void *lb_test_matrix(lb_operand op, size_t rows, size_t cols, size_t stride, lb_test_fill fill,
                     uint64_t *rng) {
  void *m = calloc(rows * stride, lb_test_elem_bytes(op));
  if (m == NULL) {
    return NULL;
  }
  /* Elements between cols and stride hold values that must never reach the result. */
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < stride; c++) {
      put(op, m, r * stride + c, c < cols ? fill_value(op, fill, rng) : lb_test_max_value(op));
    }
  }
  return m;
}
