/* lb_gemm on 1 thread up to more than the machine has: shapes with fewer panels than threads, a
 * single row and enough tiles for every thread, each against the reference, each kernel traced so
 * that no more threads than asked run it (support/check.c).
 * Usage: lowbit-test-gemm-threads        threads 1, 2, 3, the online CPUs, twice that + 1, 64
 *        lowbit-test-gemm-threads env    threads 0, so that LOWBIT_THREADS (which must be set)
 *                                        decides */
/* sysconf() is POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/check.h"
#include "support/trace.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct shape {
  size_t m, n, k;
} shape;

/* One A panel and two W panels at most; one row of A; more tiles than 64 threads take, at a K
 * long enough for lb_gemm to give threads = 0 every thread LOWBIT_THREADS allows (one per 2^18
 * multiply-adds). */
static const shape shapes[] = {{3, 5, 70}, {1, 33, 300}, {130, 130, 128}};

static const lb_operand operands[][2] = {
    {{2, LB_UNSIGNED}, {1, LB_UNSIGNED}}, /* bit-serial, constant planes */
    {{1, LB_BIPOLAR}, {1, LB_BIPOLAR}},   /* XOR */
    {{3, LB_SIGNED}, {5, LB_UNSIGNED}},   /* planes at run time, or direct */
    {{8, LB_SIGNED}, {8, LB_SIGNED}},     /* direct 8-bit */
    {{16, LB_SIGNED}, {16, LB_UNSIGNED}}, /* direct 16-bit, int64 C */
};

static const lb_strategy_choice strategies[] = {LB_BITSERIAL, LB_DIRECT};

int main(int argc, char **argv) {
  const int from_environment = argc == 2 && strcmp(argv[1], "env") == 0;
  if (argc > 2 || (argc == 2 && !from_environment) ||
      (from_environment && getenv("LOWBIT_THREADS") == NULL)) {
    fprintf(stderr, "usage: %s [env]   (env: with LOWBIT_THREADS set)\n", argv[0]);
    return 2;
  }
  printf("cpu: %s\n", lb_cpu_description());
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const unsigned cpus = online >= 1 ? (unsigned)online : 1;
  const unsigned counts[] = {1, 2, 3, cpus, 2 * cpus + 1, 64};
  const unsigned environment_counts[] = {0};
  const unsigned *threads = from_environment ? environment_counts : counts;
  const size_t thread_counts = from_environment ? COUNT(environment_counts) : COUNT(counts);
  if (from_environment) {
    printf("LOWBIT_THREADS=%s: at most %u threads\n", getenv("LOWBIT_THREADS"),
           lb_test_thread_limit(0));
  }

  uint64_t rng = 3;
  size_t passed = 0, failed = 0;
  for (size_t t = 0; t < thread_counts; t++) {
    for (size_t s = 0; s < COUNT(shapes); s++) {
      for (size_t o = 0; o < COUNT(operands); o++) {
        for (size_t st = 0; st < COUNT(strategies); st++) {
          const lb_operand a = operands[o][0], w = operands[o][1];
          const lb_gemm_kernel_info *kernel =
              lb_gemm_select(a, w, strategies[st], shapes[s].k);
          const lb_test_case tc = {kernel,         strategies[st], a,           w,
                                   shapes[s].m,    shapes[s].n,    shapes[s].k, LB_FILL_RANDOM,
                                   LB_FILL_RANDOM, threads[t]};
          if (kernel == NULL) {
            fprintf(stderr, "FAIL no kernel of strategy %d for a%u%c x w%u%c\n",
                    (int)strategies[st], a.bits, (char)a.encoding, w.bits, (char)w.encoding);
            failed++;
          } else if (lb_test_check(&tc, &rng)) {
            passed++;
          } else {
            failed++;
          }
        }
      }
    }
    printf("threads %u: %zu cases so far\n", threads[t], passed + failed);
  }
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
