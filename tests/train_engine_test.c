/* The training engine (lowbit/train.h): every layer's float backward against finite differences,
 * the integer layers against the float path within the quantization bound, a small MLP trained in
 * float, 8-bit fixed point with SR, and 8-bit round-to-nearest (which must do clearly worse), the
 * same weights for 1 and 2 threads, the CPT BitOPs savings of the paper, the memory report and
 * refused descriptions. The references (finite differences, bounds, the schedule with libm's cos)
 * are written here, not taken from the engine. */
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

static uint64_t rng_state = 12345;
static double uniform(void) { /* [0, 1) */
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static lb_number_format float_format(void) {
  lb_number_format f;
  memset(&f, 0, sizeof f);
  return f;
}

static lb_number_format fixed_format(unsigned wl, int fl, lb_rounding rounding) {
  lb_number_format f = float_format();
  f.kind = LB_NUMBER_FIXED;
  f.fixed.wl = wl;
  f.fixed.fl = fl;
  f.rounding = rounding;
  return f;
}

static lb_train_layer_desc layer(lb_train_layer_kind kind, size_t out_c, unsigned kernel,
                                 unsigned stride, unsigned pad) {
  lb_train_layer_desc d;
  memset(&d, 0, sizeof d);
  d.kind = kind, d.out_c = out_c, d.kernel = kernel, d.stride = stride, d.pad = pad;
  for (int t = 0; t < LB_TENSOR_KINDS; t++) {
    d.format[t] = float_format();
  }
  return d;
}

/* ---- an optimizer that only records the gradients (as floats) ---- */

#define MAX_LAYERS 16
typedef struct capture {
  float *grad[MAX_LAYERS][2];
  size_t count[MAX_LAYERS][2];
} capture;

static size_t capture_state_bytes(const void *config, const lb_train_param *p) {
  (void)config, (void)p;
  return 0;
}

static lb_status capture_step(const void *config, lb_train_param *p, uint64_t step, uint64_t seed,
                              uint64_t stream_base) {
  capture *c = (capture *)config;
  (void)step, (void)seed, (void)stream_base;
  float **g = &c->grad[p->layer][p->index];
  free(*g);
  *g = malloc(p->count * sizeof(float));
  c->count[p->layer][p->index] = p->count;
  double scale = ldexp(1.0, -p->gradient_fl);
  for (size_t i = 0; i < p->count; i++) {
    double v;
    switch (p->gradient_source) {
    case LB_FIXED_SOURCE_I32: v = ((const int32_t *)p->gradient)[i]; break;
    case LB_FIXED_SOURCE_I64: v = (double)((const int64_t *)p->gradient)[i]; break;
    default: v = ((const float *)p->gradient)[i]; break;
    }
    (*g)[i] = (float)(v * scale);
  }
  return LB_OK;
}

static void capture_free(capture *c) {
  for (int i = 0; i < MAX_LAYERS; i++) {
    free(c->grad[i][0]);
    free(c->grad[i][1]);
  }
  memset(c, 0, sizeof *c);
}

static lb_train_model *make(lb_train_model_desc *desc) {
  lb_train_model *m = NULL;
  lb_status s = lb_train_model_create(desc, &m);
  CHECK(s == LB_OK, "create: %s", lb_status_string(s));
  return m;
}

/* ---- gradcheck ---- */

/* The relu and maxpool decisions of the gradcheck model's last pass: a finite difference across a
 * kink is not a derivative, so parameters whose +h and -h passes decide differently are skipped. */
static size_t decisions(const lb_train_model *m, int *out) {
  size_t n = 0, count;
  for (size_t li = 1; li <= 6; li += 5) {
    const float *y = lb_train_layer_output(m, li, &count);
    for (size_t j = 0; j < count; j++) {
      out[n++] = y[j] > 0.0f;
    }
  }
  const float *x = lb_train_layer_output(m, 2, &count); /* [2][4][4][3], pooled to [2][2][2][3] */
  for (size_t j = 0; j < count / 4; j++) {
    size_t c = j % 3, ox = j / 3 % 2, oy = j / 6 % 2, b = j / 12, best = 0;
    for (size_t t = 1; t < 4; t++) {
      size_t at = ((b * 4 + 2 * oy + t / 2) * 4 + 2 * ox + t % 2) * 3 + c;
      size_t bt = ((b * 4 + 2 * oy + best / 2) * 4 + 2 * ox + best % 2) * 3 + c;
      if (x[at] > x[bt]) {
        best = t;
      }
    }
    out[n++] = (int)best;
  }
  return n;
}

static int test_gradcheck(void) {
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_CONV2D, 4, 3, 1, 1),      layer(LB_LAYER_RELU, 0, 0, 0, 0),
      layer(LB_LAYER_CONV2D, 3, 3, 2, 1),      layer(LB_LAYER_MAXPOOL, 0, 0, 0, 0),
      layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),     layer(LB_LAYER_DENSE, 5, 0, 0, 0),
      layer(LB_LAYER_RELU, 0, 0, 0, 0),        layer(LB_LAYER_DENSE, 3, 0, 0, 0),
      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  capture cap;
  memset(&cap, 0, sizeof cap);
  lb_train_optimizer opt = {"capture", capture_state_bytes, NULL, capture_step, &cap, NULL};
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = 2, desc.in_h = 8, desc.in_w = 8, desc.in_c = 2;
  desc.layer_count = sizeof layers / sizeof layers[0];
  desc.layers = layers, desc.classes = 3, desc.optimizer = &opt, desc.seed = 7, desc.threads = 1;
  lb_train_model *m = make(&desc);
  if (!m) {
    return 1;
  }
  float input[2 * 8 * 8 * 2];
  for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
    input[i] = (float)(2 * uniform() - 1);
  }
  uint8_t labels[2] = {1, 2};
  float loss = 0;
  CHECK(lb_train_step(m, input, labels, &loss, NULL) == LB_OK, "step");
  const double h = 1e-3;
  for (size_t li = 0; li < desc.layer_count; li++) {
    if (layers[li].kind != LB_LAYER_CONV2D && layers[li].kind != LB_LAYER_DENSE) {
      continue;
    }
    size_t count = 0;
    lb_train_layer_params(m, li, NULL, &count);
    float *p = malloc(count * sizeof(float));
    lb_train_layer_params(m, li, p, &count);
    size_t wcount = cap.count[li][0];
    CHECK(wcount + cap.count[li][1] == count, "layer %zu: gradient counts", li);
    double largest = 0;
    int bad = 0, skipped = 0;
    for (size_t j = 0; j < count; j++) {
      float keep = p[j];
      float lp, lm;
      int dp[1024], dm[1024];
      p[j] = (float)(keep + h);
      lb_train_layer_set_params(m, li, p);
      lb_train_evaluate(m, input, labels, &lp, NULL);
      size_t nd = decisions(m, dp);
      p[j] = (float)(keep - h);
      lb_train_layer_set_params(m, li, p);
      lb_train_evaluate(m, input, labels, &lm, NULL);
      decisions(m, dm);
      p[j] = keep;
      if (memcmp(dp, dm, nd * sizeof(int)) != 0) {
        skipped++;
        continue;
      }
      double fd = ((double)lp - lm) / (2 * h);
      double g = j < wcount ? cap.grad[li][0][j] : cap.grad[li][1][j - wcount];
      if (fabs(g) > largest) {
        largest = fabs(g);
      }
      if (fabs(g - fd) > 2e-3 + 2e-2 * fabs(g) && bad++ < 5) {
        CHECK(0, "layer %zu param %zu: backward %.6g, finite difference %.6g", li, j, g, fd);
      }
    }
    lb_train_layer_set_params(m, li, p);
    CHECK(largest > 1e-2, "layer %zu: gradients too small to test (%g)", li, largest);
    CHECK(skipped * 10 <= (int)count, "layer %zu: %d of %zu parameters across a kink", li, skipped,
          count);
    printf(
        "gradcheck layer %zu (%s): %zu parameters, largest |g| %.4f, %d off, %d skipped across a "
        "relu or maxpool kink\n",
        li, layers[li].kind == LB_LAYER_CONV2D ? "conv2d" : "dense", count, largest, bad, skipped);
    free(p);
  }
  lb_train_model_destroy(m);
  capture_free(&cap);
  return 0;
}

/* ---- fixed against float ---- */

typedef struct given_errors {
  const float *conv_error, *dense_error; /* of layers 1 and 3 */
} given_errors;

/* Hands fixed errors to the conv2d (layer 1) and dense (layer 3) layers and keeps their input
 * errors. */
static lb_status given_run(lb_train_model *m, const void *config) {
  const given_errors *e = config;
  size_t n;
  float *err = lb_train_layer_error(m, 3, &n);
  memcpy(err, e->dense_error, n * sizeof(float));
  lb_status s = lb_train_layer_backward(m, 3, 1);
  err = lb_train_layer_error(m, 1, &n);
  memcpy(err, e->conv_error, n * sizeof(float));
  return s == LB_OK ? lb_train_layer_backward(m, 1, 1) : s;
}

static int test_fixed(void) {
  enum { B = 2, H = 5, W = 5, C = 2, OC = 3, D = 4 };
  const int fla = 4, flw = 6, fle = 10;
  const double da = ldexp(1, -fla), de = ldexp(1, -fle);
  lb_train_layer_desc fl[] = {layer(LB_LAYER_RELU, 0, 0, 0, 0), layer(LB_LAYER_CONV2D, OC, 3, 1, 1),
                              layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
                              layer(LB_LAYER_DENSE, D, 0, 0, 0),
                              layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  lb_train_layer_desc fx[5];
  memcpy(fx, fl, sizeof fx);
  for (int i = 1; i <= 3; i += 2) {
    fx[i].format[LB_TENSOR_WEIGHTS] = fixed_format(8, flw, LB_ROUND_NEAREST);
    fx[i].format[LB_TENSOR_ACTIVATIONS] = fixed_format(8, fla, LB_ROUND_NEAREST);
    fx[i].format[LB_TENSOR_ERRORS] = fixed_format(8, fle, LB_ROUND_NEAREST);
  }
  float conv_err[B * H * W * OC], dense_err[B * D], input[B * H * W * C];
  for (size_t i = 0; i < B * H * W * OC; i++) {
    conv_err[i] = (float)(0.24 * uniform() - 0.12);
  }
  for (size_t i = 0; i < B * D; i++) {
    dense_err[i] = (float)(0.24 * uniform() - 0.12);
  }
  for (size_t i = 0; i < B * H * W * C; i++) {
    input[i] = (float)(2 * uniform());
  }
  given_errors ge = {conv_err, dense_err};
  lb_train_backward_path path = {"given", given_run, &ge};
  capture cap_x, cap_f;
  memset(&cap_x, 0, sizeof cap_x);
  memset(&cap_f, 0, sizeof cap_f);
  lb_train_optimizer opt_x = {"capture", capture_state_bytes, NULL, capture_step, &cap_x, NULL};
  lb_train_optimizer opt_f = {"capture", capture_state_bytes, NULL, capture_step, &cap_f, NULL};
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = B, desc.in_h = H, desc.in_w = W, desc.in_c = C, desc.layer_count = 5;
  desc.classes = D, desc.backward_path = &path, desc.seed = 3, desc.threads = 1;
  desc.layers = fx, desc.optimizer = &opt_x;
  lb_train_model *mx = make(&desc);
  desc.layers = fl, desc.optimizer = &opt_f;
  lb_train_model *mf = make(&desc);
  if (!mx || !mf) {
    return 1;
  }
  /* the float model gets the fixed model's weights */
  float wc[OC * 9 * C + OC], wd[D * H * W * OC + D];
  size_t n;
  lb_train_layer_params(mx, 1, wc, &n);
  lb_train_layer_set_params(mf, 1, wc);
  lb_train_layer_params(mx, 3, wd, &n);
  lb_train_layer_set_params(mf, 3, wd);
  uint8_t labels[B] = {0, 3};
  CHECK(lb_train_step(mx, input, labels, NULL, NULL) == LB_OK, "fixed step");
  CHECK(lb_train_step(mf, input, labels, NULL, NULL) == LB_OK, "float step");
  const float *yx = lb_train_layer_output(mx, 1, &n), *yf = lb_train_layer_output(mf, 1, NULL);
  /* conv forward: sum |w| over the taps times half an activation step */
  double worst = 0, shown = 0;
  for (size_t j = 0; j < n; j++) {
    size_t oc = j % OC;
    double bound = 1e-5;
    for (size_t t = 0; t < 9 * C; t++) {
      bound += fabs(wc[oc * 9 * C + t]) * da / 2;
    }
    double diff = fabs((double)yx[j] - yf[j]);
    CHECK(diff <= bound, "conv forward %zu: %g vs %g, bound %g", j, yx[j], yf[j], bound);
    worst = diff > worst ? diff : worst;
    shown = bound > shown ? bound : shown;
  }
  printf("conv forward: largest difference %.4g, bound up to %.4g\n", worst, shown);
  /* dense forward: its inputs differ by the conv's difference plus half a step */
  const float *zx = lb_train_layer_output(mx, 3, NULL), *zf = lb_train_layer_output(mf, 3, NULL);
  const size_t K = H * W * OC;
  for (size_t b = 0; b < B; b++) {
    for (size_t o = 0; o < D; o++) {
      double bound = 1e-5;
      for (size_t k = 0; k < K; k++) {
        bound += fabs(wd[o * K + k]) * (fabs((double)yx[b * K + k] - yf[b * K + k]) + da / 2);
      }
      double diff = fabs((double)zx[b * D + o] - zf[b * D + o]);
      CHECK(diff <= bound, "dense forward %zu %zu: %g vs %g, bound %g", b, o, zx[b * D + o],
            zf[b * D + o], bound);
    }
  }
  /* dense dX (into the flatten's error) and dW */
  const float *ex = lb_train_layer_error(mx, 2, NULL), *ef = lb_train_layer_error(mf, 2, NULL);
  for (size_t b = 0; b < B; b++) {
    for (size_t k = 0; k < K; k++) {
      double bound = 1e-6;
      for (size_t o = 0; o < D; o++) {
        bound += fabs(wd[o * K + k]) * de / 2;
      }
      double diff = fabs((double)ex[b * K + k] - ef[b * K + k]);
      CHECK(diff <= bound, "dense dX %zu %zu: %g vs %g, bound %g", b, k, ex[b * K + k],
            ef[b * K + k], bound);
    }
  }
  for (size_t o = 0; o < D; o++) {
    for (size_t k = 0; k < K; k++) {
      double bound = 1e-6;
      for (size_t b = 0; b < B; b++) {
        double dx = fabs((double)yx[b * K + k] - yf[b * K + k]) + da / 2;
        bound += fabs(dense_err[b * D + o]) * dx + fabs(yf[b * K + k]) * de / 2 + dx * de / 2;
      }
      double gx = cap_x.grad[3][0][o * K + k], gf = cap_f.grad[3][0][o * K + k];
      CHECK(fabs(gx - gf) <= bound, "dense dW %zu %zu: %g vs %g, bound %g", o, k, gx, gf, bound);
    }
    double gbx = cap_x.grad[3][1][o], gbf = cap_f.grad[3][1][o];
    CHECK(fabs(gbx - gbf) <= B * de / 2 + 1e-6, "dense bias %zu: %g vs %g", o, gbx, gbf);
  }
  /* conv dX (into the relu's error) and dW */
  ex = lb_train_layer_error(mx, 0, &n), ef = lb_train_layer_error(mf, 0, NULL);
  for (size_t j = 0; j < n; j++) {
    size_t c = j % C;
    double bound = 1e-6;
    for (size_t oc = 0; oc < OC; oc++) {
      for (size_t t = 0; t < 9; t++) {
        bound += fabs(wc[(oc * 9 + t) * C + c]) * de / 2;
      }
    }
    double diff = fabs((double)ex[j] - ef[j]);
    CHECK(diff <= bound, "conv dX %zu: %g vs %g, bound %g", j, ex[j], ef[j], bound);
  }
  for (size_t oc = 0; oc < OC; oc++) {
    for (size_t t = 0; t < 9; t++) {
      for (size_t c = 0; c < C; c++) {
        size_t ky = t / 3, kx = t % 3, wi = (oc * 9 + t) * C + c;
        double bound = 1e-6;
        for (size_t b = 0; b < B; b++) {
          for (size_t oy = 0; oy < H; oy++) {
            for (size_t ox = 0; ox < W; ox++) {
              long iy = (long)(oy + ky) - 1, ix = (long)(ox + kx) - 1;
              if (iy < 0 || ix < 0 || iy >= H || ix >= W) {
                continue;
              }
              double e = fabs(conv_err[((b * H + oy) * W + ox) * OC + oc]);
              double x = input[((b * H + (size_t)iy) * W + (size_t)ix) * C + c];
              bound += e * da / 2 + x * de / 2 + da * de / 4;
            }
          }
        }
        double gx = cap_x.grad[1][0][wi], gf = cap_f.grad[1][0][wi];
        CHECK(fabs(gx - gf) <= bound, "conv dW %zu: %g vs %g, bound %g", wi, gx, gf, bound);
      }
    }
  }
  lb_train_model_destroy(mx);
  lb_train_model_destroy(mf);
  capture_free(&cap_x);
  capture_free(&cap_f);
  return 0;
}

/* ---- a small MLP on a separable synthetic set ---- */

enum { FEATURES = 16, HIDDEN = 32, CLASSES = 4, TRAIN = 1024, TEST = 512, BATCH = 32 };

static float train_x[TRAIN * FEATURES], test_x[TEST * FEATURES];
static uint8_t train_y[TRAIN], test_y[TEST];

static void make_dataset(void) {
  float centers[CLASSES][FEATURES];
  rng_state = 99;
  for (int c = 0; c < CLASSES; c++) {
    for (int f = 0; f < FEATURES; f++) {
      centers[c][f] = uniform() < 0.5 ? -0.5f : 0.5f;
    }
  }
  for (int i = 0; i < TRAIN + TEST; i++) {
    int c = (int)(uniform() * CLASSES);
    float *x = i < TRAIN ? train_x + i * FEATURES : test_x + (i - TRAIN) * FEATURES;
    for (int f = 0; f < FEATURES; f++) {
      x[f] = (float)(centers[c][f] + (uniform() * 2 - 1) * 0.9);
    }
    if (i < TRAIN) {
      train_y[i] = (uint8_t)c;
    } else {
      test_y[i - TRAIN] = (uint8_t)c;
    }
  }
}

typedef struct mlp_run {
  int fixed;
  lb_rounding rounding;
  int master;
  unsigned threads;
  size_t steps;
  const lb_number_format *custom; /* [LB_TENSOR_KINDS] of both dense layers, or NULL */
} mlp_run;

/* Trains the MLP and returns its test accuracy; the weights go to params (may be NULL). */
static double train_mlp(const mlp_run *r, float *params) {
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_FLATTEN, 0, 0, 0, 0), layer(LB_LAYER_DENSE, HIDDEN, 0, 0, 0),
      layer(LB_LAYER_RELU, 0, 0, 0, 0), layer(LB_LAYER_DENSE, CLASSES, 0, 0, 0),
      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  if (r->fixed) {
    for (int i = 1; i <= 3; i += 2) {
      layers[i].format[LB_TENSOR_WEIGHTS] = fixed_format(8, 6, r->rounding);
      layers[i].format[LB_TENSOR_ACTIVATIONS] = fixed_format(8, 4, r->rounding);
      layers[i].format[LB_TENSOR_ERRORS] = fixed_format(8, 12, r->rounding);
      layers[i].format[LB_TENSOR_GRADIENTS] = fixed_format(8, 7, r->rounding);
    }
  }
  for (int i = 1; r->custom && i <= 3; i += 2) {
    memcpy(layers[i].format, r->custom, sizeof layers[i].format);
  }
  lb_train_sgd_config sgd = {0.02f, 0.0f, 0.0f, r->master, 8, {0}};
  lb_train_optimizer opt = lb_train_sgd(&sgd);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = BATCH, desc.in_h = 1, desc.in_w = 1, desc.in_c = FEATURES;
  desc.layer_count = 5, desc.layers = layers, desc.classes = CLASSES, desc.optimizer = &opt;
  desc.seed = 2024, desc.threads = r->threads;
  lb_train_model *m = make(&desc);
  if (!m) {
    return 0;
  }
  for (size_t s = 0; s < r->steps; s++) {
    size_t at = s * BATCH % TRAIN;
    lb_status st = lb_train_step(m, train_x + at * FEATURES, train_y + at, NULL, NULL);
    CHECK(st == LB_OK, "step %zu: %s", s, lb_status_string(st));
  }
  size_t hits = 0;
  for (size_t at = 0; at < TEST; at += BATCH) {
    size_t c = 0;
    lb_train_evaluate(m, test_x + at * FEATURES, test_y + at, NULL, &c);
    hits += c;
  }
  if (params) {
    size_t n, off = 0;
    for (size_t i = 1; i <= 3; i += 2) {
      lb_train_layer_params(m, i, params + off, &n);
      off += n;
    }
  }
  lb_train_model_destroy(m);
  return (double)hits / TEST;
}

static int test_mlp(void) {
  make_dataset();
  mlp_run fl = {0, LB_ROUND_NEAREST, LB_SGD_MASTER_NONE, 1, 600, NULL};
  mlp_run sr = {1, LB_ROUND_STOCHASTIC, LB_SGD_MASTER_NONE, 1, 600, NULL};
  mlp_run rn = {1, LB_ROUND_NEAREST, LB_SGD_MASTER_NONE, 1, 600, NULL};
  mlp_run ms = {1, LB_ROUND_NEAREST, LB_SGD_MASTER_F32, 1, 600, NULL};
  double a_float = train_mlp(&fl, NULL), a_sr = train_mlp(&sr, NULL);
  double a_rn = train_mlp(&rn, NULL), a_master = train_mlp(&ms, NULL);
  printf("MLP %d-%d-%d test accuracy: float %.3f, 8-bit SR %.3f, 8-bit nearest %.3f, 8-bit nearest "
         "with a float master %.3f\n",
         FEATURES, HIDDEN, CLASSES, a_float, a_sr, a_rn, a_master);
  CHECK(a_float >= 0.95, "float accuracy %.3f", a_float);
  CHECK(a_sr >= 0.93, "8-bit SR accuracy %.3f", a_sr);
  CHECK(a_rn <= a_sr - 0.3, "8-bit round-to-nearest %.3f is not clearly worse than SR %.3f", a_rn,
        a_sr);
  CHECK(a_master >= 0.93, "8-bit nearest with a float master %.3f", a_master);
  return 0;
}

/* ---- the simulation hooks: minifloat, BFP, LNS and mixed formats on the float path ---- */

static int test_formats(void) {
  make_dataset();
  lb_number_format e5m2 = float_format(), bfp = float_format(), lns = float_format();
  e5m2.kind = LB_NUMBER_MINIFLOAT, e5m2.rounding = LB_ROUND_STOCHASTIC;
  e5m2.minifloat = (lb_minifloat_format){5, 2};
  bfp.kind = LB_NUMBER_BFP, bfp.rounding = LB_ROUND_STOCHASTIC;
  bfp.bfp = (lb_bfp_format){7, 8};
  lns.kind = LB_NUMBER_LNS, lns.rounding = LB_ROUND_STOCHASTIC;
  lns.lns = (lb_lns_format){8, 8, -100}; /* 2^-12.4 .. 2^3.4 */
  const struct {
    const char *name;
    lb_number_format f;
  } kinds[] = {{"E5M2", e5m2}, {"BFP m7 n8", bfp}, {"LNS 8-bit", lns}};
  static float reference[HIDDEN * (FEATURES + 1) + CLASSES * (HIDDEN + 1)];
  static float trained[sizeof reference / sizeof reference[0]];
  mlp_run plain = {0, LB_ROUND_NEAREST, LB_SGD_MASTER_NONE, 1, 600, NULL};
  train_mlp(&plain, reference);
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    lb_number_format all[LB_TENSOR_KINDS];
    for (int t = 0; t < LB_TENSOR_KINDS; t++) {
      all[t] = kinds[k].f;
    }
    mlp_run r = {0, LB_ROUND_NEAREST, LB_SGD_MASTER_NONE, 1, 600, all};
    double a = train_mlp(&r, trained);
    CHECK(memcmp(trained, reference, sizeof trained) != 0, "%s: the float run's weights",
          kinds[k].name);
    printf("MLP with %s weights, activations, errors and gradients (SR, float master): %.3f\n",
           kinds[k].name, a);
    CHECK(a >= 0.9, "%s accuracy %.3f", kinds[k].name, a);
  }
  /* fixed activations alone: the float path on the rounded input, against a reference here */
  lb_train_layer_desc layers[] = {layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
                                  layer(LB_LAYER_DENSE, CLASSES, 0, 0, 0),
                                  layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  layers[1].format[LB_TENSOR_ACTIVATIONS] = fixed_format(4, 1, LB_ROUND_NEAREST);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = BATCH, desc.in_h = 1, desc.in_w = 1, desc.in_c = FEATURES, desc.layer_count = 3;
  desc.layers = layers, desc.classes = CLASSES, desc.threads = 1;
  lb_train_model *m = make(&desc);
  if (!m) {
    return 1;
  }
  float w[CLASSES * (FEATURES + 1)];
  size_t n;
  lb_train_layer_params(m, 1, w, &n);
  CHECK(lb_train_evaluate(m, train_x, train_y, NULL, NULL) == LB_OK, "evaluate");
  const float *y = lb_train_layer_output(m, 1, NULL);
  int rounded = 0;
  for (size_t b = 0; b < BATCH; b++) {
    for (size_t o = 0; o < CLASSES; o++) {
      double acc = w[CLASSES * FEATURES + o];
      for (size_t f = 0; f < FEATURES; f++) {
        double x = train_x[b * FEATURES + f], q = nearbyint(x * 2);
        q = q < -8 ? -8 : q > 7 ? 7 : q;
        rounded += q / 2 != x;
        acc += q / 2 * w[o * FEATURES + f];
      }
      CHECK(fabs(acc - y[b * CLASSES + o]) <= 1e-5, "rounded input %zu %zu: %g, reference %g", b, o,
            y[b * CLASSES + o], acc);
    }
  }
  CHECK(rounded > 0, "no input was rounded");
  lb_train_model_destroy(m);
  return 0;
}

/* ---- thread independence ---- */

static void conv_params(unsigned threads, float *params, size_t *count) {
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_CONV2D, 8, 3, 1, 1),  layer(LB_LAYER_RELU, 0, 0, 0, 0),
      layer(LB_LAYER_MAXPOOL, 0, 0, 0, 0), layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
      layer(LB_LAYER_DENSE, 4, 0, 0, 0),   layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  for (int i = 0; i <= 4; i += 4) {
    layers[i].format[LB_TENSOR_WEIGHTS] = fixed_format(8, 6, LB_ROUND_STOCHASTIC);
    layers[i].format[LB_TENSOR_ACTIVATIONS] = fixed_format(8, 4, LB_ROUND_STOCHASTIC);
    layers[i].format[LB_TENSOR_ERRORS] = fixed_format(8, 12, LB_ROUND_STOCHASTIC);
    layers[i].format[LB_TENSOR_GRADIENTS] = fixed_format(8, 7, LB_ROUND_STOCHASTIC);
  }
  lb_train_sgd_config sgd = {0.05f, 0.9f, 0.0001f, LB_SGD_MASTER_NONE, 8, {0}};
  lb_train_optimizer opt = lb_train_sgd(&sgd);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = 8, desc.in_h = 12, desc.in_w = 12, desc.in_c = 3, desc.layer_count = 6;
  desc.layers = layers, desc.classes = 4, desc.optimizer = &opt, desc.seed = 5;
  desc.threads = threads;
  lb_train_model *m = make(&desc);
  if (!m) {
    return;
  }
  static float input[8 * 12 * 12 * 3];
  uint8_t labels[8];
  rng_state = 17;
  for (int s = 0; s < 10; s++) {
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
      input[i] = (float)uniform();
    }
    for (int b = 0; b < 8; b++) {
      labels[b] = (uint8_t)((b + s) % 4);
    }
    CHECK(lb_train_step(m, input, labels, NULL, NULL) == LB_OK, "conv step %d", s);
  }
  size_t n, off = 0;
  for (size_t i = 0; i <= 4; i += 4) {
    lb_train_layer_params(m, i, params + off, &n);
    off += n;
  }
  *count = off;
  lb_train_model_destroy(m);
}

static int test_threads(void) {
  make_dataset();
  static float a[HIDDEN * (FEATURES + 1) + CLASSES * (HIDDEN + 1)];
  static float b[sizeof a / sizeof a[0]];
  mlp_run one = {1, LB_ROUND_STOCHASTIC, LB_SGD_MASTER_NONE, 1, 50, NULL};
  mlp_run two = one;
  two.threads = 2;
  train_mlp(&one, a);
  train_mlp(&two, b);
  CHECK(memcmp(a, b, sizeof a) == 0, "MLP weights differ between 1 and 2 threads");
  static float c[8 * 27 + 8 + 4 * 6 * 6 * 8 + 4], d[sizeof c / sizeof c[0]];
  size_t nc = 0, nd = 0;
  conv_params(1, c, &nc);
  conv_params(2, d, &nd);
  CHECK(nc == sizeof c / sizeof c[0] && nc == nd, "conv parameter counts %zu %zu", nc, nd);
  CHECK(memcmp(c, d, sizeof c) == 0, "conv weights differ between 1 and 2 threads");
  /* and the run moved the weights away from a fresh model's */
  mlp_run none = one;
  none.steps = 0;
  train_mlp(&none, b);
  CHECK(memcmp(a, b, sizeof a) != 0, "training did not change the weights");
  return 0;
}

/* ---- CPT ---- */

static unsigned reference_bits(unsigned lo, unsigned hi, uint64_t t, uint64_t period, int *tie) {
  double pi = 3.14159265358979323846;
  double v = lo + (hi - lo) * (1 + cos(pi * (double)(t % period) / (double)period + pi)) / 2;
  *tie = fabs(v - floor(v) - 0.5) < 1e-9;
  return (unsigned)floor(v + 0.5);
}

static int test_cpt(void) {
  struct {
    unsigned lo, hi, bw, static_fw, static_bw;
    double published;
  } cases[] = {
      {3, 8, 8, 8, 8, 36.7}, {3, 6, 6, 6, 6, 30.1}, {4, 8, 8, 8, 8, 30.1}, {4, 6, 6, 6, 6, 20.7}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    lb_precision_schedule s = {LB_SCHEDULE_CYCLIC, cases[c].lo, cases[c].hi, 32000, 32};
    lb_bitops_counter counter = {0, 0};
    unsigned seen_lo = 99, seen_hi = 0;
    for (uint64_t t = 0; t < s.total_steps; t++) {
      unsigned b = lb_schedule_fw_bits(&s, t);
      int tie;
      unsigned r = reference_bits(cases[c].lo, cases[c].hi, t, 1000, &tie);
      CHECK(b == r || tie, "FW(%u,%u) step %llu: %u bits, reference %u", cases[c].lo, cases[c].hi,
            (unsigned long long)t, b, r);
      seen_lo = b < seen_lo ? b : seen_lo;
      seen_hi = b > seen_hi ? b : seen_hi;
      lb_bitops_add(&counter, 1000.0, b, cases[c].bw);
    }
    double saving =
        100 * (1 - lb_bitops_relative(&counter, cases[c].static_fw, cases[c].static_bw));
    printf("CPT FW(%u,%u)/BW%u vs %u/%u: %.2f%% fewer BitOPs (published %.1f%%), %.4f of float\n",
           cases[c].lo, cases[c].hi, cases[c].bw, cases[c].static_fw, cases[c].static_bw, saving,
           cases[c].published, lb_bitops_relative(&counter, 32, 32));
    CHECK(fabs(saving - cases[c].published) < 0.06, "saving %.3f, published %.1f", saving,
          cases[c].published);
    CHECK(seen_lo == cases[c].lo && seen_hi == cases[c].hi, "bits span %u..%u", seen_lo, seen_hi);
  }
  lb_precision_schedule fixed = {LB_SCHEDULE_FIXED, 3, 8, 100, 32};
  CHECK(lb_schedule_fw_bits(&fixed, 5) == 0, "a fixed schedule has no bits of its own");
  /* a CPT model counts its layers' MACs at the schedule's bits */
  make_dataset();
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_FLATTEN, 0, 0, 0, 0), layer(LB_LAYER_DENSE, HIDDEN, 0, 0, 0),
      layer(LB_LAYER_RELU, 0, 0, 0, 0), layer(LB_LAYER_DENSE, CLASSES, 0, 0, 0),
      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  for (int i = 1; i <= 3; i += 2) {
    layers[i].format[LB_TENSOR_WEIGHTS] = fixed_format(8, 6, LB_ROUND_STOCHASTIC);
    layers[i].format[LB_TENSOR_ACTIVATIONS] = fixed_format(8, 4, LB_ROUND_STOCHASTIC);
    layers[i].format[LB_TENSOR_ERRORS] = fixed_format(8, 12, LB_ROUND_STOCHASTIC);
  }
  lb_train_sgd_config sgd = {0.1f, 0.0f, 0.0f, LB_SGD_MASTER_NONE, 8, {0}};
  lb_train_optimizer opt = lb_train_sgd(&sgd);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = BATCH, desc.in_h = 1, desc.in_w = 1, desc.in_c = FEATURES, desc.layer_count = 5;
  desc.layers = layers, desc.classes = CLASSES, desc.optimizer = &opt, desc.seed = 1;
  desc.threads = 1;
  desc.schedule = (lb_precision_schedule){LB_SCHEDULE_CYCLIC, 3, 8, 320, 32};
  lb_train_model *m = make(&desc);
  if (!m) {
    return 1;
  }
  double macs = BATCH * (FEATURES * HIDDEN + HIDDEN * CLASSES), expect = 0;
  for (uint64_t t = 0; t < 320; t++) {
    unsigned b = lb_train_model_fw_bits(m);
    int tie;
    CHECK(b == reference_bits(3, 8, t, 10, &tie) || tie, "model bits at %llu",
          (unsigned long long)t);
    expect += macs * (b * b + 16.0 * b);
    size_t at = t * BATCH % TRAIN;
    CHECK(lb_train_step(m, train_x + at * FEATURES, train_y + at, NULL, NULL) == LB_OK, "CPT step");
  }
  const lb_bitops_counter *counter = lb_train_model_bitops(m);
  CHECK(counter->macs == 320 * macs, "counted MACs %g", counter->macs);
  CHECK(fabs(counter->bitops - expect) <= 1e-9 * expect, "BitOPs %g, expected %g", counter->bitops,
        expect);
  size_t hits = 0;
  for (size_t at = 0; at < TEST; at += BATCH) {
    size_t c = 0;
    lb_train_evaluate(m, test_x + at * FEATURES, test_y + at, NULL, &c);
    hits += c;
  }
  printf("CPT 3..8 MLP: %.3f of static 8/8 BitOPs, test accuracy %.3f\n",
         lb_bitops_relative(counter, 8, 8), (double)hits / TEST);
  CHECK((double)hits / TEST >= 0.9, "CPT MLP accuracy %.3f", (double)hits / TEST);
  lb_train_model_destroy(m);
  return 0;
}

/* ---- memory ---- */

static size_t mlp_memory(size_t batch, int fixed) {
  lb_train_layer_desc layers[] = {
      layer(LB_LAYER_FLATTEN, 0, 0, 0, 0), layer(LB_LAYER_DENSE, HIDDEN, 0, 0, 0),
      layer(LB_LAYER_RELU, 0, 0, 0, 0), layer(LB_LAYER_DENSE, CLASSES, 0, 0, 0),
      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  if (fixed) {
    for (int i = 1; i <= 3; i += 2) {
      layers[i].format[LB_TENSOR_WEIGHTS] = fixed_format(8, 6, LB_ROUND_STOCHASTIC);
      layers[i].format[LB_TENSOR_ACTIVATIONS] = fixed_format(8, 4, LB_ROUND_STOCHASTIC);
      layers[i].format[LB_TENSOR_ERRORS] = fixed_format(8, 12, LB_ROUND_STOCHASTIC);
    }
  }
  lb_train_sgd_config sgd = {0.1f, 0.9f, 0.0f, LB_SGD_MASTER_NONE, 8, {0}};
  lb_train_optimizer opt = lb_train_sgd(&sgd);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = batch, desc.in_h = 1, desc.in_w = 1, desc.in_c = FEATURES, desc.layer_count = 5;
  desc.layers = layers, desc.classes = CLASSES, desc.optimizer = &opt, desc.threads = 1;
  lb_train_model *m = make(&desc);
  size_t bytes = lb_train_model_memory(m);
  lb_train_model_destroy(m);
  return bytes;
}

static int test_memory(void) {
  const size_t params = HIDDEN * (FEATURES + 1) + CLASSES * (HIDDEN + 1);
  for (size_t batch = 16; batch <= 64; batch *= 2) {
    /* float: weights, gradients and momentum; outputs and errors of the five layers; the
     * largest scratch of a layer's output */
    size_t per_image = FEATURES + HIDDEN + HIDDEN + CLASSES + CLASSES;
    size_t floor_bytes = 4 * (3 * params + 2 * batch * per_image);
    size_t f = mlp_memory(batch, 0), x = mlp_memory(batch, 1);
    printf("memory, batch %zu: float %zu bytes, 8-bit fixed %zu bytes (float floor %zu)\n", batch,
           f, x, floor_bytes);
    CHECK(f >= floor_bytes && f <= floor_bytes + 4 * batch * HIDDEN * 4 + 64 * 40,
          "float arena %zu, expected from %zu", f, floor_bytes);
    CHECK(x > 0 && lb_train_model_memory(NULL) == 0, "fixed arena %zu", x);
    if (batch > 16) {
      CHECK(mlp_memory(batch, 0) > mlp_memory(batch / 2, 0), "memory grows with the batch");
    }
  }
  return 0;
}

/* ---- refused descriptions ---- */

static int test_invalid(void) {
  lb_train_layer_desc ok[] = {layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
                              layer(LB_LAYER_DENSE, 3, 0, 0, 0),
                              layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = 2, desc.in_h = 2, desc.in_w = 2, desc.in_c = 1, desc.layer_count = 3;
  desc.layers = ok, desc.classes = 3, desc.threads = 1;
  lb_train_model *m = NULL;
  CHECK(lb_train_model_create(&desc, &m) == LB_OK, "a valid model");
  float input[8] = {0};
  uint8_t bad_labels[2] = {0, 3};
  CHECK(lb_train_step(m, input, bad_labels, NULL, NULL) == LB_INVALID_ARGUMENT, "label 3 of 3");
  CHECK(lb_train_step(m, NULL, bad_labels, NULL, NULL) == LB_INVALID_ARGUMENT, "NULL input");
  CHECK(lb_train_layer_backward(m, 3, 1) == LB_INVALID_ARGUMENT, "backward past the layers");
  lb_train_model_destroy(m);
  lb_train_model *none = NULL;
  desc.classes = 4;
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT && !none, "classes mismatch");
  desc.classes = 3;
  lb_train_layer_desc no_flatten[] = {layer(LB_LAYER_DENSE, 3, 0, 0, 0),
                                      layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  desc.layers = no_flatten, desc.layer_count = 2;
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT, "dense on an image");
  lb_train_layer_desc no_loss[] = {layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
                                   layer(LB_LAYER_DENSE, 3, 0, 0, 0)};
  desc.layers = no_loss;
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT, "no loss layer");
  lb_train_layer_desc bad_format[3];
  memcpy(bad_format, ok, sizeof ok);
  bad_format[1].format[LB_TENSOR_WEIGHTS] = fixed_format(17, 4, LB_ROUND_NEAREST);
  desc.layers = bad_format, desc.layer_count = 3;
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT, "17-bit weights");
  lb_train_layer_desc big_kernel[] = {
      layer(LB_LAYER_CONV2D, 2, 3, 1, 0), layer(LB_LAYER_FLATTEN, 0, 0, 0, 0),
      layer(LB_LAYER_DENSE, 3, 0, 0, 0), layer(LB_LAYER_SOFTMAX_XENT, 0, 0, 0, 0)};
  desc.layers = big_kernel, desc.layer_count = 4;
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT, "3x3 kernel on 2x2");
  desc.layers = ok, desc.layer_count = 3;
  desc.schedule = (lb_precision_schedule){LB_SCHEDULE_CYCLIC, 9, 8, 100, 32};
  CHECK(lb_train_model_create(&desc, &none) == LB_INVALID_ARGUMENT, "b_min above b_max");
  CHECK(lb_train_model_create(NULL, &none) == LB_INVALID_ARGUMENT, "NULL desc");
  return 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(void);
  } parts[] = {{"gradcheck", test_gradcheck}, {"fixed", test_fixed},     {"mlp", test_mlp},
               {"formats", test_formats},     {"threads", test_threads}, {"cpt", test_cpt},
               {"memory", test_memory},       {"invalid", test_invalid}};
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
