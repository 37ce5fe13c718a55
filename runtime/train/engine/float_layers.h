/* The float conv2d and dense layers of the engine (docs/design.md section 22, "The float path"):
 * im2col into a register-tiled float GEMM, threaded over output rows. Every output element is
 * computed by one thread as one float sum in a fixed order, so the results do not depend on the
 * thread count, nor on the vector width the dispatch picks. Tensors are NHWC; weights are
 * [out_c][kernel][kernel][in_c] (conv2d) or [out_c][in_c] (dense). */
#ifndef LOWBIT_TRAIN_FLOAT_LAYERS_H
#define LOWBIT_TRAIN_FLOAT_LAYERS_H

#include <stddef.h>

typedef struct lb_f32_shape {
  size_t batch, in_h, in_w, in_c, out_h, out_w, out_c;
  unsigned kernel, stride, pad; /* conv2d; a dense layer has kernel 0 */
  unsigned threads;
} lb_f32_shape;

/* Floats of the columns a conv2d layer keeps from its forward pass for its backward pass
 * ([out pixels][kernel * kernel * in_c]; 0 for dense), and of the workspace of either pass. */
size_t lb_f32_cols_floats(const lb_f32_shape *s);
size_t lb_f32_work_floats(const lb_f32_shape *s);

/* y = x * w^T + bias: y [batch][out_h][out_w][out_c]; a conv2d layer writes its columns. */
void lb_f32_forward(const lb_f32_shape *s, const float *x, const float *w, const float *bias,
                    float *y, float *cols, float *work);

/* dw = dy^T * a summed over the batch, and dx = dy * w (when dx is not NULL); both overwritten.
 * a is the input of a dense layer, the columns its forward pass wrote for a conv2d layer. */
void lb_f32_backward(const lb_f32_shape *s, const float *a, const float *w, const float *dy,
                     float *dx, float *dw, float *work);

/* C[m][n] (+)= sum over k of A[m][k] * B[k][n] in k order, row-major with leading dimensions;
 * accumulate 0 starts from zero. Rows are split over `threads`. */
void lb_f32_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, int accumulate, unsigned threads);

#endif
