/* Every built kernel against the reference: each bit pair with this abits, every encoding the
 * kernel accepts, odd shapes, random and extreme values; then lb_gemm's own choice per strategy,
 * which must exist for every configuration. Usage: lowbit-test-gemm-exact ABITS */
#include <stdio.h>
#include <stdlib.h>

#include "support/check.h"
#include "support/coverage.h"

typedef struct shape {
  size_t m, n, k;
} shape;

/* Every size of the issue (1, 3, 7, 17, 63, 65, 127, 1000) in each of M, N and K, at a cost that
 * QEMU can afford for every configuration. */
static const shape shapes[] = {
    {1, 1, 1},   {3, 7, 17},   {7, 3, 63},   {17, 65, 7},  {63, 5, 127},
    {65, 17, 3}, {127, 3, 65}, {5, 9, 1000}, {1000, 2, 5}, {2, 127, 17},
};
/* Extreme values on the shapes with partial tiles in M and N and the longest K. */
static const shape extreme_shapes[] = {{3, 7, 17}, {17, 65, 7}, {5, 9, 1000}};
static const lb_test_fill extreme_fills[][2] = {{LB_FILL_MAX, LB_FILL_MIN},
                                                {LB_FILL_MIN, LB_FILL_MIN}};

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))
/* K of the calls that let lb_gemm choose: above 256, the smallest class lowbit-tune writes. */
#define CHOSEN_K 300

typedef struct tally {
  size_t passed, failed;
} tally;

static void record(tally *t, int ok) {
  if (ok) {
    t->passed++;
  } else {
    t->failed++;
  }
}

/* One configuration through `kernel` (NULL: lb_gemm's choice): random values on every shape, then
 * the extremes. */
static void run_configuration(tally *t, const lb_gemm_kernel_info *kernel,
                              lb_strategy_choice strategy, lb_operand a, lb_operand w,
                              uint64_t *rng) {
  for (size_t s = 0; s < COUNT(shapes); s++) {
    const lb_test_case tc = {kernel,
                             strategy,
                             a,
                             w,
                             shapes[s].m,
                             shapes[s].n,
                             shapes[s].k,
                             LB_FILL_RANDOM,
                             LB_FILL_RANDOM,
                             1 + (unsigned)(s % 2)};
    record(t, lb_test_check(&tc, rng));
  }
  for (size_t s = 0; s < COUNT(extreme_shapes); s++) {
    for (size_t f = 0; f < COUNT(extreme_fills); f++) {
      const lb_test_case tc = {kernel,
                               strategy,
                               a,
                               w,
                               extreme_shapes[s].m,
                               extreme_shapes[s].n,
                               extreme_shapes[s].k,
                               extreme_fills[f][0],
                               extreme_fills[f][1],
                               1};
      record(t, lb_test_check(&tc, rng));
    }
  }
}

/* LB_BITSERIAL and LB_DIRECT choose within their family; LB_AUTO takes one of those two choices. */
static int chosen_as_asked(const lb_gemm_kernel_info *kernel, lb_strategy_choice strategy,
                           lb_operand a, lb_operand w, size_t k) {
  switch (strategy) {
  case LB_BITSERIAL:
    return kernel->strategy == LB_STRATEGY_BITSERIAL ||
           kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
  case LB_DIRECT: return kernel->strategy == LB_STRATEGY_DIRECT;
  case LB_AUTO:
    return kernel == lb_gemm_select(a, w, LB_BITSERIAL, k) ||
           kernel == lb_gemm_select(a, w, LB_DIRECT, k);
  }
  return 0;
}

int main(int argc, char **argv) {
  char *end = NULL;
  const unsigned long abits = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
  if (argc != 2 || *end != '\0' || abits < 1 || abits > 16) {
    fprintf(stderr, "usage: %s ABITS (1..16)\n", argv[0]);
    return 2;
  }
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 0x9e3779b97f4a7c15u ^ abits;
  tally total = {0, 0};
  lb_test_coverage coverage;
  if (!lb_test_coverage_open(&coverage)) {
    return 1;
  }

  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (!lb_cpu_has_isa(kernel->isa)) {
      printf("skipped %s: this CPU lacks %s\n", kernel->name, kernel->isa);
      continue;
    }
    const tally before = total;
    lb_encoding aenc[3], wenc[3];
    const size_t na = lb_test_encodings((unsigned)abits, aenc);
    for (unsigned wbits = 1; wbits <= 16; wbits++) {
      const size_t nw = lb_test_encodings(wbits, wenc);
      for (size_t ea = 0; ea < na; ea++) {
        for (size_t ew = 0; ew < nw; ew++) {
          const lb_operand a = {(unsigned)abits, aenc[ea]}, w = {wbits, wenc[ew]};
          if (lb_gemm_kernel_supports(kernel, a, w)) {
            run_configuration(&total, kernel, LB_AUTO, a, w, &rng);
          }
        }
      }
    }
    const size_t cases = total.passed + total.failed - before.passed - before.failed;
    printf("%-48s %6zu cases\n", kernel->name, cases);
    lb_test_coverage_add(&coverage, kernel->name, cases);
  }
  if (!lb_test_coverage_close(&coverage)) {
    fprintf(stderr, "FAIL writing the case counts\n");
    total.failed++;
  }

  /* Coverage: both strategies must serve every bit pair and encoding, each with a kernel of its
   * own family; lb_gemm's result alone would not show a fallback to the other. */
  const lb_strategy_choice strategies[] = {LB_BITSERIAL, LB_DIRECT, LB_AUTO};
  lb_encoding aenc[3], wenc[3];
  const size_t na = lb_test_encodings((unsigned)abits, aenc);
  for (size_t s = 0; s < COUNT(strategies); s++) {
    for (unsigned wbits = 1; wbits <= 16; wbits++) {
      const size_t nw = lb_test_encodings(wbits, wenc);
      for (size_t ea = 0; ea < na; ea++) {
        for (size_t ew = 0; ew < nw; ew++) {
          const lb_operand a = {(unsigned)abits, aenc[ea]}, w = {wbits, wenc[ew]};
          const lb_gemm_kernel_info *chosen = lb_gemm_select(a, w, strategies[s], CHOSEN_K);
          if (chosen == NULL) {
            fprintf(stderr, "FAIL no kernel for a%u%c x w%u%c, strategy %d\n", a.bits,
                    (char)a.encoding, w.bits, (char)w.encoding, (int)strategies[s]);
            total.failed++;
            continue;
          }
          if (!chosen_as_asked(chosen, strategies[s], a, w, CHOSEN_K) ||
              !lb_gemm_kernel_supports(chosen, a, w)) {
            fprintf(stderr, "FAIL strategy %d chose %s for a%u%c x w%u%c\n", (int)strategies[s],
                    chosen->name, a.bits, (char)a.encoding, w.bits, (char)w.encoding);
            total.failed++;
          }
          const lb_test_case tc = {NULL,           strategies[s],  a, w, 9, 11, CHOSEN_K,
                                   LB_FILL_RANDOM, LB_FILL_RANDOM, 2};
          record(&total, lb_test_check(&tc, &rng));
        }
      }
    }
  }
  printf("%zu passed, %zu failed\n", total.passed, total.failed);
  return total.failed == 0 ? 0 : 1;
}
