/* The per-kernel case counts a GEMM test leaves for the suite-wide check that every kernel ran
 * (gemm_coverage_test.c). Written only when LOWBIT_TEST_COVERAGE names a file, as ctest sets it.
 * Format: one "<kernel name> <cases>" line per kernel, then "end", so a test that died midway
 * leaves a file the check rejects. */
#ifndef LOWBIT_TEST_COVERAGE_H
#define LOWBIT_TEST_COVERAGE_H

#include <stddef.h>
#include <stdio.h>

typedef struct lb_test_coverage {
  FILE *file; /* NULL when nothing is recorded */
} lb_test_coverage;

/* Truncates the file at once, so no earlier run's counts survive this one; 0 if it cannot. */
int lb_test_coverage_open(lb_test_coverage *coverage);
void lb_test_coverage_add(lb_test_coverage *coverage, const char *kernel, size_t cases);
/* Writes the end mark; 0 if any write failed. */
int lb_test_coverage_close(lb_test_coverage *coverage);

#endif
