/* The engine's per-element loops (relu, maxpool, integer sums to float), threaded over
 * contiguous ranges (parallel.h): each output element depends on its own inputs only, so the
 * results do not depend on the thread count. Tensors are NHWC. */
#ifndef LOWBIT_TRAIN_LAYER_LOOPS_H
#define LOWBIT_TRAIN_LAYER_LOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

/* y = max(x, 0) for n elements. */
void lb_train_relu_forward(const float *x, float *y, size_t n, unsigned threads);
/* dx = x > 0 ? err : 0. */
void lb_train_relu_backward(const float *x, const float *err, float *dx, size_t n,
                            unsigned threads);

typedef struct lb_train_pool_shape {
  size_t batch, in_h, in_w, c, out_h, out_w;
} lb_train_pool_shape;

/* 2x2 maxpool, stride 2: the first of the largest of each window (row-major taps), and where. */
void lb_train_maxpool_forward(const lb_train_pool_shape *s, const float *x, float *y,
                              uint32_t *argmax, unsigned threads);
/* dx = err summed at each window's argmax, zero elsewhere. */
void lb_train_maxpool_backward(const lb_train_pool_shape *s, const float *err,
                               const uint32_t *argmax, float *dx, unsigned threads);

/* y[j] = sums[j] * scale, rounded once to float (sums int32 or int64 by type). */
void lb_train_sums_to_float(const void *sums, lb_out_type type, size_t n, double scale, float *y,
                            unsigned threads);
/* y[r][o] = sums[r][o] * scale + bias[o], rounded once to float, for rows x n. */
void lb_train_sums_to_output(const void *sums, lb_out_type type, size_t rows, size_t n,
                             double scale, const double *bias, float *y, unsigned threads);

#endif
