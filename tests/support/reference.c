#include "reference.h"

#include <stdlib.h>

/* Values decoded once, so that the product loop stays cheap under QEMU. */
static int64_t *decode(lb_operand op, const void *m, size_t rows, size_t k, size_t ld) {
  int64_t *values = malloc(rows * k * sizeof(int64_t));
  if (values != NULL) {
    for (size_t r = 0; r < rows; r++) {
      lb_test_decode(op, m, r * ld, k, values + r * k);
    }
  }
  return values;
}

int lb_reference_gemm(lb_operand aop, lb_operand wop, size_t m, size_t n, size_t k, const void *a,
                      size_t lda, const void *w, size_t ldw, int64_t *c) {
  int64_t *av = decode(aop, a, m, k, lda);
  int64_t *wv = decode(wop, w, n, k, ldw);
  const int ok = av != NULL && wv != NULL;
  for (size_t i = 0; i < m && ok; i++) {
    for (size_t j = 0; j < n; j++) {
      const int64_t *ar = av + i * k, *wr = wv + j * k;
      int64_t sum = 0;
      for (size_t p = 0; p < k; p++) {
        sum += ar[p] * wr[p];
      }
      c[i * n + j] = sum;
    }
  }
  free(av);
  free(wv);
  return ok;
}
