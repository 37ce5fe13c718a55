/* The training engine's float conv2d and dense layers (docs/design.md section 22, "The float
 * path"): the forward outputs, the weight and bias gradients and the input errors of one step
 * against plain double loops written here, within the float summation bound, and bit for bit the
 * same with 1 and 2 threads. The shapes reach the GEMM's edges: a sum deeper than one block (K
 * 270), a short last column panel (37 and 10 channels), short row tiles, stride 2, both
 * weight-gradient formulations (K at least and below the channels) and a product big enough to be
 * threaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/train.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                              \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

static uint64_t rng_state = 99;
static double uniform(void) { /* [0, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static lb_train_layer_desc layer(lb_train_layer_kind kind, size_t out_c, unsigned kernel,
                                 unsigned stride, unsigned pad) {
  lb_train_layer_desc d;
  memset(&d, 0, sizeof d); /* float formats, nearest */
  d.kind = kind, d.out_c = out_c, d.kernel = kernel, d.stride = stride, d.pad = pad;
  return d;
}

/* ---- what one step produced ---- */

typedef struct shape {
  size_t batch, h, w, c, oc;
  unsigned kernel, stride, pad;
  size_t dense;
} shape;

typedef struct result {
  float *conv_y, *dense_y, *conv_dx, *dense_dx; /* outputs and input errors */
  float *grad[2][2];                            /* [conv, dense][weights, bias] */
  size_t count[2][2];
} result;

static void result_free(result *r) {
  free(r->conv_y), free(r->dense_y), free(r->conv_dx), free(r->dense_dx);
  for (int i = 0; i < 2; i++) {
    free(r->grad[i][0]), free(r->grad[i][1]);
  }
}

static size_t capture_state_bytes(const void *config, const lb_train_param *p) {
  (void)config, (void)p;
  return 0;
}

/* Keeps the float gradients of conv2d (layer 1) and dense (layer 3); no update. */
static lb_status capture_step(const void *config, lb_train_param *p, uint64_t step, uint64_t seed,
                              uint64_t stream_base) {
  result *r = (result *)config;
  (void)step, (void)seed, (void)stream_base;
  size_t which = p->layer == 1 ? 0 : 1;
  float **g = &r->grad[which][p->index];
  free(*g);
  *g = malloc(p->count * sizeof(float));
  if (*g) {
    memcpy(*g, p->gradient, p->count * sizeof(float));
  }
  r->count[which][p->index] = p->count;
  return LB_OK;
}

typedef struct given {
  const float *conv_error, *dense_error;
} given;

static lb_status given_run(lb_train_model *m, const void *config) {
  const given *e = config;
  size_t n;
  memcpy(lb_train_layer_error(m, 3, &n), e->dense_error, n * sizeof(float));
  lb_status s = lb_train_layer_backward(m, 3, 1);
  memcpy(lb_train_layer_error(m, 1, &n), e->conv_error, n * sizeof(float));
  return s == LB_OK ? lb_train_layer_backward(m, 1, 1) : s;
}

static float *copy_of(const float *x, size_t n) {
  float *y = malloc(n * sizeof(float));
  if (y) {
    memcpy(y, x, n * sizeof(float));
  }
  return y;
}

/* relu (the identity on the non-negative input, so that layer 0's error is the conv's dx),
 * conv2d, flatten, dense, softmax; one step with the given errors. */
static int run_step(const shape *sh, unsigned threads, const float *input, const float *conv_err,
                    const float *dense_err, float *conv_w, float *dense_w, result *r) {
  lb_train_layer_desc layers[] = {layer(LB_LAYER_RELU, 0, 0, 0, 0),
                                  layer(LB_LAYER_CONV2D, sh->oc, sh->kernel, sh->stride, sh->pad),
                                  layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
                                  layer(LB_LAYER_DENSE, sh->dense, 0, 0, 0),
                                  layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  given g = {conv_err, dense_err};
  lb_train_backward_path path = {"given", given_run, &g};
  memset(r, 0, sizeof *r);
  lb_train_optimizer opt = {
      .name = "capture", .state_bytes = capture_state_bytes, .step = capture_step, .config = r};
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = sh->batch, desc.in_h = sh->h, desc.in_w = sh->w, desc.in_c = sh->c;
  desc.layers = layers, desc.layer_count = 5, desc.classes = sh->dense, desc.seed = 7;
  desc.optimizer = &opt, desc.backward_path = &path, desc.threads = threads;
  lb_train_model *m = NULL;
  lb_status s = lb_train_model_create(&desc, &m);
  CHECK(s == LB_OK, "create: %s", lb_status_string(s));
  if (s != LB_OK) {
    return 1;
  }
  size_t n;
  lb_train_layer_params(m, 1, conv_w, &n);
  lb_train_layer_params(m, 3, dense_w, &n);
  uint8_t *labels = calloc(sh->batch, 1);
  s = labels ? lb_train_step(m, input, labels, NULL, NULL) : LB_OUT_OF_MEMORY;
  CHECK(s == LB_OK, "step: %s", lb_status_string(s));
  free(labels);
  const float *y = lb_train_layer_output(m, 1, &n);
  r->conv_y = copy_of(y, n);
  y = lb_train_layer_output(m, 3, &n);
  r->dense_y = copy_of(y, n);
  float *e = lb_train_layer_error(m, 0, &n);
  r->conv_dx = copy_of(e, n);
  e = lb_train_layer_error(m, 2, &n);
  r->dense_dx = copy_of(e, n);
  lb_train_model_destroy(m);
  return s != LB_OK;
}

/* ---- the reference and its bound ---- */

/* A float sum of n products (and a start value) is within gamma_n * (the sum of their absolute
 * values) of the exact sum, gamma_n = n u / (1 - n u), u = 2^-24 (Higham, Accuracy and Stability,
 * 3.1); the reference in double is exact enough to stand for the exact sum. */
static double sum_bound(size_t terms, double abs_sum) {
  double nu = (double)(terms + 1) * ldexp(1.0, -24);
  return nu / (1 - nu) * abs_sum + 1e-30;
}

typedef struct checker {
  const char *what;
  double worst; /* largest difference over its bound */
} checker;

static void check_value(checker *c, size_t j, double got, double ref, size_t terms,
                        double abs_sum) {
  double bound = sum_bound(terms, abs_sum), diff = fabs(got - ref);
  if (diff > bound) {
    CHECK(0, "%s %zu: %.9g vs reference %.9g, bound %.3g", c->what, j, got, ref, bound);
  }
  if (diff / bound > c->worst) {
    c->worst = diff / bound;
  }
}

static void report(const checker *c) {
  printf("%-14s largest difference %.3f of its bound\n", c->what, c->worst);
}

static int compare_threads(const result *a, const result *b, const shape *sh) {
  size_t oh = (sh->h + 2 * sh->pad - sh->kernel) / sh->stride + 1;
  size_t ow = (sh->w + 2 * sh->pad - sh->kernel) / sh->stride + 1;
  size_t ny = sh->batch * oh * ow * sh->oc, nx = sh->batch * sh->h * sh->w * sh->c;
  size_t nd = sh->batch * sh->dense, nf = oh * ow * sh->oc;
  int same = memcmp(a->conv_y, b->conv_y, ny * sizeof(float)) == 0 &&
             memcmp(a->dense_y, b->dense_y, nd * sizeof(float)) == 0 &&
             memcmp(a->conv_dx, b->conv_dx, nx * sizeof(float)) == 0 &&
             memcmp(a->dense_dx, b->dense_dx, sh->batch * nf * sizeof(float)) == 0;
  for (int i = 0; i < 2; i++) {
    for (int t = 0; t < 2; t++) {
      same = same && a->count[i][t] == b->count[i][t] &&
             memcmp(a->grad[i][t], b->grad[i][t], a->count[i][t] * sizeof(float)) == 0;
    }
  }
  CHECK(same, "1 and 2 threads differ");
  return 0;
}

static int check_shape(const shape *sh) {
  size_t oh = (sh->h + 2 * sh->pad - sh->kernel) / sh->stride + 1;
  size_t ow = (sh->w + 2 * sh->pad - sh->kernel) / sh->stride + 1;
  size_t kk = sh->kernel, k = kk * kk * sh->c, nf = oh * ow * sh->oc;
  size_t nx = sh->batch * sh->h * sh->w * sh->c, ny = sh->batch * nf, nd = sh->batch * sh->dense;
  float *input = malloc(nx * sizeof(float)), *ce = malloc(ny * sizeof(float));
  float *de = malloc(nd * sizeof(float));
  float *cw = malloc((k * sh->oc + sh->oc) * sizeof(float));
  float *dw = malloc((nf * sh->dense + sh->dense) * sizeof(float));
  if (!input || !ce || !de || !cw || !dw) {
    CHECK(0, "out of memory");
    return 1;
  }
  for (size_t i = 0; i < nx; i++) {
    input[i] = (float)uniform();
  }
  for (size_t i = 0; i < ny; i++) {
    ce[i] = (float)(uniform() - 0.5);
  }
  for (size_t i = 0; i < nd; i++) {
    de[i] = (float)(uniform() - 0.5);
  }
  result one, two;
  int bad = run_step(sh, 1, input, ce, de, cw, dw, &one);
  bad |= run_step(sh, 2, input, ce, de, cw, dw, &two);
  if (bad || !one.conv_y || !one.dense_y || !one.conv_dx || !one.dense_dx) {
    CHECK(0, "a step failed");
    return 1;
  }
  compare_threads(&one, &two, sh);
  const float *bias = cw + k * sh->oc;
  checker cy = {"conv forward", 0}, cdw = {"conv dW", 0}, cdb = {"conv bias", 0};
  checker cdx = {"conv dX", 0}, dy = {"dense forward", 0}, ddw = {"dense dW", 0};
  checker ddx = {"dense dX", 0};
  double *gw = calloc(k * sh->oc, sizeof(double)), *gwa = calloc(k * sh->oc, sizeof(double));
  double *gx = calloc(nx, sizeof(double)), *gxa = calloc(nx, sizeof(double));
  size_t *gxn = calloc(nx, sizeof(size_t));
  if (!gw || !gwa || !gx || !gxa || !gxn) {
    CHECK(0, "out of memory");
    return 1;
  }
  /* conv2d: y, and dW, dX accumulated tap by tap from the given error */
  for (size_t b = 0; b < sh->batch; b++) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        size_t row = (b * oh + oy) * ow + ox;
        for (size_t oc = 0; oc < sh->oc; oc++) {
          double acc = bias[oc], abs_acc = fabs(bias[oc]);
          double g = ce[row * sh->oc + oc];
          for (size_t ky = 0; ky < kk; ky++) {
            long iy = (long)(oy * sh->stride + ky) - (long)sh->pad;
            for (size_t kx = 0; kx < kk; kx++) {
              long ix = (long)(ox * sh->stride + kx) - (long)sh->pad;
              if (iy < 0 || ix < 0 || iy >= (long)sh->h || ix >= (long)sh->w) {
                continue;
              }
              for (size_t c = 0; c < sh->c; c++) {
                size_t xi = ((b * sh->h + (size_t)iy) * sh->w + (size_t)ix) * sh->c + c;
                size_t wi = (oc * kk * kk + ky * kk + kx) * sh->c + c;
                acc += (double)input[xi] * cw[wi], abs_acc += fabs((double)input[xi] * cw[wi]);
                gw[wi] += g * input[xi], gwa[wi] += fabs(g * input[xi]);
                gx[xi] += g * cw[wi], gxa[xi] += fabs(g * cw[wi]), gxn[xi]++;
              }
            }
          }
          check_value(&cy, row * sh->oc + oc, one.conv_y[row * sh->oc + oc], acc, k, abs_acc);
        }
      }
    }
  }
  size_t rows = sh->batch * oh * ow;
  for (size_t i = 0; i < k * sh->oc; i++) {
    check_value(&cdw, i, one.grad[0][0][i], gw[i], rows, gwa[i]);
  }
  for (size_t oc = 0; oc < sh->oc; oc++) {
    double acc = 0, abs_acc = 0;
    for (size_t r = 0; r < rows; r++) {
      acc += ce[r * sh->oc + oc], abs_acc += fabs(ce[r * sh->oc + oc]);
    }
    check_value(&cdb, oc, one.grad[0][1][oc], acc, rows, abs_acc);
  }
  for (size_t i = 0; i < nx; i++) {
    check_value(&cdx, i, one.conv_dx[i], gx[i], gxn[i] + kk * kk, gxa[i]);
  }
  /* dense on the conv's output */
  const float *x = one.conv_y, *dbias = dw + nf * sh->dense;
  for (size_t b = 0; b < sh->batch; b++) {
    for (size_t o = 0; o < sh->dense; o++) {
      double acc = dbias[o], abs_acc = fabs(dbias[o]);
      for (size_t i = 0; i < nf; i++) {
        double p = (double)x[b * nf + i] * dw[o * nf + i];
        acc += p, abs_acc += fabs(p);
      }
      check_value(&dy, b * sh->dense + o, one.dense_y[b * sh->dense + o], acc, nf, abs_acc);
    }
  }
  for (size_t o = 0; o < sh->dense; o++) {
    for (size_t i = 0; i < nf; i++) {
      double acc = 0, abs_acc = 0;
      for (size_t b = 0; b < sh->batch; b++) {
        double p = (double)de[b * sh->dense + o] * x[b * nf + i];
        acc += p, abs_acc += fabs(p);
      }
      check_value(&ddw, o * nf + i, one.grad[1][0][o * nf + i], acc, sh->batch, abs_acc);
    }
  }
  for (size_t b = 0; b < sh->batch; b++) {
    for (size_t i = 0; i < nf; i++) {
      double acc = 0, abs_acc = 0;
      for (size_t o = 0; o < sh->dense; o++) {
        double p = (double)de[b * sh->dense + o] * dw[o * nf + i];
        acc += p, abs_acc += fabs(p);
      }
      check_value(&ddx, b * nf + i, one.dense_dx[b * nf + i], acc, sh->dense, abs_acc);
    }
  }
  report(&cy), report(&cdw), report(&cdb), report(&cdx), report(&dy), report(&ddw), report(&ddx);
  free(gw), free(gwa), free(gx), free(gxa), free(gxn);
  free(input), free(ce), free(de), free(cw), free(dw);
  result_free(&one), result_free(&two);
  return 0;
}

/* K 270 (two blocks of the sum), 37 channels (a short panel), 243 rows; dense K 2997 to 10. */
static int test_deep(void) {
  shape sh = {3, 9, 9, 30, 37, 3, 1, 1, 10};
  return check_shape(&sh);
}

/* one input channel (K 9 below the 20 channels: the transposed weight gradient), stride 2,
 * 3136 rows; dense K 3920 to 10. */
static int test_strided(void) {
  shape sh = {16, 28, 28, 1, 20, 3, 2, 1, 10};
  return check_shape(&sh);
}

/* a 1x1 kernel without padding and a dense layer with more outputs (40) than inputs (32). */
static int test_wide(void) {
  shape sh = {5, 2, 2, 3, 8, 1, 1, 0, 40};
  return check_shape(&sh);
}

/* relu, maxpool and the integer conversions at sizes where they are threaded: an 8-bit SR conv2d,
 * relu, maxpool and a float dense layer, two SGD steps with 1 and 2 threads, bit for bit. */
static int loops_run(unsigned threads, float *params, size_t *count, float *input_error) {
  enum { B = 16, H = 32, W = 32, C = 3 };
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_RELU, 0, 0, 0, 0),        layer(LB_LAYER_CONV2D, 16, 3, 1, 1),
      layer(LB_LAYER_RELU, 0, 0, 0, 0),        layer(LB_LAYER_MAXPOOL, 0, 0, 0, 0),
      layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),     layer(LB_LAYER_DENSE, 4, 0, 0, 0),
      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  int fl[LB_TENSOR_KINDS] = {6, 4, 12, 7};
  for (int t = 0; t < LB_TENSOR_KINDS; t++) {
    lb_number_format *f = &layers[1].format[t];
    f->kind = LB_NUMBER_FIXED, f->fixed.wl = 8, f->fixed.fl = fl[t];
    f->rounding = LB_ROUND_STOCHASTIC;
  }
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = B, desc.in_h = H, desc.in_w = W, desc.in_c = C, desc.layers = layers;
  desc.layer_count = 7, desc.classes = 4, desc.seed = 11, desc.threads = threads;
  lb_train_model *m = NULL;
  lb_status s = lb_train_model_create(&desc, &m);
  CHECK(s == LB_OK, "create: %s", lb_status_string(s));
  if (s != LB_OK) {
    return 1;
  }
  static float input[B * H * W * C];
  uint8_t labels[B];
  rng_state = 5;
  for (int step = 0; step < 2; step++) {
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
      input[i] = (float)(uniform() - 0.25); /* some negative, for the first relu */
    }
    for (int b = 0; b < B; b++) {
      labels[b] = (uint8_t)((b * 3 + step) % 4);
    }
    s = lb_train_step(m, input, labels, NULL, NULL);
    CHECK(s == LB_OK, "step %d: %s", step, lb_status_string(s));
  }
  size_t n, off = 0;
  lb_train_layer_params(m, 1, params, &n);
  off += n;
  lb_train_layer_params(m, 5, params + off, &n);
  *count = off + n;
  float *e = lb_train_layer_error(m, 0, &n);
  memcpy(input_error, e, n * sizeof(float));
  lb_train_model_destroy(m);
  return 0;
}

static int test_loops(void) {
  static float pa[16 * 27 + 16 + 4 * 16 * 16 * 16 + 4], pb[sizeof pa / sizeof pa[0]];
  static float ea[16 * 32 * 32 * 3], eb[sizeof ea / sizeof ea[0]];
  size_t na = 0, nb = 0;
  if (loops_run(1, pa, &na, ea) || loops_run(2, pb, &nb, eb)) {
    return 1;
  }
  CHECK(na == sizeof pa / sizeof pa[0] && na == nb, "parameter counts %zu %zu", na, nb);
  CHECK(memcmp(pa, pb, sizeof pa) == 0, "weights differ between 1 and 2 threads");
  CHECK(memcmp(ea, eb, sizeof ea) == 0, "input errors differ between 1 and 2 threads");
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof ea / sizeof ea[0]; i++) {
    nonzero += ea[i] != 0.0f;
  }
  CHECK(nonzero > 0, "no input error reached the first layer");
  return 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(void);
  } parts[] = {
      {"deep", test_deep}, {"strided", test_strided}, {"wide", test_wide}, {"loops", test_loops}};
  int ran = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (argc < 2 || strcmp(argv[1], parts[i].name) == 0) {
      failures += parts[i].run();
      ran++;
    }
  }
  if (!ran) {
    fprintf(stderr, "unknown part %s\n", argv[1]);
    return 2;
  }
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  return 0;
}
