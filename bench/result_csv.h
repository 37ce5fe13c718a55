/* Reading one result file of lowbit-bench-gemm, written with --benchmark_out=FILE
 * --benchmark_out_format=csv: the run's context and one rate per benchmark row. */
#ifndef LOWBIT_BENCH_RESULT_CSV_H
#define LOWBIT_BENCH_RESULT_CSV_H

#include <stddef.h>

typedef struct lbc_row {
  char *name;       /* "<config>/<route>" or "baseline": the registered name, without Google
                       Benchmark's suffixes (/repeats:5, /real_time, _median) */
  char *kernel;     /* the row's label: the kernel that ran */
  unsigned pairs;   /* the "pairs" counter */
  double ops;       /* the median of the "OPS" counter over the row's repetitions */
  double cpu_share; /* cpu_time / real_time of the same: below 1 when the run lost its CPU */
  int line;         /* where the row's value comes from */
} lbc_row;

typedef struct lbc_result {
  const char *path;
  char *cpu;   /* lb_cpu_description() of the run, "x86-64 avx2 (znver3)" */
  char *shape; /* MxNxK */
  char *threads;
  lbc_row *rows;
  size_t count;
} lbc_result;

/* Reads `path` into `result`. On bad input returns 0 with a one-line message naming the file and
 * the line in error[size]; result then holds nothing to free. */
int lbc_read_result(const char *path, lbc_result *result, char *error, size_t size);
void lbc_free_result(lbc_result *result);

#endif
