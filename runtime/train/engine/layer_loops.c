/* The engine's per-element loops (layer_loops.h). The work estimates weigh a float read or write
 * as one unit. */
#pragma STDC FP_CONTRACT OFF

#include <string.h>

#include "layer_loops.h"
#include "parallel.h"

typedef struct relu_job {
  const float *x, *err;
  float *y;
} relu_job;

static void relu_forward_range(void *ctx, size_t begin, size_t end) {
  const relu_job *j = ctx;
  const float *restrict x = j->x;
  float *restrict y = j->y;
  for (size_t i = begin; i < end; i++) {
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  }
}

void lb_train_relu_forward(const float *x, float *y, size_t n, unsigned threads) {
  relu_job job = {x, NULL, y};
  lb_train_parallel(relu_forward_range, &job, n, threads, 2.0 * (double)n);
}

static void relu_backward_range(void *ctx, size_t begin, size_t end) {
  const relu_job *j = ctx;
  const float *restrict x = j->x, *restrict e = j->err;
  float *restrict d = j->y;
  for (size_t i = begin; i < end; i++) {
    float ei = e[i]; /* read unconditionally, so that the loop becomes a vector select */
    d[i] = x[i] > 0.0f ? ei : 0.0f;
  }
}

void lb_train_relu_backward(const float *x, const float *err, float *dx, size_t n,
                            unsigned threads) {
  relu_job job = {x, err, dx};
  lb_train_parallel(relu_backward_range, &job, n, threads, 3.0 * (double)n);
}

typedef struct pool_job {
  const lb_train_pool_shape *s;
  const float *in;
  float *out;
  uint32_t *argmax;
  const uint32_t *from;
} pool_job;

static size_t pool_out_count(const lb_train_pool_shape *s) { return s->out_h * s->out_w * s->c; }

static void maxpool_forward_range(void *ctx, size_t b0, size_t b1) {
  const pool_job *jb = ctx;
  const lb_train_pool_shape *s = jb->s;
  size_t c = s->c, row = s->in_w * c, j = b0 * pool_out_count(s);
  for (size_t b = b0; b < b1; b++) {
    for (size_t oy = 0; oy < s->out_h; oy++) {
      for (size_t ox = 0; ox < s->out_w; ox++) {
        size_t at = ((b * s->in_h + 2 * oy) * s->in_w + 2 * ox) * c;
        size_t taps[4] = {at, at + c, at + row, at + row + c};
        for (size_t ch = 0; ch < c; ch++, j++) {
          size_t best = taps[0] + ch;
          float v = jb->in[best];
          for (unsigned t = 1; t < 4; t++) {
            if (jb->in[taps[t] + ch] > v) {
              v = jb->in[taps[t] + ch], best = taps[t] + ch;
            }
          }
          jb->out[j] = v;
          jb->argmax[j] = (uint32_t)best;
        }
      }
    }
  }
}

void lb_train_maxpool_forward(const lb_train_pool_shape *s, const float *x, float *y,
                              uint32_t *argmax, unsigned threads) {
  pool_job job = {s, x, y, argmax, NULL};
  lb_train_parallel(maxpool_forward_range, &job, s->batch, threads,
                    5.0 * (double)(s->batch * pool_out_count(s)));
}

/* An image's windows point into that image's input only: the parts' dx do not overlap. */
static void maxpool_backward_range(void *ctx, size_t b0, size_t b1) {
  const pool_job *jb = ctx;
  const lb_train_pool_shape *s = jb->s;
  size_t in_count = s->in_h * s->in_w * s->c, out_count = pool_out_count(s);
  memset(jb->out + b0 * in_count, 0, (b1 - b0) * in_count * sizeof(float));
  for (size_t j = b0 * out_count; j < b1 * out_count; j++) {
    jb->out[jb->from[j]] += jb->in[j];
  }
}

void lb_train_maxpool_backward(const lb_train_pool_shape *s, const float *err,
                               const uint32_t *argmax, float *dx, unsigned threads) {
  pool_job job = {s, err, dx, NULL, argmax};
  lb_train_parallel(maxpool_backward_range, &job, s->batch, threads,
                    (double)(s->batch * s->in_h * s->in_w * s->c));
}

typedef struct sums_job {
  const void *sums;
  lb_out_type type;
  size_t n;
  double scale;
  const double *bias;
  float *y;
} sums_job;

static void sums_to_float_range(void *ctx, size_t begin, size_t end) {
  const sums_job *j = ctx;
  float *restrict y = j->y;
  if (j->type == LB_OUT_INT32) {
    const int32_t *restrict s = j->sums;
    for (size_t i = begin; i < end; i++) {
      y[i] = (float)((double)s[i] * j->scale);
    }
  } else {
    const int64_t *restrict s = j->sums;
    for (size_t i = begin; i < end; i++) {
      y[i] = (float)((double)s[i] * j->scale);
    }
  }
}

void lb_train_sums_to_float(const void *sums, lb_out_type type, size_t n, double scale, float *y,
                            unsigned threads) {
  sums_job job = {sums, type, n, scale, NULL, y};
  lb_train_parallel(sums_to_float_range, &job, n, threads, 2.0 * (double)n);
}

static void sums_to_output_range(void *ctx, size_t r0, size_t r1) {
  const sums_job *j = ctx;
  size_t n = j->n;
  for (size_t r = r0; r < r1; r++) {
    float *restrict y = j->y + r * n;
    const double *restrict bias = j->bias;
    if (j->type == LB_OUT_INT32) {
      const int32_t *restrict s = (const int32_t *)j->sums + r * n;
      for (size_t o = 0; o < n; o++) {
        y[o] = (float)((double)s[o] * j->scale + bias[o]);
      }
    } else {
      const int64_t *restrict s = (const int64_t *)j->sums + r * n;
      for (size_t o = 0; o < n; o++) {
        y[o] = (float)((double)s[o] * j->scale + bias[o]);
      }
    }
  }
}

void lb_train_sums_to_output(const void *sums, lb_out_type type, size_t rows, size_t n,
                             double scale, const double *bias, float *y, unsigned threads) {
  sums_job job = {sums, type, n, scale, bias, y};
  lb_train_parallel(sums_to_output_range, &job, rows, threads, 2.0 * (double)(rows * n));
}
