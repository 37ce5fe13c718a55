/* The runtime follows the schedule database of its CPU (docs/design.md, section 32): for every
 * entry of lb_schedule_rows whose cpu is the one the runtime takes (LOWBIT_CPU), at both ends of
 * the entry's K class, lb_schedule_for gives the entry's kernel and blocks, a plan on that kernel
 * takes the entry's kc, mc and nc, and lb_gemm is exact on a product several blocks wide. An entry
 * whose kernel does not run here must give no schedule. A CPU without entries fails: the test
 * runs under the cpu of a database. */
#include <stdio.h>
#include <string.h>

#include "lowbit/lowbit.h"
#include "plan.h"
#include "select.h"
#include "support/check.h"
#include "tuning.h"

static size_t failures, checks;

static void fail(const lb_schedule_row *row, size_t k, const char *what) {
  fprintf(stderr, "FAIL %s a%u%c w%u%c K=%zu: %s\n", row->kernel, row->a.bits,
          (char)row->a.encoding, row->w.bits, (char)row->w.encoding, k, what);
  failures++;
}

static size_t clamp(size_t value, size_t low, size_t high) {
  return value < low ? low : value > high ? high : value;
}

/* Where the row's K class starts: one past the largest kmax below it of the same cpu and pair. */
static size_t class_start(const lb_schedule_row *row) {
  size_t start = 0;
  for (size_t i = 0; i < lb_schedule_row_count; i++) {
    const lb_schedule_row *other = &lb_schedule_rows[i];
    if (strcmp(other->cpu, row->cpu) == 0 && other->a.bits == row->a.bits &&
        other->a.encoding == row->a.encoding && other->w.bits == row->w.bits &&
        other->w.encoding == row->w.encoding && other->kmax != 0 &&
        (row->kmax == 0 || other->kmax < row->kmax) && other->kmax > start) {
      start = other->kmax;
    }
  }
  return start + 1;
}

/* One block count of the plan against the entry's block (elements; auto is not checked). */
static void check_block(const lb_schedule_row *row, size_t k, const char *name, size_t given,
                        size_t unit, size_t most, size_t planned) {
  if (given == LB_TUNING_AUTO) {
    return;
  }
  checks++;
  if (planned != clamp(given / unit, 1, most)) {
    char what[128];
    snprintf(what, sizeof what, "%s=%zu gives %zu blocks, the plan has %zu", name, given,
             clamp(given / unit, 1, most), planned);
    fail(row, k, what);
  }
}

static void check_row(const lb_schedule_row *row, size_t k, uint64_t *rng) {
  const lb_gemm_kernel_info *kernel = lb_gemm_kernel_by_name(row->kernel);
  if (kernel == NULL) {
    fail(row, k, "not a registered kernel");
    return;
  }
  const lb_schedule *schedule = lb_schedule_for(row->a, row->w, k);
  if (!lb_gemm_kernel_supports(kernel, row->a, row->w)) {
    printf("%s does not run here: the ranking decides\n", row->kernel);
    if (schedule != NULL) {
      fail(row, k, "a schedule whose kernel does not run here");
    }
    return;
  }
  if (schedule == NULL || schedule->kernel != kernel || schedule->kc != row->kc ||
      schedule->mc != row->mc || schedule->nc != row->nc) {
    fail(row, k, "lb_schedule_for does not give the entry");
    return;
  }
  if (lb_gemm_select(row->a, row->w, LB_AUTO, k) != kernel) {
    fail(row, k, "lb_gemm_select does not pick the entry's kernel");
  }
  /* Several blocks of each kind, and partial tiles. */
  const size_t m = 3 * (row->mc != LB_TUNING_AUTO ? row->mc : kernel->mr) + 1;
  const size_t n = 3 * (row->nc != LB_TUNING_AUTO ? row->nc : kernel->nr) + 1;
  const lb_gemm_problem problem = {.a_operand = row->a,
                                   .w_operand = row->w,
                                   .m = m,
                                   .n = n,
                                   .k = k,
                                   .lda = k,
                                   .ldw = k,
                                   .ldc = n};
  lb_gemm_plan plan;
  if (lb_gemm_plan_layout(&plan, kernel, &problem, 1) != LB_OK) {
    fail(row, k, "no plan");
    return;
  }
  check_block(row, k, "kc", row->kc, kernel->kblock, plan.kblocks, plan.kc_blocks);
  check_block(row, k, "mc", row->mc, kernel->mr, plan.a.panels, plan.mc_panels);
  check_block(row, k, "nc", row->nc, kernel->nr, plan.w.panels, plan.nc_panels);
  /* The reference's work bounded, still over more than one block where the entry's are small. */
  const lb_test_case tc = {
      NULL, LB_AUTO,        row->a,         row->w, m < 67 ? m : 67, n < 131 ? n : 131,
      k,    LB_FILL_RANDOM, LB_FILL_RANDOM, 1};
  checks++;
  if (!lb_test_check(&tc, rng)) {
    fail(row, k, "lb_gemm is not exact");
  }
}

int main(void) {
  const char *cpu = lb_cpu_uarch();
  printf("cpu: %s; schedules of %s\n", lb_cpu_description(), cpu);
  uint64_t rng = 0x5c4ed01e;
  size_t entries = 0;
  for (size_t i = 0; i < lb_schedule_row_count; i++) {
    const lb_schedule_row *row = &lb_schedule_rows[i];
    if (strcmp(row->cpu, cpu) != 0) {
      continue;
    }
    entries++;
    const size_t start = class_start(row);
    check_row(row, start, &rng);
    if (row->kmax != 0 && row->kmax != start) {
      check_row(row, row->kmax, &rng);
    }
  }
  if (entries == 0) {
    fprintf(stderr, "FAIL no schedule entry for %s\n", cpu);
    failures++;
  }
  printf("%zu entries, %zu checks, %zu failed\n", entries, checks, failures);
  return failures == 0 ? 0 : 1;
}
