/* lowbit-test-train-match: compares two lowbit-train checkpoints of the same run made on different
 * targets (docs/design.md, "Cross-target determinism"):
 *
 *   lowbit-test-train-match [--tolerance R] A.ckpt B.ckpt
 *
 * Every integer of the state must be identical: the step, the BitOPs counts, the weight and bias
 * codes of integer layers, their integer momentum, the epoch's hit and image counts. Floats (the
 * weights, bias and optimizer state of float layers, a float master copy, the epoch's loss sum)
 * must lie within R times the largest magnitude of their tensor in A; R = 0 (the default) asks
 * for the same bits. One line per tensor with its largest difference; exit 0 when everything
 * matches, 1 when something differs, 2 for bad arguments or files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lowbit/train.h"
#include "run_checkpoint.h"

#define ERR_LEN LB_IO_ERROR_LEN

/* A checkpoint's run: its config, a model holding its state, and the state's bytes. */
typedef struct side {
  const char *path;
  char *config_text;
  lbt_config config;
  lb_train_layer_desc layers[LBT_MAX_LAYERS + 2];
  size_t layer_count;
  lb_train_sgd_config sgd;
  lb_train_optimizer optimizer;
  lb_train_model *model;
  lbt_epoch_sums sums;
  unsigned char *state;
  size_t bytes;
} side;

static int load(side *s, char *err) {
  lb_checkpoint_reader *reader = NULL;
  if (!lbt_checkpoint_open_run(s->path, &reader, &s->config_text, err, ERR_LEN)) {
    return 0;
  }
  lbt_config_defaults(&s->config);
  int ok = lbt_config_parse(&s->config, s->config_text, s->path, err, ERR_LEN);
  if (ok) {
    s->layer_count = lbt_config_layers(&s->config, s->layers, LBT_MAX_LAYERS + 2);
    memset(&s->sgd, 0, sizeof s->sgd);
    s->sgd.learning_rate = s->config.lr, s->sgd.momentum = s->config.momentum;
    s->sgd.weight_decay = s->config.weight_decay, s->sgd.master = s->config.master;
    s->sgd.momentum_extra_bits = s->config.momentum_extra_bits;
    s->sgd.master_format = s->config.master_format;
    s->optimizer = lb_train_sgd(&s->sgd);
    /* lowbit-train's model on Fashion-MNIST's 28x28 images; restore checks the state's size */
    lb_train_model_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.batch = s->config.batch, desc.in_h = 28, desc.in_w = 28, desc.in_c = 1;
    desc.layer_count = s->layer_count, desc.layers = s->layers, desc.classes = LBT_CLASSES;
    desc.optimizer = &s->optimizer, desc.seed = s->config.seed, desc.threads = 1;
    desc.loss_scale = s->config.loss_scaling ? &s->config.loss_scale : NULL;
    desc.schedule = (lb_precision_schedule){s->config.schedule, s->config.fw_min, s->config.fw_max,
                                            s->config.schedule_steps, s->config.cycles};
    ok = lb_train_model_create(&desc, &s->model) == LB_OK;
    if (!ok) {
      snprintf(err, ERR_LEN, "%s: the engine refused the checkpoint's model", s->path);
    }
  }
  ok = ok && lbt_checkpoint_restore(reader, s->path, s->model, &s->sums, err, ERR_LEN);
  lb_checkpoint_close(reader);
  if (ok) {
    s->bytes = lb_train_model_state_bytes(s->model);
    s->state = malloc(s->bytes);
    ok = s->state && lb_train_model_save_state(s->model, s->state, s->bytes) == LB_OK;
    if (!ok) {
      snprintf(err, ERR_LEN, "%s: out of memory for the state", s->path);
    }
  }
  return ok;
}

static void release(side *s) {
  lb_train_model_destroy(s->model);
  free(s->config_text);
  free(s->state);
}

typedef enum piece_type { PIECE_EXACT, PIECE_F32 } piece_type;

typedef struct comparison {
  const unsigned char *a, *b;
  size_t at;
  double tolerance;
  unsigned pieces, differing;
} comparison;

/* Compares the next `bytes` bytes of both states as one tensor and prints its line. */
static void piece(comparison *c, const char *name, piece_type type, size_t bytes,
                  const char *what) {
  const unsigned char *a = c->a + c->at, *b = c->b + c->at;
  c->at += bytes;
  c->pieces++;
  if (type == PIECE_EXACT) {
    size_t first = 0;
    while (first < bytes && a[first] == b[first]) {
      first++;
    }
    if (first == bytes) {
      printf("%-28s %s: identical\n", name, what);
    } else {
      printf("%-28s %s: DIFFER from byte %zu\n", name, what, first);
      c->differing++;
    }
    return;
  }
  size_t n = bytes / sizeof(float);
  double largest = 0, worst = 0;
  size_t worst_at = 0;
  int same_bits = memcmp(a, b, bytes) == 0;
  for (size_t i = 0; i < n; i++) {
    float x, y;
    memcpy(&x, a + i * sizeof x, sizeof x);
    memcpy(&y, b + i * sizeof y, sizeof y);
    double d = isnan(x) != isnan(y) ? INFINITY : isnan(x) ? 0.0 : fabs((double)x - y);
    largest = fabs(x) > largest ? fabs(x) : largest;
    if (d > worst) {
      worst = d, worst_at = i;
    }
  }
  double bound = c->tolerance * largest;
  int ok = same_bits || (c->tolerance > 0 && worst <= bound);
  printf("%-28s %s: %s, max |diff| %.3g at %zu (bound %.3g)\n", name, what,
         same_bits ? "identical"
         : ok      ? "within the bound"
                   : "DIFFER",
         worst, worst_at, bound);
  c->differing += !ok;
}

static int is_integer_layer(const lb_train_layer_desc *d) {
  return d->format[LB_TENSOR_WEIGHTS].kind == LB_NUMBER_FIXED &&
         d->format[LB_TENSOR_ACTIVATIONS].kind == LB_NUMBER_FIXED &&
         d->format[LB_TENSOR_ERRORS].kind == LB_NUMBER_FIXED;
}

/* Walks the state in lb_train_model_state_bytes' order (lowbit/train.h): step, BitOPs counter,
 * the loss-scale state with loss scaling, then per conv2d or dense layer its weights, bias, and the optimizer's state of each. */
static int compare_state(const side *a, const side *b, comparison *c, char *err) {
  piece(c, "step", PIECE_EXACT, sizeof(uint64_t), "uint64");
  /* counts of MACs times bits: whole numbers, exact in double */
  piece(c, "bitops", PIECE_EXACT, 2 * sizeof(double), "2 doubles (whole numbers)");
  if (a->config.loss_scaling) {
    const lb_loss_scale *ls = lb_train_model_loss_scale(a->model);
    piece(c, "loss scale", PIECE_EXACT,
          sizeof ls->log2_scale + sizeof ls->min_log2 + sizeof ls->clean_steps + sizeof ls->step +
              sizeof ls->skipped,
          "integers");
  }
  for (size_t i = 0; i < a->layer_count; i++) {
    const lb_train_layer_desc *d = &a->layers[i];
    if (d->kind != LB_LAYER_CONV2D && d->kind != LB_LAYER_DENSE) {
      continue;
    }
    size_t total = 0;
    lb_train_layer_params(a->model, i, NULL, &total);
    size_t counts[2] = {total - d->out_c, d->out_c};
    int integer = is_integer_layer(d);
    unsigned wbytes = d->format[LB_TENSOR_WEIGHTS].fixed.wl <= 8 ? 1 : 2;
    char name[64], what[64];
    for (unsigned k = 0; k < 2; k++) {
      const char *tensor = k == 0 ? "weights" : "bias";
      snprintf(name, sizeof name, "layer %zu %s", i, tensor);
      snprintf(what, sizeof what, "%zu %s", counts[k],
               integer ? (wbytes == 1 ? "int8 codes" : "int16 codes") : "floats");
      piece(c, name, integer ? PIECE_EXACT : PIECE_F32,
            counts[k] * (integer ? wbytes : sizeof(float)), what);
    }
    for (unsigned k = 0; k < 2; k++) {
      lb_train_param p;
      memset(&p, 0, sizeof p);
      p.layer = i, p.index = k, p.count = counts[k], p.fixed = integer;
      p.format = d->format[LB_TENSOR_WEIGHTS].fixed;
      size_t bytes = a->optimizer.state_bytes(a->optimizer.config, &p);
      int exact = integer && a->config.master == LB_SGD_MASTER_NONE;
      snprintf(name, sizeof name, "layer %zu %s momentum", i, k == 0 ? "weights" : "bias");
      snprintf(what, sizeof what, "%zu %s", bytes / (exact ? 2 : 4),
               exact     ? "int16 codes"
               : integer ? "floats (master, momentum)"
                         : "floats");
      piece(c, name, exact ? PIECE_EXACT : PIECE_F32, bytes, what);
    }
  }
  if (c->at != a->bytes || a->bytes != b->bytes) {
    snprintf(err, ERR_LEN, "%s: the state holds %zu bytes where its layout has %zu", a->path,
             a->bytes, c->at);
    return 0;
  }
  return 1;
}

static void compare_sums(const lbt_epoch_sums *a, const lbt_epoch_sums *b, comparison *c) {
  double d = fabs(a->loss_sum - b->loss_sum), bound = c->tolerance * fabs(a->loss_sum);
  int same_bits = memcmp(&a->loss_sum, &b->loss_sum, sizeof a->loss_sum) == 0;
  int ok = same_bits || (c->tolerance > 0 && d <= bound);
  printf("%-28s double: %s, |diff| %.3g (bound %.3g)\n", "epoch loss sum",
         same_bits ? "identical"
         : ok      ? "within the bound"
                   : "DIFFER",
         d, bound);
  int counts = a->correct == b->correct && a->images == b->images && a->bad_steps == b->bad_steps;
  printf("%-28s 3 uint64: %s\n", "epoch hits, images, bad", counts ? "identical" : "DIFFER");
  c->pieces += 2;
  c->differing += !ok + !counts;
}

int main(int argc, char **argv) {
  double tolerance = 0;
  int first = 1;
  if (argc == 5 && strcmp(argv[1], "--tolerance") == 0) {
    char *end = NULL;
    tolerance = strtod(argv[2], &end);
    if (*end || !(tolerance >= 0 && tolerance < 1)) {
      fprintf(stderr, "lowbit-test-train-match: --tolerance: '%s' is not a number in [0, 1)\n",
              argv[2]);
      return 2;
    }
    first = 3;
  } else if (argc != 3) {
    fprintf(stderr, "usage: lowbit-test-train-match [--tolerance R] A.ckpt B.ckpt\n");
    return 2;
  }
  char err[ERR_LEN];
  side a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.path = argv[first], b.path = argv[first + 1];
  int status = 2;
  if (!load(&a, err) || !load(&b, err)) {
    fprintf(stderr, "lowbit-test-train-match: %s\n", err);
  } else if (strcmp(a.config_text, b.config_text) != 0) {
    fprintf(stderr, "lowbit-test-train-match: %s and %s hold different configs\n", a.path, b.path);
  } else {
    comparison c = {a.state, b.state, 0, tolerance, 0, 0};
    if (!compare_state(&a, &b, &c, err)) {
      fprintf(stderr, "lowbit-test-train-match: %s\n", err);
    } else {
      compare_sums(&a.sums, &b.sums, &c);
      printf("%s: %u of %u tensors differ (floats within %g of their largest value)\n",
             c.differing ? "MISMATCH" : "match", c.differing, c.pieces, tolerance);
      status = c.differing ? 1 : 0;
    }
  }
  release(&a);
  release(&b);
  return status;
}
