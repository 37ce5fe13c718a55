/* The float conv2d and dense layers: im2col and a register-tiled GEMM (float_layers.h,
 * docs/design.md section 22). Separately rounded multiplies and adds (no contraction) keep every
 * vector width and target on the same results. */
#pragma STDC FP_CONTRACT OFF

#include <string.h>

#include "float_layers.h"
#include "parallel.h"

/* Depth of a block of the sum: a B panel of KC x 32 floats stays in L1 while the A rows stream. */
#define KC 256u
#define MAX_NR 32u

typedef void tile_fn(size_t kc, const float *restrict a, size_t lda, const float *restrict b,
                     size_t ldb, float *restrict c, size_t ldc, size_t mr, size_t nr, int load);

#define TILE_NAME tile_v16
#define TILE_VEC vec16
#define TILE_ATTR
#define TILE_VBYTES 16
#define TILE_MR 4
#define TILE_NV 2
#include "float_tile.h"
#undef TILE_NAME
#undef TILE_VEC
#undef TILE_ATTR
#undef TILE_VBYTES
#undef TILE_MR
#undef TILE_NV

#if (defined(__x86_64__) || defined(__i386__)) && defined(__clang__)
#define LB_F32_X86 1
#define TILE_NAME tile_avx2
#define TILE_VEC vec32
#define TILE_ATTR __attribute__((target("avx2")))
#define TILE_VBYTES 32
#define TILE_MR 6
#define TILE_NV 2
#include "float_tile.h"
#undef TILE_NAME
#undef TILE_VEC
#undef TILE_ATTR
#undef TILE_VBYTES
#undef TILE_MR
#undef TILE_NV

#define TILE_NAME tile_avx512
#define TILE_VEC vec64
#define TILE_ATTR __attribute__((target("avx512f")))
#define TILE_VBYTES 64
#define TILE_MR 8
#define TILE_NV 2
#include "float_tile.h"
#undef TILE_NAME
#undef TILE_VEC
#undef TILE_ATTR
#undef TILE_VBYTES
#undef TILE_MR
#undef TILE_NV
#endif

typedef struct variant {
  tile_fn *tile;
  size_t mr, nr;
} variant;

/* The widest tile the CPU runs; the baseline (SSE2, NEON) elsewhere. */
static variant pick_variant(void) {
#ifdef LB_F32_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    return (variant){tile_avx512, 8, 32};
  }
  if (__builtin_cpu_supports("avx2")) {
    return (variant){tile_avx2, 6, 16};
  }
#endif
  return (variant){tile_v16, 4, 8};
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

typedef struct gemm_job {
  variant v;
  size_t m, n, k;
  const float *a, *b;
  size_t lda, ldb, ldc;
  float *c;
  int accumulate;
} gemm_job;

/* Rows m0..m1 and column panels p0..p1 of C, block by block of the sum. */
static void gemm_block(const gemm_job *j, size_t m0, size_t m1, size_t p0, size_t p1) {
  float pack[KC * MAX_NR];
  size_t nr_max = j->v.nr, n_begin = min_size(j->n, p0 * nr_max),
         n_end = min_size(j->n, p1 * nr_max);
  if (j->k == 0 && !j->accumulate) {
    for (size_t m = m0; m < m1; m++) {
      memset(j->c + m * j->ldc + n_begin, 0, (n_end - n_begin) * sizeof(float));
    }
  }
  for (size_t k0 = 0; k0 < j->k; k0 += KC) {
    size_t kc = min_size(KC, j->k - k0);
    int load = j->accumulate || k0 > 0;
    for (size_t n0 = n_begin; n0 < n_end; n0 += nr_max) {
      size_t nr = min_size(nr_max, j->n - n0);
      const float *b = j->b + k0 * j->ldb + n0;
      size_t ldb = j->ldb;
      if (nr < nr_max) { /* the last, short panel: zero-padded to the tile's width */
        for (size_t p = 0; p < kc; p++) {
          memcpy(pack + p * nr_max, b + p * j->ldb, nr * sizeof(float));
          memset(pack + p * nr_max + nr, 0, (nr_max - nr) * sizeof(float));
        }
        b = pack, ldb = nr_max;
      }
      for (size_t m = m0; m < m1; m += j->v.mr) {
        j->v.tile(kc, j->a + m * j->lda + k0, j->lda, b, ldb, j->c + m * j->ldc + n0, j->ldc,
                  min_size(j->v.mr, m1 - m), nr, load);
      }
    }
  }
}

static size_t panels_of(const gemm_job *j) { return (j->n + j->v.nr - 1) / j->v.nr; }

/* Whole row tiles per chunk: each element of C belongs to one chunk, summed as on one thread. */
static void gemm_tiles(void *ctx, size_t t0, size_t t1) {
  const gemm_job *j = ctx;
  gemm_block(j, min_size(j->m, t0 * j->v.mr), min_size(j->m, t1 * j->v.mr), 0, panels_of(j));
}

/* Whole column panels per chunk, for products with few row tiles and a long sum (the weight
 * gradients): the threads then share the reads of A, not of the larger B. */
static void gemm_panels(void *ctx, size_t p0, size_t p1) {
  const gemm_job *j = ctx;
  gemm_block(j, 0, j->m, p0, p1);
}

void lb_f32_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, int accumulate, unsigned threads) {
  gemm_job job = {pick_variant(), m, n, k, a, b, lda, ldb, ldc, c, accumulate};
  size_t tiles = (m + job.v.mr - 1) / job.v.mr, panels = panels_of(&job);
  double work = (double)m * (double)n * (double)k;
  if (tiles < 8 * (size_t)threads && panels > tiles) {
    lb_train_parallel(gemm_panels, &job, panels, threads, work);
  } else {
    lb_train_parallel(gemm_tiles, &job, tiles, threads, work);
  }
}

/* out[c][r] = in[r][c] for rows x cols. */
static void transpose(size_t rows, size_t cols, const float *in, float *out) {
  enum { B = 32 };
  for (size_t r0 = 0; r0 < rows; r0 += B) {
    for (size_t c0 = 0; c0 < cols; c0 += B) {
      size_t r1 = min_size(rows, r0 + B), c1 = min_size(cols, c0 + B);
      for (size_t r = r0; r < r1; r++) {
        for (size_t c = c0; c < c1; c++) {
          out[c * rows + r] = in[r * cols + c];
        }
      }
    }
  }
}

static int is_conv(const lb_f32_shape *s) { return s->kernel != 0; }

/* Rows of the product: output pixels (conv2d) or images (dense). */
static size_t rows_of(const lb_f32_shape *s) {
  return is_conv(s) ? s->batch * s->out_h * s->out_w : s->batch;
}

/* Depth of the product: kernel * kernel * in_c (conv2d) or in_c (dense). */
static size_t depth_of(const lb_f32_shape *s) {
  return is_conv(s) ? (size_t)s->kernel * s->kernel * s->in_c : s->in_c;
}

size_t lb_f32_cols_floats(const lb_f32_shape *s) {
  return is_conv(s) ? rows_of(s) * depth_of(s) : 0;
}

size_t lb_f32_work_floats(const lb_f32_shape *s) {
  size_t m = rows_of(s), k = depth_of(s), n = s->out_c;
  /* w^T; dy^T, or dw^T and the columns transposed; the columns' gradient */
  size_t work = k * n > n * m ? k * n : n * m;
  if (k < n && work < k * n + m * k) {
    work = k * n + m * k;
  }
  if (is_conv(s) && work < m * k) {
    work = m * k;
  }
  return work;
}

/* The input position of tap (ky, kx) of output (oy, ox), or -1 in the padding. */
static long tap(size_t o, unsigned kk, const lb_f32_shape *s, size_t in) {
  long i = (long)(o * s->stride + kk) - (long)s->pad;
  return i >= 0 && i < (long)in ? i : -1;
}

typedef struct cols_job {
  const lb_f32_shape *s;
  const float *in;
  float *out;
} cols_job;

/* cols[(b, oy, ox)][(ky, kx, c)] for the part's images: the receptive field of every output
 * pixel, zeros in the pad. */
static void im2col_part(void *ctx, size_t b0, size_t b1) {
  const cols_job *j = ctx;
  const lb_f32_shape *s = j->s;
  size_t c = s->in_c, k = depth_of(s);
  for (size_t b = b0; b < b1; b++) {
    for (size_t oy = 0; oy < s->out_h; oy++) {
      for (size_t ox = 0; ox < s->out_w; ox++) {
        float *row = j->out + ((b * s->out_h + oy) * s->out_w + ox) * k;
        for (unsigned ky = 0; ky < s->kernel; ky++) {
          long iy = tap(oy, ky, s, s->in_h);
          for (unsigned kx = 0; kx < s->kernel; kx++) {
            long ix = tap(ox, kx, s, s->in_w);
            float *dst = row + (ky * s->kernel + kx) * c;
            if (iy < 0 || ix < 0) {
              for (size_t q = 0; q < c; q++) { /* c is often 1 to 64: loops, not calls */
                dst[q] = 0.0f;
              }
              continue;
            }
            const float *src = j->in + ((b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * c;
            for (size_t q = 0; q < c; q++) {
              dst[q] = src[q];
            }
          }
        }
      }
    }
  }
}

/* dx of the part's images: the sum of every receptive field's column gradient at its input
 * positions, in the order of the output pixels and taps. */
static void col2im_part(void *ctx, size_t b0, size_t b1) {
  const cols_job *j = ctx;
  const lb_f32_shape *s = j->s;
  size_t c = s->in_c, k = depth_of(s);
  memset(j->out + b0 * s->in_h * s->in_w * c, 0, (b1 - b0) * s->in_h * s->in_w * c * sizeof(float));
  for (size_t b = b0; b < b1; b++) {
    for (size_t oy = 0; oy < s->out_h; oy++) {
      for (size_t ox = 0; ox < s->out_w; ox++) {
        const float *row = j->in + ((b * s->out_h + oy) * s->out_w + ox) * k;
        for (unsigned ky = 0; ky < s->kernel; ky++) {
          long iy = tap(oy, ky, s, s->in_h);
          for (unsigned kx = 0; kx < s->kernel; kx++) {
            long ix = tap(ox, kx, s, s->in_w);
            if (iy < 0 || ix < 0) {
              continue;
            }
            const float *src = row + (ky * s->kernel + kx) * c;
            float *d = j->out + ((b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * c;
            for (size_t q = 0; q < c; q++) {
              d[q] += src[q];
            }
          }
        }
      }
    }
  }
}

static void run_cols(lb_train_range_fn *fn, const lb_f32_shape *s, const float *in, float *out) {
  cols_job job = {s, in, out};
  lb_train_parallel(fn, &job, s->batch, s->threads, (double)rows_of(s) * (double)depth_of(s));
}

void lb_f32_forward(const lb_f32_shape *s, const float *x, const float *w, const float *bias,
                    float *y, float *cols, float *work) {
  size_t m = rows_of(s), k = depth_of(s), n = s->out_c;
  const float *a = x;
  if (is_conv(s)) {
    run_cols(im2col_part, s, x, cols);
    a = cols;
  }
  transpose(n, k, w, work);
  for (size_t r = 0; r < m; r++) {
    memcpy(y + r * n, bias, n * sizeof(float));
  }
  lb_f32_gemm(m, n, k, a, k, work, n, y, n, 1, s->threads);
}

void lb_f32_backward(const lb_f32_shape *s, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *work) {
  size_t m = rows_of(s), k = depth_of(s), n = s->out_c;
  /* dw[n][k] sums over the m rows in order; the product keeps the longer of n and k as its
   * columns (tile width) and splits the other over the threads, never the sum */
  if (k >= n) {
    transpose(m, n, dy, work);
    lb_f32_gemm(n, k, m, work, m, x, k, dw, k, 0, s->threads);
  } else {
    float *xt = work + k * n;
    transpose(m, k, x, xt);
    lb_f32_gemm(k, n, m, xt, m, dy, n, work, n, 0, s->threads);
    transpose(k, n, work, dw);
  }
  if (!dx) {
    return;
  }
  if (is_conv(s)) {
    lb_f32_gemm(m, k, n, dy, n, w, k, work, k, 0, s->threads); /* the columns' gradient */
    run_cols(col2im_part, s, work, dx);
  } else {
    lb_f32_gemm(m, k, n, dy, n, w, k, dx, k, 0, s->threads);
  }
}
