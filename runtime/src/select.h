/* Kernel choice behind the public boundary: lb_gemm has checked its arguments once, so nothing
 * here checks them again. */
#ifndef LOWBIT_SELECT_H
#define LOWBIT_SELECT_H

#include "lowbit/lowbit.h"

int lb_strategy_choice_is_valid(lb_strategy_choice strategy);

/* Whether `kernel` runs on this CPU and computes the valid operands a and w exactly. */
int lb_kernel_accepts(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w);

/* The kernel for valid operands and strategy, looked up in the table built once per process from
 * the registry and the per-CPU data; NULL if no kernel accepts the operands. */
const lb_gemm_kernel_info *lb_kernel_choice(lb_operand a, lb_operand w,
                                            lb_strategy_choice strategy);

#endif
