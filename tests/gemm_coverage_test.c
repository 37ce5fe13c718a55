/* Every built kernel whose ISA this CPU has must have run at least one case somewhere in the
 * suite: a kernel may run none for one abits or one K, but a bound lowered by mistake, a support
 * check that turned false or a kernel dropped from the loops would otherwise pass unnoticed.
 * Sums the case counts the exact and extreme tests leave (support/coverage.h); ctest runs this
 * after them through a fixture. Usage: lowbit-test-gemm-coverage COUNTS_FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/lowbit.h"

/* Longer than any kernel name, so a truncated line cannot pass for a name. */
#define LINE_BYTES 256

/* The registry index of the kernel called `name`, or the kernel count when none is. */
static size_t kernel_index(const char *name) {
  size_t i = 0;
  while (i < lb_gemm_kernel_count() && strcmp(lb_gemm_kernel_at(i)->name, name) != 0) {
    i++;
  }
  return i;
}

/* Adds one file's counts to cases[]; 0 if it is missing, unfinished or names an unknown kernel. */
static int add_counts(const char *path, size_t *cases) {
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    fprintf(stderr, "FAIL no case counts in %s: did its test run?\n", path);
    return 0;
  }
  char line[LINE_BYTES], name[LINE_BYTES];
  int ok = 1, finished = 0;
  while (ok && !finished && fgets(line, sizeof line, file) != NULL) {
    size_t count;
    if (strcmp(line, "end\n") == 0) {
      finished = 1;
    } else if (sscanf(line, "%255s %zu", name, &count) == 2 &&
               kernel_index(name) < lb_gemm_kernel_count()) {
      cases[kernel_index(name)] += count;
    } else {
      fprintf(stderr, "FAIL %s: not a count of a built kernel: %s", path, line);
      ok = 0;
    }
  }
  if (ok && !finished) {
    fprintf(stderr, "FAIL %s ends before its end mark: its test stopped midway\n", path);
    ok = 0;
  }
  fclose(file);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COUNTS_FILE...\n", argv[0]);
    return 2;
  }
  printf("cpu: %s\n", lb_cpu_description());
  /* + 1: calloc(0) may return NULL. */
  size_t *cases = calloc(lb_gemm_kernel_count() + 1, sizeof *cases);
  if (cases == NULL) {
    fprintf(stderr, "FAIL out of memory\n");
    return 1;
  }
  int ok = 1;
  for (int i = 1; i < argc; i++) {
    ok &= add_counts(argv[i], cases);
  }
  size_t covered = 0, uncovered = 0;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (!lb_cpu_has_isa(kernel->isa)) {
      printf("%-48s skipped: this CPU lacks %s\n", kernel->name, kernel->isa);
    } else if (cases[i] == 0) {
      fprintf(stderr, "FAIL %s ran no case in the whole suite\n", kernel->name);
      uncovered++;
    } else {
      printf("%-48s %8zu cases\n", kernel->name, cases[i]);
      covered++;
    }
  }
  printf("%zu kernels ran cases, %zu ran none\n", covered, uncovered);
  free(cases);
  return ok && uncovered == 0 ? 0 : 1;
}
