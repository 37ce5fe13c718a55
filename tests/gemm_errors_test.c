/* lb_gemm's refusals: every invalid argument gives LB_INVALID_ARGUMENT and a kernel given for
 * operands it cannot compute gives LB_NO_KERNEL, each leaving C as it was; then lb_status_string.
 * ctest also runs it with LOWBIT_ISA=generic, where the SIMD kernels must be refused too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/lowbit.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

/* Room for the largest operands and C of any call below. */
enum { M = 3, N = 5, K = 17, LD = K + 2, LDC = N + 1 };

static const int64_t sentinel = INT64_C(0x5a5a5a5a5a5a5a5a);

typedef struct call {
  lb_gemm_desc desc;
  int null_desc; /* pass NULL instead of &desc */
  size_t m, n, k;
  const void *a;
  size_t lda;
  const void *w;
  size_t ldw;
  int64_t *c;
  size_t ldc;
} call;

static unsigned failures;

static void fill_sentinel(int64_t *c) {
  for (size_t i = 0; i < (size_t)M * LDC; i++) {
    c[i] = sentinel;
  }
}

/* Runs the call, which must return `expected` and write nothing to C. */
static void expect(const char *what, call cl, lb_status expected) {
  int64_t *c = cl.c;
  const lb_status got = lb_gemm(cl.null_desc ? NULL : &cl.desc, cl.m, cl.n, cl.k, cl.a, cl.lda,
                                cl.w, cl.ldw, c, cl.ldc);
  if (got != expected) {
    fprintf(stderr, "FAIL %s: status %d (%s), expected %d\n", what, (int)got, lb_status_string(got),
            (int)expected);
    failures++;
  }
  for (size_t i = 0; c != NULL && i < (size_t)M * LDC; i++) {
    if (c[i] != sentinel) {
      fprintf(stderr, "FAIL %s: C[%zu] written although the call failed\n", what, i);
      failures++;
      fill_sentinel(c);
      break;
    }
  }
}

/* Whether a kernel built for encoding `kernel_encoding` refuses an operand: a bit-serial AND
 * kernel for 1-bit unsigned planes takes bipolar ones and the other way round (docs/design.md,
 * section 11: the one plane of either has weight +1). */
static int encoding_refused(const lb_gemm_kernel_info *kernel, int kernel_encoding, lb_operand op) {
  if (kernel_encoding == 0 || kernel_encoding == (int)op.encoding) {
    return 0;
  }
  const int one_bit_planes = (kernel_encoding == LB_UNSIGNED || kernel_encoding == LB_BIPOLAR) &&
                             (op.encoding == LB_UNSIGNED || op.encoding == LB_BIPOLAR);
  return !(kernel->strategy == LB_STRATEGY_BITSERIAL && op.bits == 1 && one_bit_planes);
}

/* A kernel no configuration check could accept for these operands, from the kernel's own
 * description: the ISA is absent, the bits or encodings differ from its constant ones, or it is
 * the XOR kernel and an operand is not bipolar. */
static int plainly_unsupported(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w) {
  return !lb_cpu_has_isa(kernel->isa) || (kernel->abits != 0 && kernel->abits != a.bits) ||
         (kernel->wbits != 0 && kernel->wbits != w.bits) ||
         encoding_refused(kernel, kernel->aenc, a) || encoding_refused(kernel, kernel->wenc, w) ||
         (kernel->strategy == LB_STRATEGY_BITSERIAL_XOR &&
          (a.encoding != LB_BIPOLAR || w.encoding != LB_BIPOLAR));
}

static void invalid_arguments(call valid) {
  call cl = valid;
  cl.null_desc = 1;
  expect("NULL descriptor", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.a = NULL;
  expect("NULL A", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.w = NULL;
  expect("NULL W", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.c = NULL;
  expect("NULL C", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.m = 0;
  expect("M = 0", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.n = 0;
  expect("N = 0", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.k = 0;
  expect("K = 0", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.lda = cl.k - 1;
  expect("lda < K", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.ldw = cl.k - 1;
  expect("ldw < K", cl, LB_INVALID_ARGUMENT);
  cl = valid, cl.ldc = cl.n - 1;
  expect("ldc < N", cl, LB_INVALID_ARGUMENT);

  static const lb_operand bad_operands[] = {
      {0, LB_UNSIGNED}, {17, LB_UNSIGNED}, {0, LB_SIGNED},        {17, LB_SIGNED},
      {2, LB_BIPOLAR},  {16, LB_BIPOLAR},  {2, (lb_encoding)'x'}, {1, (lb_encoding)0},
  };
  for (size_t i = 0; i < COUNT(bad_operands); i++) {
    char what[64];
    snprintf(what, sizeof what, "A with %u bits, encoding %d", bad_operands[i].bits,
             (int)bad_operands[i].encoding);
    cl = valid, cl.desc.a = bad_operands[i];
    expect(what, cl, LB_INVALID_ARGUMENT);
    what[0] = 'W';
    cl = valid, cl.desc.w = bad_operands[i];
    expect(what, cl, LB_INVALID_ARGUMENT);
  }

  /* 1 is the kernel-side LB_STRATEGY_BITSERIAL_XOR, an easy mix-up; 3 is past every value. */
  static const int bad_strategies[] = {LB_STRATEGY_BITSERIAL_XOR, 3, -2};
  for (size_t i = 0; i < COUNT(bad_strategies); i++) {
    char what[32];
    snprintf(what, sizeof what, "strategy %d", bad_strategies[i]);
    cl = valid, cl.desc.strategy = (lb_strategy_choice)bad_strategies[i];
    expect(what, cl, LB_INVALID_ARGUMENT);
  }

  /* An exact C beyond int64: 16-bit codes reach 2^32 per product, so K = 2^33 overflows. The
   * operands are too short for that K: lb_gemm must refuse before it reads them. Such a K needs a
   * 64-bit size_t. */
#if SIZE_MAX > UINT32_MAX
  cl = valid;
  cl.desc.a = (lb_operand){16, LB_UNSIGNED};
  cl.desc.w = (lb_operand){16, LB_UNSIGNED};
  cl.m = 1, cl.n = 1;
  cl.k = cl.lda = cl.ldw = (size_t)1 << 33;
  expect("a result too large for int64", cl, LB_INVALID_ARGUMENT);
#endif
}

/* Every kernel, given for operands it plainly cannot compute. Returns how many calls were made. */
static size_t unsupported_kernels(call valid) {
  static const lb_operand operands[] = {{1, LB_UNSIGNED}, {1, LB_BIPOLAR}, {2, LB_UNSIGNED},
                                        {3, LB_SIGNED},   {8, LB_SIGNED},  {16, LB_UNSIGNED}};
  size_t calls = 0;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    for (size_t ia = 0; ia < COUNT(operands); ia++) {
      for (size_t iw = 0; iw < COUNT(operands); iw++) {
        if (!plainly_unsupported(kernel, operands[ia], operands[iw])) {
          continue;
        }
        char what[160];
        snprintf(what, sizeof what, "%s for a%u%c x w%u%c", kernel->name, operands[ia].bits,
                 (char)operands[ia].encoding, operands[iw].bits, (char)operands[iw].encoding);
        if (lb_gemm_kernel_supports(kernel, operands[ia], operands[iw])) {
          fprintf(stderr, "FAIL lb_gemm_kernel_supports accepts %s\n", what);
          failures++;
        }
        call cl = valid;
        cl.desc.a = operands[ia];
        cl.desc.w = operands[iw];
        cl.desc.kernel = kernel;
        expect(what, cl, LB_NO_KERNEL);
        calls++;
      }
    }
  }
  return calls;
}

/* A caller's own kernel description that the driver could not call. */
static void malformed_kernel(call valid) {
  const lb_gemm_kernel_info *model = lb_gemm_select(valid.desc.a, valid.desc.w, LB_AUTO, valid.k);
  if (model == NULL) {
    fprintf(stderr, "FAIL no kernel for the valid call\n");
    failures++;
    return;
  }
  lb_gemm_kernel_info broken = *model;
  broken.ukernel = NULL;
  call cl = valid;
  cl.desc.kernel = &broken;
  expect("a kernel without a micro-kernel", cl, LB_NO_KERNEL);
  broken = *model;
  broken.mr = 0;
  expect("a kernel with a zero tile", cl, LB_NO_KERNEL);
}

static void status_strings(void) {
  static const lb_status statuses[] = {LB_OK, LB_INVALID_ARGUMENT, LB_NO_KERNEL, LB_OUT_OF_MEMORY,
                                       (lb_status)99};
  for (size_t i = 0; i < COUNT(statuses); i++) {
    const char *text = lb_status_string(statuses[i]);
    if (text == NULL || *text == '\0') {
      fprintf(stderr, "FAIL lb_status_string(%d) is empty\n", (int)statuses[i]);
      failures++;
      continue;
    }
    printf("%3d: %s\n", (int)statuses[i], text);
    for (size_t j = 0; j < i; j++) {
      if (strcmp(text, lb_status_string(statuses[j])) == 0) {
        fprintf(stderr, "FAIL statuses %d and %d read the same\n", (int)statuses[j],
                (int)statuses[i]);
        failures++;
      }
    }
  }
}

int main(void) {
  printf("cpu: %s\n", lb_cpu_description());
  const lb_operand aop = {2, LB_UNSIGNED}, wop = {3, LB_SIGNED};
  /* Zeros, a value of every encoding the successful call uses, in room for 16-bit elements. */
  void *a = calloc((size_t)M * LD, sizeof(int16_t));
  void *w = calloc((size_t)N * LD, sizeof(int16_t));
  int64_t *c = malloc((size_t)M * LDC * sizeof *c);
  if (a == NULL || w == NULL || c == NULL) {
    fprintf(stderr, "FAIL out of memory\n");
    return 1;
  }
  const call valid = {{aop, wop, LB_AUTO, NULL, 1}, 0, M, N, K, a, LD, w, LD, c, LDC};
  /* The valid call succeeds, so each refusal below is due to the one argument it changes. */
  if (lb_gemm(&valid.desc, M, N, K, a, LD, w, LD, c, LDC) != LB_OK) {
    fprintf(stderr, "FAIL the valid call fails\n");
    failures++;
  }
  fill_sentinel(c);
  invalid_arguments(valid);
  const size_t refused = unsupported_kernels(valid);
  if (refused == 0) {
    fprintf(stderr, "FAIL no kernel was given operands it cannot compute\n");
    failures++;
  }
  malformed_kernel(valid);
  status_strings();
  printf("%zu kernel refusals checked, %u failures\n", refused, failures);
  free(a);
  free(w);
  free(c);
  return failures == 0 ? 0 : 1;
}
