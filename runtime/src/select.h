/* Kernel choice behind the public boundary: lb_gemm has checked its arguments once, so nothing
 * here checks them again. */
#ifndef LOWBIT_SELECT_H
#define LOWBIT_SELECT_H

#include "lowbit/lowbit.h"

int lb_strategy_choice_is_valid(lb_strategy_choice strategy);

/* Whether `kernel` runs on this CPU and computes the valid operands a and w exactly. */
int lb_kernel_accepts(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w);

/* What this CPU's schedule database gives for a product: its kernel, which accepts the operands
 * here, and the cache blocks (elements, or LB_TUNING_AUTO). */
typedef struct lb_schedule {
  const lb_gemm_kernel_info *kernel;
  size_t kmax, kc, mc, nc;
} lb_schedule;

/* The schedule of valid operands and a dot product of k elements, or NULL when the database has
 * no entry for them whose kernel runs here. */
const lb_schedule *lb_schedule_for(lb_operand a, lb_operand w, size_t k);

/* The kernel for valid operands, strategy and k: the schedule's when it has one of the strategy
 * (any, for LB_AUTO), else the best the registry and the per-CPU data rank, looked up in the
 * table built once per process; NULL if no kernel accepts the operands. */
const lb_gemm_kernel_info *lb_kernel_choice(lb_operand a, lb_operand w,
                                            lb_strategy_choice strategy, size_t k);

#endif
