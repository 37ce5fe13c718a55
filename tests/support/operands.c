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

/* The element type is chosen once per row, not per element: QEMU runs these loops too. */
static void store_row(lb_operand op, void *m, size_t offset, const int64_t *values, size_t count) {
  if (lb_test_elem_bytes(op) == 1) {
    uint8_t *row = (uint8_t *)m + offset;
    for (size_t i = 0; i < count; i++) {
      row[i] = (uint8_t)values[i];
    }
  } else {
    uint16_t *row = (uint16_t *)m + offset;
    for (size_t i = 0; i < count; i++) {
      row[i] = (uint16_t)values[i];
    }
  }
}

void lb_test_decode(lb_operand op, const void *m, size_t offset, size_t count, int64_t *values) {
  if (lb_test_elem_bytes(op) == 1) {
    if (op.encoding == LB_UNSIGNED) {
      for (size_t i = 0; i < count; i++) {
        values[i] = ((const uint8_t *)m)[offset + i];
      }
    } else {
      for (size_t i = 0; i < count; i++) {
        values[i] = ((const int8_t *)m)[offset + i];
      }
    }
  } else if (op.encoding == LB_UNSIGNED) {
    for (size_t i = 0; i < count; i++) {
      values[i] = ((const uint16_t *)m)[offset + i];
    }
  } else {
    for (size_t i = 0; i < count; i++) {
      values[i] = ((const int16_t *)m)[offset + i];
    }
  }
}

void *lb_test_matrix(lb_operand op, size_t rows, size_t cols, size_t stride, lb_test_fill fill,
                     uint64_t *rng) {
  void *m = calloc(rows * stride, lb_test_elem_bytes(op));
  int64_t *values = malloc(stride * sizeof(int64_t));
  if (m == NULL || values == NULL) {
    free(m);
    free(values);
    return NULL;
  }
  /* Elements between cols and stride hold values that must never reach the result. */
  for (size_t c = cols; c < stride; c++) {
    values[c] = lb_test_max_value(op);
  }
  for (size_t r = 0; r < rows; r++) {
    if (r == 0 || fill == LB_FILL_RANDOM) {
      for (size_t c = 0; c < cols; c++) {
        values[c] = fill_value(op, fill, rng);
      }
    }
    store_row(op, m, r * stride, values, stride);
  }
  free(values);
  return m;
}
