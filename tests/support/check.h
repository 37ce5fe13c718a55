/* Runs one lb_gemm case and compares every element of C with the reference. */
#ifndef LOWBIT_TEST_CHECK_H
#define LOWBIT_TEST_CHECK_H

#include <stddef.h>

#include "operands.h"

typedef struct lb_test_case {
  const lb_gemm_kernel_info *kernel; /* NULL: lb_gemm chooses by strategy */
  lb_strategy_choice strategy;
  lb_operand a, w;
  size_t m, n, k;
  lb_test_fill afill, wfill;
  unsigned threads;
} lb_test_case;

/* 1 when C equals the reference (and its type is sound for the bound); prints why not. */
int lb_test_check(const lb_test_case *tc, uint64_t *rng);

const char *lb_test_fill_name(lb_test_fill fill);

#endif
