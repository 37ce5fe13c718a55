/* Loss scaling and the 16-bit master copy in the training engine (lowbit/train.h, docs/design.md
 * section 28): an injected overflow skips the step and leaves every parameter and the optimizer
 * state untouched; the scale follows the halving, doubling and rising-floor rules written out
 * here and survive save/load of the state; a static power-of-two scale is removed exactly (the
 * weights of a scaled float run are the unscaled run's bit for bit); E5M2 errors past 57344 count
 * as an overflow; a minifloat or BFP master holds values of its format after create and after
 * steps, and save/load of the state continues bit for bit; refused descriptions. */
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

#define FEATURES 12
#define HIDDEN 16
#define CLASSES 4
#define BATCH 16
#define PARAMS (HIDDEN * (FEATURES + 1) + CLASSES * (HIDDEN + 1))

static float inputs[BATCH * FEATURES];
static uint8_t labels[BATCH];

static void make_batch(unsigned seed) {
  uint64_t s = 0x9e3779b97f4a7c15ull * (seed + 1);
  for (size_t b = 0; b < BATCH; b++) {
    labels[b] = (uint8_t)(b % CLASSES);
    for (size_t f = 0; f < FEATURES; f++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      double u = (double)(s >> 11) * (1.0 / 9007199254740992.0);
      inputs[b * FEATURES + f] = (float)(u - 0.5 + (f % CLASSES == labels[b] ? 1.0 : 0.0));
    }
  }
}

static lb_number_format format_of(lb_number_kind kind, unsigned a, unsigned b, lb_rounding r) {
  lb_number_format f;
  memset(&f, 0, sizeof f);
  f.kind = kind, f.rounding = r;
  if (kind == LB_NUMBER_MINIFLOAT) {
    f.minifloat = (lb_minifloat_format){a, b};
  } else if (kind == LB_NUMBER_BFP) {
    f.bfp = (lb_bfp_format){a, b};
  }
  return f;
}

typedef struct setup {
  lb_train_layer_desc layers[5];
  lb_train_sgd_config sgd;
  lb_train_optimizer opt;
  lb_train_backward_path path;
  lb_loss_scale_config ls;
  lb_train_model_desc desc;
} setup;

/* The MLP FEATURES-HIDDEN-CLASSES, every parameter layer in `f` (NULL: float), with loss scaling
 * when ls is set. */
static void make_setup(setup *s, const lb_number_format *f, const lb_loss_scale_config *ls) {
  memset(s, 0, sizeof *s);
  lb_train_layer_kind kinds[5] = {LB_LAYER_FLATTEN, LB_LAYER_DENSE, LB_LAYER_RELU, LB_LAYER_DENSE,
                                  LB_LAYER_SOFTMAX_XENT};
  size_t outs[5] = {0, HIDDEN, 0, CLASSES, 0};
  for (int i = 0; i < 5; i++) {
    s->layers[i].kind = kinds[i], s->layers[i].out_c = outs[i];
    for (int t = 0; f && (i == 1 || i == 3) && t < LB_TENSOR_KINDS; t++) {
      s->layers[i].format[t] = *f;
    }
  }
  s->sgd.learning_rate = 0.05f, s->sgd.momentum = 0.9f, s->sgd.weight_decay = 0.001f;
  s->opt = lb_train_sgd(&s->sgd);
  s->desc.batch = BATCH, s->desc.in_h = 1, s->desc.in_w = 1, s->desc.in_c = FEATURES;
  s->desc.layer_count = 5, s->desc.layers = s->layers, s->desc.classes = CLASSES;
  s->desc.optimizer = &s->opt, s->desc.seed = 77, s->desc.threads = 1;
  if (ls) {
    s->ls = *ls;
    s->desc.loss_scale = &s->ls;
  }
}

static lb_train_model *create(setup *s) {
  lb_train_model *m = NULL;
  lb_status st = lb_train_model_create(&s->desc, &m);
  CHECK(st == LB_OK, "create: %s", lb_status_string(st));
  return m;
}

static void params(const lb_train_model *m, float *out) {
  size_t n = 0, off = 0;
  for (size_t i = 1; i <= 3; i += 2) {
    lb_train_layer_params(m, i, out + off, &n);
    off += n;
  }
}

/* A backward path that is backpropagation with, when *inject is set, an infinity written into
 * the first dense layer's output error: its gradients turn infinite after the second dense
 * layer's were computed cleanly. */
static lb_status inject_run(lb_train_model *m, const void *config) {
  const int *inject = config;
  for (size_t i = lb_train_layer_count(m); i-- > 0;) {
    if (i == 1 && *inject) {
      lb_train_layer_error(m, 1, NULL)[3] = INFINITY;
    }
    lb_status s = lb_train_layer_backward(m, i, i > 0);
    if (s != LB_OK) {
      return s;
    }
  }
  return LB_OK;
}

static lb_loss_scale_config dynamic(int log2, unsigned interval, uint64_t floor_interval) {
  lb_loss_scale_config c;
  memset(&c, 0, sizeof c);
  c.mode = LB_LOSS_SCALE_DYNAMIC, c.log2_scale = log2, c.max_log2 = log2 + 3;
  c.growth_interval = interval, c.min_log2 = log2 - 4, c.floor_interval = floor_interval;
  c.floor_step = 1, c.floor_cap_log2 = log2 + 1;
  return c;
}

/* ---- an injected overflow ---- */

static int test_overflow(void) {
  lb_loss_scale_config ls = dynamic(8, 1000, 0);
  setup s;
  make_setup(&s, NULL, &ls);
  int inject = 0;
  s.path = (lb_train_backward_path){"inject", inject_run, &inject};
  s.desc.backward_path = &s.path;
  lb_train_model *m = create(&s);
  if (!m) {
    return 1;
  }
  for (unsigned step = 0; step < 3; step++) {
    make_batch(step);
    CHECK(lb_train_step(m, inputs, labels, NULL, NULL) == LB_OK, "clean step %u", step);
  }
  size_t bytes = lb_train_model_state_bytes(m);
  unsigned char *before = malloc(bytes), *after = malloc(bytes);
  static float w0[PARAMS], w1[PARAMS];
  lb_train_model_save_state(m, before, bytes);
  params(m, w0);
  inject = 1;
  make_batch(3);
  lb_status st = lb_train_step(m, inputs, labels, NULL, NULL);
  CHECK(st == LB_BAD_GRADIENT, "the injected step returned %s", lb_status_string(st));
  params(m, w1);
  CHECK(memcmp(w0, w1, sizeof w0) == 0, "the skipped step changed a weight");
  lb_train_model_save_state(m, after, bytes);
  /* the step (8 bytes), the BitOPs counter (16) and the loss-scale state (28) change; the
   * parameters and the optimizer state after them must not */
  size_t head = 8 + 16 + 4 + 4 + 4 + 8 + 8;
  CHECK(bytes > head && memcmp(before + head, after + head, bytes - head) == 0,
        "the skipped step changed the parameters or the optimizer state");
  const lb_loss_scale *state = lb_train_model_loss_scale(m);
  CHECK(state && state->log2_scale == 7 && state->skipped == 1, "after the overflow: 2^%d, %llu",
        state ? state->log2_scale : 0, state ? (unsigned long long)state->skipped : 0ull);
  CHECK(lb_train_model_step(m) == 4, "the step counter advances on a skipped step");
  inject = 0;
  make_batch(4);
  CHECK(lb_train_step(m, inputs, labels, NULL, NULL) == LB_OK, "clean after the overflow");
  params(m, w1);
  CHECK(memcmp(w0, w1, sizeof w0) != 0, "a clean step did not change the weights");
  free(before);
  free(after);
  lb_train_model_destroy(m);

  /* E5M2 errors: a scale that pushes the loss error past 57344 is an overflow (the quantizer
   * would saturate it), a modest one is not */
  lb_number_format e5m2 = format_of(LB_NUMBER_MINIFLOAT, 5, 2, LB_ROUND_STOCHASTIC);
  for (int log2 = 4; log2 <= 22; log2 += 18) {
    lb_loss_scale_config st_ls;
    memset(&st_ls, 0, sizeof st_ls);
    st_ls.mode = LB_LOSS_SCALE_STATIC, st_ls.log2_scale = log2;
    make_setup(&s, &e5m2, &st_ls);
    m = create(&s);
    if (!m) {
      return 1;
    }
    make_batch(0);
    /* |error| <= 1 / BATCH = 2^-4, times 2^22 is 2^18 > 57344; times 2^4 is 1 */
    st = lb_train_step(m, inputs, labels, NULL, NULL);
    CHECK(st == (log2 > 16 ? LB_BAD_GRADIENT : LB_OK), "E5M2 with scale 2^%d: %s", log2,
          lb_status_string(st));
    CHECK(lb_train_model_loss_scale(m)->log2_scale == log2, "a static scale changed");
    lb_train_model_destroy(m);
  }
  return 0;
}

/* ---- the scale's rules, against the rules written here ---- */

typedef struct reference {
  int e, floor;
  unsigned clean;
  uint64_t step, skipped;
} reference;

static void reference_step(reference *r, const lb_loss_scale_config *c, int clean) {
  r->step++;
  if (clean) {
    if (++r->clean == c->growth_interval) {
      r->e = r->e + 1 > c->max_log2 ? c->max_log2 : r->e + 1;
      r->clean = 0;
    }
  } else {
    r->clean = 0, r->skipped++;
    r->e = r->e - 1 < r->floor ? r->floor : r->e - 1;
  }
  if (c->floor_interval && r->step % c->floor_interval == 0) {
    r->floor = r->floor + (int)c->floor_step > c->floor_cap_log2 ? c->floor_cap_log2
                                                                 : r->floor + (int)c->floor_step;
    r->e = r->e < r->floor ? r->floor : r->e;
  }
}

static int test_schedule(void) {
  lb_loss_scale_config ls = dynamic(6, 3, 7); /* doubles after 3 clean, floor rises every 7 */
  setup s;
  make_setup(&s, NULL, &ls);
  int inject = 0;
  s.path = (lb_train_backward_path){"inject", inject_run, &inject};
  s.desc.backward_path = &s.path;
  lb_train_model *m = create(&s);
  if (!m) {
    return 1;
  }
  reference r = {ls.log2_scale, ls.min_log2, 0, 0, 0};
  /* overflow pattern: runs of bad steps drive the scale to the floor, clean runs double it to
   * the ceiling */
  const char *pattern = "bbbbbbcccccccccccccbcbccbbbbbbbbcccccccccccccccc";
  int seen_halve = 0, seen_double = 0, seen_rise = 0, seen_cap = 0;
  for (size_t t = 0; pattern[t]; t++) {
    inject = pattern[t] == 'b';
    make_batch((unsigned)t);
    int e_before = r.e, floor_before = r.floor;
    lb_status st = lb_train_step(m, inputs, labels, NULL, NULL);
    reference_step(&r, &ls, !inject);
    CHECK(st == (inject ? LB_BAD_GRADIENT : LB_OK), "step %zu: %s", t, lb_status_string(st));
    const lb_loss_scale *got = lb_train_model_loss_scale(m);
    CHECK(got->log2_scale == r.e && got->min_log2 == r.floor && got->skipped == r.skipped,
          "step %zu: engine 2^%d floor 2^%d skipped %llu, reference 2^%d floor 2^%d skipped %llu",
          t, got->log2_scale, got->min_log2, (unsigned long long)got->skipped, r.e, r.floor,
          (unsigned long long)r.skipped);
    CHECK(lb_loss_scale_value(got) == (float)ldexp(1.0, r.e), "step %zu: the value", t);
    seen_halve |= r.e == e_before - 1;
    seen_double |= r.e == e_before + 1 && !inject;
    seen_rise |= r.floor > floor_before;
    seen_cap |= r.e == ls.max_log2;
  }
  CHECK(seen_halve && seen_double && seen_rise && seen_cap,
        "the pattern did not exercise every rule: halve %d double %d rise %d cap %d", seen_halve,
        seen_double, seen_rise, seen_cap);
  /* the state mid-way through a run of overflows: a loaded model continues bit for bit */
  size_t bytes = lb_train_model_state_bytes(m);
  unsigned char *state = malloc(bytes);
  lb_train_model *copy = create(&s);
  CHECK(copy && lb_train_model_save_state(m, state, bytes) == LB_OK &&
            lb_train_model_load_state(copy, state, bytes) == LB_OK,
        "save and load");
  const char *more = "bbcbbbccccbc";
  static float a[PARAMS], b[PARAMS];
  for (size_t t = 0; copy && more[t]; t++) {
    inject = more[t] == 'b';
    make_batch((unsigned)t + 100);
    lb_status sa = lb_train_step(m, inputs, labels, NULL, NULL);
    lb_status sb = lb_train_step(copy, inputs, labels, NULL, NULL);
    CHECK(sa == sb, "step %zu after loading: %s and %s", t, lb_status_string(sa),
          lb_status_string(sb));
  }
  params(m, a);
  if (copy) {
    params(copy, b);
    const lb_loss_scale *x = lb_train_model_loss_scale(m), *y = lb_train_model_loss_scale(copy);
    CHECK(x->log2_scale == y->log2_scale && x->min_log2 == y->min_log2 &&
              x->clean_steps == y->clean_steps && x->skipped == y->skipped,
          "the loaded loss scale went another way");
  }
  CHECK(memcmp(a, b, sizeof a) == 0, "the loaded model's weights went another way");
  free(state);
  lb_train_model_destroy(copy);
  lb_train_model_destroy(m);
  return 0;
}

/* ---- a static scale is removed exactly ---- */

static int test_exact(void) {
  static float plain[PARAMS], scaled[PARAMS];
  for (int k = 0; k < 2; k++) {
    lb_loss_scale_config ls;
    memset(&ls, 0, sizeof ls);
    ls.mode = LB_LOSS_SCALE_STATIC, ls.log2_scale = 12;
    setup s;
    make_setup(&s, NULL, k ? &ls : NULL);
    lb_train_model *m = create(&s);
    if (!m) {
      return 1;
    }
    for (unsigned step = 0; step < 20; step++) {
      make_batch(step);
      CHECK(lb_train_step(m, inputs, labels, NULL, NULL) == LB_OK, "step %u", step);
    }
    params(m, k ? scaled : plain);
    lb_train_model_destroy(m);
  }
  /* every float operation of the backward pass is scaled by 2^12 exactly (nothing overflows or
   * goes subnormal here), and the update divides it out exactly */
  CHECK(memcmp(plain, scaled, sizeof plain) == 0, "static 2^12 differs from no loss scaling");
  return 0;
}

/* ---- the 16-bit master ---- */

/* Whether v is a value of IEEE half (E5M10): |v| <= 65504, 11 significant bits, on the 2^-24
 * grid. */
static int is_half(float v) {
  double a = fabs((double)v);
  if (a > 65504.0) {
    return 0;
  }
  if (a < ldexp(1.0, -14)) {
    return ldexp(a, 24) == floor(ldexp(a, 24));
  }
  int e = 0;
  double mant = frexp(a, &e); /* [0.5, 1) */
  return ldexp(mant, 11) == floor(ldexp(mant, 11));
}

/* Whether each block of `block` values of each row of `k` shares one step 2^(E - m) with
 * E = floor(log2(max)) + 1 and every code within 2^m - 1 (lowlevel/block_float.h). */
static int is_bfp_row(const float *v, size_t k, size_t block, unsigned m) {
  for (size_t at = 0; at < k; at += block) {
    size_t n = k - at < block ? k - at : block;
    double max = 0;
    for (size_t j = 0; j < n; j++) {
      max = fabs(v[at + j]) > max ? fabs(v[at + j]) : max;
    }
    if (max == 0) {
      continue;
    }
    int e = 0;
    frexp(max, &e); /* max = f * 2^e, f in [0.5, 1): floor(log2(max)) + 1 = e */
    double step = ldexp(1.0, e - (int)m);
    for (size_t j = 0; j < n; j++) {
      double q = v[at + j] / step;
      if (q != floor(q) || fabs(q) > ldexp(1.0, (int)m) - 1) {
        return 0;
      }
    }
  }
  return 1;
}

static int test_master(void) {
  lb_number_format e5m2 = format_of(LB_NUMBER_MINIFLOAT, 5, 2, LB_ROUND_STOCHASTIC);
  lb_number_format half = format_of(LB_NUMBER_MINIFLOAT, 5, 10, LB_ROUND_STOCHASTIC);
  lb_number_format bfp8 = format_of(LB_NUMBER_BFP, 7, 8, LB_ROUND_STOCHASTIC);
  lb_number_format bfp16 = format_of(LB_NUMBER_BFP, 15, 8, LB_ROUND_STOCHASTIC);
  lb_loss_scale_config ls = dynamic(8, 5, 0);
  static float w[PARAMS], f32[PARAMS], again[PARAMS];
  for (int k = 0; k < 2; k++) {
    setup s;
    make_setup(&s, k ? &bfp8 : &e5m2, k ? NULL : &ls);
    s.sgd.master_format = k ? bfp16 : half;
    lb_train_model *m = create(&s);
    setup sf;
    make_setup(&sf, k ? &bfp8 : &e5m2, k ? NULL : &ls);
    lb_train_model *mf = create(&sf);
    if (!m || !mf) {
      return 1;
    }
    for (unsigned step = 0; step <= 12; step++) {
      params(m, w);
      int ok = 1;
      if (k == 0) {
        for (size_t j = 0; j < PARAMS; j++) {
          ok &= is_half(w[j]);
        }
      } else {
        /* rows of the weights (blocks along the inputs), then the bias as one row */
        const size_t rows[2] = {HIDDEN, CLASSES}, ks[2] = {FEATURES, HIDDEN};
        size_t off = 0;
        for (int l = 0; l < 2; l++) {
          for (size_t r = 0; r < rows[l]; r++, off += ks[l]) {
            ok &= is_bfp_row(w + off, ks[l], 8, 15);
          }
          ok &= is_bfp_row(w + off, rows[l], 8, 15);
          off += rows[l];
        }
      }
      CHECK(ok, "%s master, step %u: a value off the master's grid", k ? "bfp:15:8" : "E5M10",
            step);
      if (step == 12) {
        break;
      }
      make_batch(step);
      lb_status st = lb_train_step(m, inputs, labels, NULL, NULL);
      CHECK(st == LB_OK || st == LB_BAD_GRADIENT, "step %u: %s", step, lb_status_string(st));
      lb_train_step(mf, inputs, labels, NULL, NULL);
    }
    params(mf, f32);
    CHECK(memcmp(w, f32, sizeof w) != 0, "the 16-bit master trained as the float one");
    /* the state round-trips: a fresh model loaded with it continues bit for bit */
    size_t bytes = lb_train_model_state_bytes(m);
    unsigned char *state = malloc(bytes);
    CHECK(lb_train_model_save_state(m, state, bytes) == LB_OK, "save");
    lb_train_model *copy = create(&s);
    CHECK(copy && lb_train_model_load_state(copy, state, bytes) == LB_OK, "load");
    for (unsigned step = 12; copy && step < 16; step++) {
      make_batch(step);
      lb_train_step(m, inputs, labels, NULL, NULL);
      lb_train_step(copy, inputs, labels, NULL, NULL);
    }
    params(m, w);
    if (copy) {
      params(copy, again);
    }
    CHECK(memcmp(w, again, sizeof w) == 0, "%s master: the loaded model went another way",
          k ? "bfp" : "E5M10");
    if (k == 0) {
      CHECK(lb_train_model_loss_scale(copy)->log2_scale == lb_train_model_loss_scale(m)->log2_scale,
            "the loaded loss scale");
    }
    free(state);
    lb_train_model_destroy(copy);
    lb_train_model_destroy(m);
    lb_train_model_destroy(mf);
  }
  return 0;
}

/* ---- refused descriptions ---- */

static int test_invalid(void) {
  setup s;
  lb_train_model *m = NULL;
  lb_number_format lns = format_of(LB_NUMBER_LNS, 0, 0, LB_ROUND_NEAREST);
  lns.lns = (lb_lns_format){8, 8, -100};
  make_setup(&s, NULL, NULL);
  s.sgd.master_format = lns;
  CHECK(lb_train_model_create(&s.desc, &m) == LB_INVALID_ARGUMENT && !m, "an LNS master");
  make_setup(&s, NULL, NULL);
  s.sgd.master_format = format_of(LB_NUMBER_MINIFLOAT, 8, 10, LB_ROUND_NEAREST);
  CHECK(lb_train_model_create(&s.desc, &m) == LB_INVALID_ARGUMENT && !m, "a 19-bit master");
  lb_loss_scale_config ls = dynamic(8, 10, 0);
  ls.min_log2 = 9; /* above the scale */
  make_setup(&s, NULL, &ls);
  CHECK(lb_train_model_create(&s.desc, &m) == LB_INVALID_ARGUMENT && !m, "floor above the scale");
  ls = dynamic(8, 0, 0);
  make_setup(&s, NULL, &ls);
  CHECK(lb_train_model_create(&s.desc, &m) == LB_INVALID_ARGUMENT && !m, "interval 0");
  make_setup(&s, NULL, NULL);
  m = create(&s);
  CHECK(m && lb_train_model_loss_scale(m) == NULL, "no loss scaling: no state");
  lb_train_model_destroy(m);
  return 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(void);
  } parts[] = {{"overflow", test_overflow},
               {"schedule", test_schedule},
               {"exact", test_exact},
               {"master", test_master},
               {"invalid", test_invalid}};
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
