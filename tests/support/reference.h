/* The plain GEMM every kernel is checked against: one int64 multiply-add per element product. */
#ifndef LOWBIT_TEST_REFERENCE_H
#define LOWBIT_TEST_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "operands.h"

/* c[m * n] = a[m x k] * w[n x k]^T, row strides lda and ldw in elements; 0 if out of memory. */
int lb_reference_gemm(lb_operand aop, lb_operand wop, size_t m, size_t n, size_t k, const void *a,
                      size_t lda, const void *w, size_t ldw, int64_t *c);

#endif
