#include "coverage.h"

#include <stdlib.h>

int lb_test_coverage_open(lb_test_coverage *coverage) {
  const char *path = getenv("LOWBIT_TEST_COVERAGE");
  coverage->file = NULL;
  if (path == NULL || *path == '\0') {
    return 1;
  }
  coverage->file = fopen(path, "w");
  if (coverage->file == NULL) {
    fprintf(stderr, "FAIL cannot write the case counts to %s\n", path);
    return 0;
  }
  return 1;
}

void lb_test_coverage_add(lb_test_coverage *coverage, const char *kernel, size_t cases) {
  if (coverage->file != NULL) {
    fprintf(coverage->file, "%s %zu\n", kernel, cases);
  }
}

int lb_test_coverage_close(lb_test_coverage *coverage) {
  if (coverage->file == NULL) {
    return 1;
  }
  fputs("end\n", coverage->file);
  const int ok = !ferror(coverage->file);
  return fclose(coverage->file) == 0 && ok;
}
