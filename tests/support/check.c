#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"
#include "trace.h"

const char *lb_test_fill_name(lb_test_fill fill) {
  switch (fill) {
  case LB_FILL_RANDOM: return "random";
  case LB_FILL_MAX: return "max";
  case LB_FILL_MIN: return "min";
  case LB_FILL_ONES: return "ones";
  }
  return "?";
}

static int64_t magnitude(int64_t v) { return v < 0 ? -v : v; }

/* The worst-case |C| from first principles, independent of the runtime's own bound. */
static int output_must_be_64(const lb_test_case *tc) {
  const int64_t amax = magnitude(lb_test_min_value(tc->a)) > lb_test_max_value(tc->a)
                           ? magnitude(lb_test_min_value(tc->a))
                           : lb_test_max_value(tc->a);
  const int64_t wmax = magnitude(lb_test_min_value(tc->w)) > lb_test_max_value(tc->w)
                           ? magnitude(lb_test_min_value(tc->w))
                           : lb_test_max_value(tc->w);
  return (double)tc->k * (double)amax * (double)wmax > (double)INT32_MAX;
}

static void describe(const lb_test_case *tc, const char *why) {
  fprintf(stderr,
          "FAIL %s: kernel %s strategy %d a%u%c x w%u%c m=%zu n=%zu k=%zu fills %s/%s threads %u\n",
          why, tc->kernel ? tc->kernel->name : "(auto)", (int)tc->strategy, tc->a.bits,
          (char)tc->a.encoding, tc->w.bits, (char)tc->w.encoding, tc->m, tc->n, tc->k,
          lb_test_fill_name(tc->afill), lb_test_fill_name(tc->wfill), tc->threads);
}

/* Every tile of C takes at least one micro-kernel call; one thread means the caller's own. */
static int traced_as_allowed(const lb_test_case *tc, lb_test_trace trace) {
  const size_t tiles = (tc->m + tc->kernel->mr - 1) / tc->kernel->mr *
                       ((tc->n + tc->kernel->nr - 1) / tc->kernel->nr);
  const unsigned limit = lb_test_thread_limit(tc->threads);
  if (trace.calls < tiles) {
    describe(tc, "the given kernel did not compute every tile");
    fprintf(stderr, "  %zu micro-kernel calls for %zu tiles\n", trace.calls, tiles);
    return 0;
  }
  if (trace.threads > limit || (limit == 1 && !trace.caller)) {
    describe(tc, "more threads than allowed");
    fprintf(stderr, "  %u threads ran the micro-kernel (the caller %s), at most %u allowed\n",
            trace.threads, trace.caller ? "among them" : "not", limit);
    return 0;
  }
  return 1;
}

int lb_test_check(const lb_test_case *tc, uint64_t *rng) {
  /* Odd strides: kernels must honour lda/ldw/ldc, never assume packed rows. */
  const size_t lda = tc->k + 3, ldw = tc->k + 1, ldc = tc->n + 2;
  void *a = lb_test_matrix(tc->a, tc->m, tc->k, lda, tc->afill, rng);
  void *w = lb_test_matrix(tc->w, tc->n, tc->k, ldw, tc->wfill, rng);
  int64_t *ref = malloc(tc->m * tc->n * sizeof(int64_t));
  int64_t *c = malloc(tc->m * ldc * sizeof(int64_t));
  int ok = a != NULL && w != NULL && ref != NULL && c != NULL;
  if (!ok) {
    describe(tc, "out of memory");
    goto done;
  }

  const lb_out_type out = lb_gemm_output_type(tc->a, tc->w, tc->k);
  if (out == LB_OUT_INT32 && output_must_be_64(tc)) {
    describe(tc, "int32 output for a bound that needs int64");
    ok = 0;
    goto done;
  }
  if (out != LB_OUT_INT32 && !output_must_be_64(tc)) {
    describe(tc, "int64 output where int32 holds the bound");
    ok = 0;
    goto done;
  }

  for (size_t i = 0; i < tc->m * ldc; i++) {
    c[i] = INT64_C(0x5a5a5a5a5a5a5a5a); /* a kernel that skips an element shows up */
  }
  /* A given kernel runs traced: C could be right from another kernel too. */
  const lb_gemm_kernel_info *kernel = tc->kernel != NULL ? lb_test_trace_begin(tc->kernel) : NULL;
  const lb_gemm_desc desc = {tc->a, tc->w, tc->strategy, kernel, tc->threads};
  const lb_status st = lb_gemm(&desc, tc->m, tc->n, tc->k, a, lda, w, ldw, c, ldc);
  if (st != LB_OK) {
    describe(tc, lb_status_string(st));
    ok = 0;
    goto done;
  }
  if (kernel != NULL && !traced_as_allowed(tc, lb_test_trace_end())) {
    ok = 0;
    goto done;
  }
  if (!lb_reference_gemm(tc->a, tc->w, tc->m, tc->n, tc->k, a, lda, w, ldw, ref)) {
    describe(tc, "out of memory");
    ok = 0;
    goto done;
  }
  for (size_t i = 0; i < tc->m && ok; i++) {
    for (size_t j = 0; j < tc->n; j++) {
      const int64_t got = out == LB_OUT_INT32 ? ((const int32_t *)c)[i * ldc + j] : c[i * ldc + j];
      if (got != ref[i * tc->n + j]) {
        describe(tc, "wrong result");
        fprintf(stderr, "  C[%zu][%zu] = %" PRId64 ", expected %" PRId64 "\n", i, j, got,
                ref[i * tc->n + j]);
        ok = 0;
        break;
      }
    }
    for (size_t j = tc->n; j < ldc && ok; j++) {
      const int64_t pad = out == LB_OUT_INT32 ? ((const int32_t *)c)[i * ldc + j] : c[i * ldc + j];
      if (pad != (out == LB_OUT_INT32 ? INT32_C(0x5a5a5a5a) : INT64_C(0x5a5a5a5a5a5a5a5a))) {
        describe(tc, "write past the last column");
        ok = 0;
      }
    }
  }
done:
  free(a);
  free(w);
  free(ref);
  free(c);
  return ok;
}
