/* A first program against an installed liblowbit: 2-bit activations times 1-bit (+1/-1) weights,
 * C[M x N] = A[M x K] * W[N x K]^T, checked against a plain loop.
 * Build: cc example.c $(pkg-config --cflags --libs lowbit), or find_package(lowbit) in CMake. */
#include <stdint.h>
#include <stdio.h>

#include <lowbit/lowbit.h>

enum { M = 3, N = 4, K = 100 };

int main(void)
{
  static uint8_t a[M][K]; /* 2-bit unsigned: 0..3, one per byte */
  static int8_t w[N][K];  /* 1-bit bipolar: -1 or +1, one per byte */
  static int32_t c[M][N];
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++)
      a[i][k] = (uint8_t)((i * 7 + k * 3) % 4);
  for (int j = 0; j < N; j++)
    for (int k = 0; k < K; k++)
      w[j][k] = (j + k) % 3 ? 1 : -1;

  lb_gemm_desc desc = {
    .a = {2, LB_UNSIGNED}, .w = {1, LB_BIPOLAR}, .strategy = LB_AUTO, .kernel = NULL, .threads = 1};
  if (lb_gemm_output_type(desc.a, desc.w, K) != LB_OUT_INT32) {
    fprintf(stderr, "expected int32 results at K = %d\n", K);
    return 1;
  }
  lb_status status = lb_gemm(&desc, M, N, K, a, K, w, K, c, N);
  if (status != LB_OK) {
    fprintf(stderr, "lb_gemm: %s\n", lb_status_string(status));
    return 1;
  }

  const lb_gemm_kernel_info *kernel = lb_gemm_select(desc.a, desc.w, desc.strategy);
  printf("%s, kernel %s\n", lb_cpu_description(), kernel ? kernel->name : "?");
  int wrong = 0;
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      int32_t expected = 0;
      for (int k = 0; k < K; k++)
        expected += a[i][k] * w[j][k];
      wrong += c[i][j] != expected;
      printf(" %5d", (int)c[i][j]);
    }
    printf("\n");
  }
  if (wrong) {
    printf("%d results differ from the plain loop\n", wrong);
    return 1;
  }
  printf("matches the plain loop\n");
  return 0;
}
