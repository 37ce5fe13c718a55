#include "reference.h"

void lb_reference_gemm(lb_operand aop, lb_operand wop, size_t m, size_t n, size_t k, const void *a,
                       size_t lda, const void *w, size_t ldw, int64_t *c) {
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      int64_t sum = 0;
      for (size_t p = 0; p < k; p++) {
        sum += lb_test_get(aop, a, i * lda + p) * lb_test_get(wop, w, j * ldw + p);
      }
      c[i * n + j] = sum;
    }
  }
}
