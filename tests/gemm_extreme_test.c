/* The overflow cases peers got wrong (REFERENCE.md section 4): all-ones, all-max and
 * most-negative operands at one long K, through every built kernel that accepts the
 * configuration. Random data rarely reaches these bounds.
 * Usage: lowbit-test-gemm-extreme K   (ctest runs K = 4096, 4608, 8192, 65536 and 2^20) */
#include <stdio.h>
#include <stdlib.h>

#include "support/check.h"
#include "support/coverage.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static const unsigned bit_pairs[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2},  {3, 1},  {1, 3},  {3, 3},
                                        {4, 4}, {7, 7}, {8, 8}, {5, 11}, {16, 1}, {16, 16}};
static const lb_test_fill fills[][2] = {{LB_FILL_ONES, LB_FILL_ONES},
                                        {LB_FILL_MAX, LB_FILL_MAX},
                                        {LB_FILL_MIN, LB_FILL_MIN},
                                        {LB_FILL_MIN, LB_FILL_MAX}};

/* Past K = 8192 (every narrow counter's flush interval is passed by then) the narrowest pairs,
 * the widest and the paper's 2-bit pair carry the check, with matching encodings: QEMU runs
 * these too. Direct kernels also take 8 x 8 bits there, whose int32 runs (65792 K for VNNI's
 * u8s8) the longest K passes. */
static int checked_at(size_t k, const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w) {
  if (k <= 8192) {
    return 1;
  }
  const int direct8 = a.bits == 8 && kernel->strategy == LB_STRATEGY_DIRECT;
  return a.bits == w.bits && (a.bits <= 2 || a.bits == 16 || direct8) && a.encoding == w.encoding;
}

int main(int argc, char **argv) {
  char *end = NULL;
  const unsigned long long k = argc == 2 ? strtoull(argv[1], &end, 10) : 0;
  if (argc != 2 || *end != '\0' || k < 1 || k > (1u << 24)) {
    fprintf(stderr, "usage: %s K (1..2^24)\n", argv[0]);
    return 2;
  }
  printf("cpu: %s\n", lb_cpu_description());
  uint64_t rng = 42;
  size_t passed = 0, failed = 0;
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
    const size_t before = passed + failed;
    for (size_t p = 0; p < COUNT(bit_pairs); p++) {
      lb_encoding aenc[3], wenc[3];
      const size_t na = lb_test_encodings(bit_pairs[p][0], aenc);
      const size_t nw = lb_test_encodings(bit_pairs[p][1], wenc);
      for (size_t ea = 0; ea < na; ea++) {
        for (size_t ew = 0; ew < nw; ew++) {
          const lb_operand a = {bit_pairs[p][0], aenc[ea]}, w = {bit_pairs[p][1], wenc[ew]};
          if (!lb_gemm_kernel_supports(kernel, a, w) || !checked_at((size_t)k, kernel, a, w)) {
            continue;
          }
          /* 3 x 5: partial tiles on every kernel; K and the fills carry the overflow. Past
           * 65536 one row by two columns and the two largest products suffice. */
          const int longest = k > 65536;
          for (size_t f = longest ? 1 : 0; f < (longest ? 3 : COUNT(fills)); f++) {
            const lb_test_case tc = {
                kernel,          LB_AUTO,   a,           w,           longest ? 1 : 3,
                longest ? 2 : 5, (size_t)k, fills[f][0], fills[f][1], 1};
            if (lb_test_check(&tc, &rng)) {
              passed++;
            } else {
              failed++;
            }
          }
        }
      }
    }
    printf("%-48s %6zu cases\n", kernel->name, passed + failed - before);
    lb_test_coverage_add(&coverage, kernel->name, passed + failed - before);
  }
  if (!lb_test_coverage_close(&coverage)) {
    fprintf(stderr, "FAIL writing the case counts\n");
    failed++;
  }
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
