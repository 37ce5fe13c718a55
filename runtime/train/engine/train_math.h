/* Elementary functions of the engine from IEEE double basic operations only, so that softmax, the
 * loss, the initialization and the schedule are the same on every target (libms differ). */
#ifndef LOWBIT_TRAIN_MATH_H
#define LOWBIT_TRAIN_MATH_H

#include <stdint.h>

/* 2^e exactly, e in -1022..1023. */
double lb_train_pow2(int e);
/* e^x, to within a few ulps; 0 below -745, +inf above 709. */
double lb_train_exp(double x);
/* log(x) for x > 0 finite, to within a few ulps. */
double lb_train_log(double x);
/* cos(pi * u) for u in [0, 1]. */
double lb_train_cospi(double u);
/* The correctly rounded square root (an IEEE basic operation). */
double lb_train_sqrt(double x);
/* splitmix64: the next value of the sequence at *state. */
uint64_t lb_train_splitmix(uint64_t *state);

#endif
