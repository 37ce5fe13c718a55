/* The quantization of float activations as lowbit/ukernel.h (lb_quantize_args) and
 * lowbit/operators.h (LB_INPUT_FLOAT) define it, written from that text: round to nearest with
 * ties to even (rintf in the default rounding mode), NaN read as 0.0, clamped to the operand's
 * values; bipolar: +1 for x >= 0 and NaN, else -1. */
#ifndef LOWBIT_TEST_QUANTIZE_H
#define LOWBIT_TEST_QUANTIZE_H

#include <stdint.h>

#include "operands.h"

int32_t lb_test_quantize(float x, float scale, int32_t zero_point, lb_operand op);

/* Floats around every value of op at this scale and zero point: exact ties, plain values, values
 * past both ends of the range, and now and then a NaN. */
float lb_test_random_float(float scale, int32_t zero_point, lb_operand op, uint64_t *rng);

/* Stores value v as element i of a matrix of op's source elements. */
void lb_test_store_value(void *elements, size_t i, int32_t v, lb_operand op);

#endif
