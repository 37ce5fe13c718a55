/* Test operands: the value range of an encoding and matrices of source elements in the layout
 * lb_gemm reads (1 byte per element up to 8 bits, else 2; signed for signed and bipolar). */
#ifndef LOWBIT_TEST_OPERANDS_H
#define LOWBIT_TEST_OPERANDS_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lb_test_fill {
  LB_FILL_RANDOM,
  LB_FILL_MAX, /* every element the largest value */
  LB_FILL_MIN, /* every element the smallest (most negative) value */
  LB_FILL_ONES /* every element 1 (+1 for bipolar, -1 for signed 1-bit: all bits set) */
} lb_test_fill;

int64_t lb_test_min_value(lb_operand op);
int64_t lb_test_max_value(lb_operand op);
size_t lb_test_elem_bytes(lb_operand op);

/* The encodings valid at `bits`: fills enc[] and returns how many (u, s, and b at 1 bit). */
size_t lb_test_encodings(unsigned bits, lb_encoding enc[3]);

/* A rows x cols matrix of `op` values, row stride `stride` elements; free() it. */
void *lb_test_matrix(lb_operand op, size_t rows, size_t cols, size_t stride, lb_test_fill fill,
                     uint64_t *rng);
/* values[i] = element offset + i of m, for i < count. */
void lb_test_decode(lb_operand op, const void *m, size_t offset, size_t count, int64_t *values);

/* xorshift64*: the same sequence on every target. */
uint64_t lb_test_random(uint64_t *state);

#ifdef __cplusplus
}
#endif

#endif
