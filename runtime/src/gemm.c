/* lb_gemm: validate, pick the kernel, plan, pack, drive. The arguments are checked here once;
 * selection and planning take them as valid. C is written only once every check has passed and
 * the panels are allocated, so an error leaves it untouched. */
#include "codes.h"
#include "lowbit/lowbit.h"
#include "plan.h"
#include "select.h"
#include "threadpool.h"

/* A call left to choose its threads gets one per this many multiply-adds, at least one: below it,
 * waking a worker costs about as much as the work it takes over. */
#define LB_MIN_MACS_PER_THREAD ((uint64_t)1 << 18)

static int lb_gemm_arguments_valid(const lb_gemm_desc *desc, size_t m, size_t n, size_t k,
                                   const void *a, size_t lda, const void *w, size_t ldw,
                                   const void *c, size_t ldc) {
  return desc != NULL && lb_operand_is_valid(desc->a) && lb_operand_is_valid(desc->w) &&
         lb_strategy_choice_is_valid(desc->strategy) && m >= 1 && n >= 1 && k >= 1 && a != NULL &&
         w != NULL && c != NULL && lda >= k && ldw >= k && ldc >= n;
}

unsigned lb_gemm_threads(unsigned requested, size_t m, size_t n, size_t k) {
  uint64_t macs;
  if (__builtin_mul_overflow((uint64_t)m, (uint64_t)n, &macs) ||
      __builtin_mul_overflow(macs, (uint64_t)k, &macs)) {
    macs = UINT64_MAX;
  }
  return lb_threads_for_work(requested, macs, LB_MIN_MACS_PER_THREAD);
}

lb_status lb_gemm(const lb_gemm_desc *desc, size_t m, size_t n, size_t k, const void *a, size_t lda,
                  const void *w, size_t ldw, void *c, size_t ldc) {
  if (!lb_gemm_arguments_valid(desc, m, n, k, a, lda, w, ldw, c, ldc)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_gemm_kernel_info *kernel = desc->kernel;
  if (kernel == NULL) {
    kernel = lb_kernel_choice(desc->a, desc->w, desc->strategy, k);
  } else if (!lb_kernel_accepts(kernel, desc->a, desc->w)) {
    kernel = NULL;
  }
  if (kernel == NULL) {
    return LB_NO_KERNEL;
  }

  const lb_gemm_problem problem = {.a_operand = desc->a,
                                   .w_operand = desc->w,
                                   .m = m,
                                   .n = n,
                                   .k = k,
                                   .a = a,
                                   .lda = lda,
                                   .w = w,
                                   .ldw = ldw,
                                   .c = c,
                                   .ldc = ldc};
  const unsigned threads = lb_gemm_threads(desc->threads, m, n, k);
  lb_gemm_plan plan;
  const lb_status status = lb_gemm_plan_init(&plan, kernel, &problem, threads);
  if (status != LB_OK) {
    lb_gemm_plan_release(&plan);
    return status;
  }
  lb_parallel_for(threads, lb_pack_item_count(&plan), lb_pack_item, &plan);
  lb_parallel_for(threads, lb_drive_item_count(&plan), lb_drive_item, &plan);
  lb_gemm_plan_release(&plan);
  return LB_OK;
}
