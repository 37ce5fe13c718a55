/* The encoding corrections of design.md section 2: the kernels leave the raw code sums T in C, and
 * each element becomes T * t_scale + rsA[m] * a_sum_scale + csW[n] * w_sum_scale + constant.
 * In int64, lb_codes_fit_int64 has bounded every partial sum. In an int32 C, T may have wrapped
 * (its codes can outgrow the values), so the int32 form works modulo 2^32: lb_gemm_output_type
 * guarantees that the exact result fits int32, so its residue is the result. */
#include "plan.h"

static void lb_correct_int32(const lb_gemm_plan *plan, size_t row_begin, size_t row_end,
                             size_t col_begin, size_t col_end) {
  const lb_correction *correction = &plan->correction;
  for (size_t i = row_begin; i < row_end; i++) {
    int32_t *c = (int32_t *)plan->c + i * plan->ldc;
    const int64_t row_term = plan->a.code_sums[i] * correction->a_sum_scale + correction->constant;
    for (size_t j = col_begin; j < col_end; j++) {
      const uint32_t sum = (uint32_t)c[j] * (uint32_t)correction->t_scale + (uint32_t)row_term +
                           (uint32_t)(plan->w.code_sums[j] * correction->w_sum_scale);
      c[j] = (int32_t)sum;
    }
  }
}

static void lb_correct_int64(const lb_gemm_plan *plan, size_t row_begin, size_t row_end,
                             size_t col_begin, size_t col_end) {
  const lb_correction *correction = &plan->correction;
  for (size_t i = row_begin; i < row_end; i++) {
    int64_t *c = (int64_t *)plan->c + i * plan->ldc;
    const int64_t row_term = plan->a.code_sums[i] * correction->a_sum_scale + correction->constant;
    for (size_t j = col_begin; j < col_end; j++) {
      c[j] = c[j] * correction->t_scale + row_term + plan->w.code_sums[j] * correction->w_sum_scale;
    }
  }
}

void lb_correct_block(const lb_gemm_plan *plan, size_t row_begin, size_t row_end, size_t col_begin,
                      size_t col_end) {
  if (plan->ukernel_args.out64) {
    lb_correct_int64(plan, row_begin, row_end, col_begin, col_end);
  } else {
    lb_correct_int32(plan, row_begin, row_end, col_begin, col_end);
  }
}
