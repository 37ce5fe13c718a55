/* lowbit-train: trains a CNN on Fashion-MNIST with the lowbit training engine (docs/design.md,
 * section 25). Exit status 0 on success, 1 when a file or the engine fails, 2 for a bad flag,
 * value or config. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "data.h"
#include "export.h"
#include "lowbit/train.h"
#include "lowbit/train_io.h"
#include "range_test.h"
#include "run_checkpoint.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#define ERR_LEN LB_IO_ERROR_LEN
/* the training batches whose activations set the scales of layers without a fixed format */
#define EXPORT_CALIBRATION_BATCHES 8

static const char kUsage[] =
    "usage: lowbit-train [options]\n"
    "Trains the network of a config file (default: the Fashion-MNIST CNN in float) and reports\n"
    "the test accuracy per epoch and a summary. docs/design.md section 25 documents the config.\n"
    "\n"
    "  --config FILE          the model, precision and optimizer (key = value, layer ... lines)\n"
    "  --data DIR             IDX gzip files (default " DEFAULT_DATA ")\n"
    "  --epochs N             epochs (config key epochs; default 10)\n"
    "  --batch N              batch size (batch; 64)\n"
    "  --lr X                 SGD learning rate (lr; 0.05)\n"
    "  --momentum X           SGD momentum (momentum; 0.9)\n"
    "  --seed N               seed of initialization, shuffling and stochastic rounding (seed; 1)\n"
    "  --train-limit N        the first N training examples (train_limit; 0 = all)\n"
    "  --test-limit N         the first N test examples (test_limit; 0 = all)\n"
    "  --threads N            threads (default: the online CPUs); the results do not depend on it\n"
    "  --progress N           a progress line every N steps (default 100; 0 = none)\n"
    "  --checkpoint FILE      write a checkpoint at each epoch end (atomic, checksummed); a\n"
    "                         {step} in FILE becomes the step number, keeping every one\n"
    "  --checkpoint-every N   ... and every N steps\n"
    "  --resume FILE          continue the run of a checkpoint bit for bit (its config; only\n"
    "                         --epochs, --data, --threads, --progress, --checkpoint*, --log,\n"
    "                         --export apply)\n"
    "  --log FILE             JSON lines: one per progress line and per epoch (appended to with\n"
    "                         --resume)\n"
    "  --export FILE          after the run, write the model as weight codes and scales for\n"
    "                         lowbit-infer (atomic, checksummed; docs/design.md section 27);\n"
    "                         --resume CKPT --epochs <its epochs> exports a finished run as is\n"
    "  --range-test           instead of training: CPT's precision range test, which trains\n"
    "                         --range-steps steps at each forward precision of --range-bits in\n"
    "                         turn and prints bits -> training accuracy and loss and b_min, the\n"
    "                         lowest bits whose accuracy reaches chance + --range-threshold\n"
    "                         (integer layers only; docs/design.md section 27)\n"
    "  --range-bits LO..HI    the forward bits tried (default 2..the layers' word length)\n"
    "  --range-steps N        steps per precision (default 20)\n"
    "  --range-mode M         restart: each precision from the initial weights over the same\n"
    "                         batches (default); carry: the weights carry over from the lower\n"
    "                         precision, as one run whose bits rise\n"
    "  --range-threshold X    above chance, in accuracy (default 0.1)\n"
    "  --help                 this text\n";

typedef struct options {
  const char *config, *data, *checkpoint, *resume, *log, *export_path;
  unsigned threads, progress;
  uint64_t checkpoint_every;
  int range_test;
  lbt_range_spec range; /* range.lo 0: the default bits */
  char range_mode;      /* 'r'estart (default) or 'c'arry */
  /* run-defining flags, as config keys and values, applied over the config file */
  const char *keys[7], *values[7]; /* one per flag of parse_args' kMap */
  size_t overrides;
} options;

/* One line on stderr; returns the exit status of a usage error. */
static int usage_error(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fprintf(stderr, "lowbit-train: ");
  vfprintf(stderr, fmt, args);
  fprintf(stderr, " (--help for usage)\n");
  va_end(args);
  return 2;
}

/* 0 on success, else the exit status. */
static int parse_args(int argc, char **argv, options *o) {
  static const char *const kMap[][2] = {
      {"--epochs", "epochs"},         {"--batch", "batch"}, {"--lr", "lr"},
      {"--momentum", "momentum"},     {"--seed", "seed"},   {"--train-limit", "train_limit"},
      {"--test-limit", "test_limit"},
  };
  memset(o, 0, sizeof *o);
  o->data = DEFAULT_DATA, o->progress = 100;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = cpus < 1 ? 1u : cpus > 64 ? 64u : (unsigned)cpus;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(kUsage, stdout);
      exit(0);
    }
    if (strncmp(a, "--", 2) != 0) {
      return usage_error("unexpected argument '%s'", a);
    }
    if (strcmp(a, "--range-test") == 0) {
      o->range_test = 1;
      continue;
    }
    if (i + 1 >= argc) {
      return usage_error("%s needs a value", a);
    }
    const char *v = argv[++i];
    uint64_t u = 0;
    size_t m = 0;
    for (; m < sizeof kMap / sizeof kMap[0] && strcmp(a, kMap[m][0]) != 0; m++) {
    }
    if (m < sizeof kMap / sizeof kMap[0]) {
      /* checked against a scratch config now, so that a bad value fails before any file */
      lbt_config scratch;
      char err[512];
      lbt_config_defaults(&scratch);
      if (!lbt_config_set(&scratch, kMap[m][1], v, err, sizeof err)) {
        /* the setter's message starts with "<key>:"; the flag's name replaces it */
        fprintf(stderr, "lowbit-train: %s:%s\n", a, err + strlen(kMap[m][1]) + 1);
        return 2;
      }
      size_t k = 0; /* a repeated flag replaces its earlier value */
      for (; k < o->overrides && strcmp(o->keys[k], kMap[m][1]) != 0; k++) {
      }
      o->keys[k] = kMap[m][1], o->values[k] = v;
      o->overrides += k == o->overrides;
    } else if (strcmp(a, "--config") == 0) {
      o->config = v;
    } else if (strcmp(a, "--data") == 0) {
      o->data = v;
    } else if (strcmp(a, "--checkpoint") == 0) {
      o->checkpoint = v;
    } else if (strcmp(a, "--resume") == 0) {
      o->resume = v;
    } else if (strcmp(a, "--log") == 0) {
      o->log = v;
    } else if (strcmp(a, "--export") == 0) {
      o->export_path = v;
    } else if (strcmp(a, "--range-bits") == 0) {
      const char *dots = strstr(v, "..");
      char lo[16];
      uint64_t h = 0;
      if (!dots || dots - v >= (long)sizeof lo) {
        return usage_error("--range-bits: '%s' is not LO..HI", v);
      }
      memcpy(lo, v, (size_t)(dots - v));
      lo[dots - v] = '\0';
      if (!lbt_parse_count(lo, 2, 16, &u) || !lbt_parse_count(dots + 2, u, 16, &h)) {
        return usage_error("--range-bits: '%s' is not LO..HI with 2 <= LO <= HI <= 16", v);
      }
      o->range.lo = (unsigned)u, o->range.hi = (unsigned)h;
    } else if (strcmp(a, "--range-mode") == 0) {
      if (strcmp(v, "restart") != 0 && strcmp(v, "carry") != 0) {
        return usage_error("--range-mode: '%s' is neither restart nor carry", v);
      }
      o->range_mode = v[0];
    } else if (strcmp(a, "--range-steps") == 0) {
      if (!lbt_parse_count(v, 1, 1000000, &u)) {
        return usage_error("--range-steps: '%s' is not a whole number in 1..1000000", v);
      }
      o->range.steps = u;
    } else if (strcmp(a, "--range-threshold") == 0) {
      char *end = NULL;
      double x = strtod(v, &end);
      if (end == v || *end || !(x > 0.0 && x < 1.0)) {
        return usage_error("--range-threshold: '%s' is not a number between 0 and 1", v);
      }
      o->range.threshold = x;
    } else if (strcmp(a, "--threads") == 0) {
      if (!lbt_parse_count(v, 1, 256, &u)) {
        return usage_error("--threads: '%s' is not a whole number in 1..256", v);
      }
      o->threads = (unsigned)u;
    } else if (strcmp(a, "--progress") == 0) {
      if (!lbt_parse_count(v, 0, 1000000000, &u)) {
        return usage_error("--progress: '%s' is not a whole number (0: none)", v);
      }
      o->progress = (unsigned)u;
    } else if (strcmp(a, "--checkpoint-every") == 0) {
      if (!lbt_parse_count(v, 1, 1ull << 40, &u)) {
        return usage_error("--checkpoint-every: '%s' is not a whole number above 0", v);
      }
      o->checkpoint_every = u;
    } else {
      return usage_error("unknown flag '%s'", a);
    }
  }
  if (o->checkpoint_every && !o->checkpoint) {
    return usage_error("--checkpoint-every needs --checkpoint");
  }
  if (o->range_test && (o->resume || o->checkpoint || o->export_path || o->log)) {
    return usage_error("--range-test trains a fresh model of its own: drop --resume, "
                       "--checkpoint, --export and --log");
  }
  if (!o->range_test &&
      (o->range.lo || o->range.steps || o->range.threshold > 0 || o->range_mode)) {
    return usage_error(
        "--range-bits, --range-steps, --range-threshold and --range-mode need --range-test");
  }
  if (o->resume && o->config) {
    return usage_error("--resume takes the run's config from the checkpoint; drop --config");
  }
  for (size_t k = 0; o->resume && k < o->overrides; k++) {
    if (strcmp(o->keys[k], "epochs") != 0) {
      return usage_error("--resume continues the checkpoint's run, whose %s cannot change",
                         o->keys[k]);
    }
  }
  return 0;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct run {
  lbt_config config;
  char *config_text;
  lb_train_model *model;
  lb_train_layer_desc layers[LBT_MAX_LAYERS + 2];
  size_t layer_count;
  lb_train_sgd_config sgd;
  lb_train_optimizer optimizer;
  lb_idx_dataset train, test;
  size_t steps_per_epoch;
  unsigned static_fw, static_bw;
  float *images;
  uint8_t *labels;
  uint32_t *order; /* [batch] test indices for evaluate, then the epoch's training order */
} run;

static void static_bits(run *r) {
  r->static_fw = 0, r->static_bw = 0;
  for (size_t i = 0; i < r->layer_count; i++) {
    const lb_train_layer_desc *d = &r->layers[i];
    if (d->kind != LB_LAYER_CONV2D && d->kind != LB_LAYER_DENSE) {
      continue;
    }
    unsigned w = lb_number_format_bits(&d->format[LB_TENSOR_WEIGHTS]);
    unsigned a = lb_number_format_bits(&d->format[LB_TENSOR_ACTIVATIONS]);
    unsigned e = lb_number_format_bits(&d->format[LB_TENSOR_ERRORS]);
    r->static_fw = w > r->static_fw ? w : r->static_fw;
    r->static_fw = a > r->static_fw ? a : r->static_fw;
    r->static_bw = e > r->static_bw ? e : r->static_bw;
  }
}

static unsigned fw_bits_at(const run *r, uint64_t step) {
  unsigned b = lb_schedule_fw_bits(
      &(lb_precision_schedule){r->config.schedule, r->config.fw_min, r->config.fw_max,
                               r->config.schedule_steps, r->config.cycles},
      step);
  return b ? b : r->static_fw;
}

/* The test accuracy, in batches of the training batch; the last one is padded with the first
 * examples, and only its real rows are counted, from the logits (the last dense layer's output). */
static int evaluate(run *r, double *accuracy, char *err) {
  size_t batch = r->config.batch, hits = 0, layers = lb_train_layer_count(r->model);
  for (size_t at = 0; at < r->test.count; at += batch) {
    size_t real = r->test.count - at < batch ? r->test.count - at : batch;
    for (size_t b = 0; b < batch; b++) {
      r->order[b] = (uint32_t)(b < real ? at + b : b % r->test.count);
    }
    lbt_gather(&r->test, r->order, batch, r->images, r->labels);
    lb_status s = lb_train_evaluate(r->model, r->images, r->labels, NULL, NULL);
    if (s != LB_OK) {
      snprintf(err, ERR_LEN, "evaluation failed: %s", lb_status_string(s));
      return 0;
    }
    size_t count = 0;
    const float *logits = lb_train_layer_output(r->model, layers - 2, &count);
    for (size_t b = 0; b < real; b++) {
      const float *z = logits + b * LBT_CLASSES;
      size_t best = 0;
      for (size_t j = 1; j < LBT_CLASSES; j++) {
        best = z[j] > z[best] ? j : best;
      }
      hits += best == r->labels[b];
    }
  }
  *accuracy = (double)hits / (double)r->test.count;
  return 1;
}

/* The checkpoint's path at `step`: o->checkpoint with its first {step} replaced by the number. */
static int checkpoint_path(const options *o, uint64_t step, char *path, size_t n, char *err) {
  const char *mark = strstr(o->checkpoint, "{step}");
  int len = mark ? snprintf(path, n, "%.*s%llu%s", (int)(mark - o->checkpoint), o->checkpoint,
                            (unsigned long long)step, mark + strlen("{step}"))
                 : snprintf(path, n, "%s", o->checkpoint);
  if (len < 0 || (size_t)len >= n) {
    snprintf(err, ERR_LEN, "%.200s...: checkpoint path too long", o->checkpoint);
    return 0;
  }
  return 1;
}

static int save_checkpoint(const run *r, const options *o, uint64_t step,
                           const lbt_epoch_sums *sums, char *err) {
  char path[4096];
  return checkpoint_path(o, step, path, sizeof path, err) &&
         lbt_checkpoint_save(path, r->config_text, r->model, sums, err, ERR_LEN);
}

static int fail(const char *err) {
  fprintf(stderr, "lowbit-train: %s\n", err);
  return 1;
}

/* The --log record of a progress line; 0 (with err) when the write fails. */
static int log_step(FILE *log, const char *name, uint64_t step, uint64_t epoch, double loss,
                    double acc, double epoch_acc, double images_per_second, unsigned fw,
                    unsigned bw, double scale, char *err) {
  fprintf(log,
          "{\"kind\":\"step\",\"step\":%llu,\"epoch\":%llu,\"loss\":%.6f,\"acc\":%.6f,"
          "\"train_acc\":%.6f,\"images_per_second\":%.1f,\"fw_bits\":%u,\"bw_bits\":%u,"
          "\"loss_scale\":%g}\n",
          (unsigned long long)step, (unsigned long long)epoch, loss, acc, epoch_acc,
          images_per_second, fw, bw, scale);
  if (fflush(log) != 0) {
    snprintf(err, ERR_LEN, "%s: write failed", name);
    return 0;
  }
  return 1;
}

static int train(run *r, const options *o, lbt_epoch_sums *sums, FILE *log) {
  char err[ERR_LEN];
  const lbt_config *c = &r->config;
  uint64_t step = lb_train_model_step(r->model), last = (uint64_t)c->epochs * r->steps_per_epoch;
  double train_seconds = 0, since = now_seconds(), window_loss = 0;
  uint64_t window_correct = 0, window_steps = 0, trained = 0;
  double accuracy = 0;
  int evaluated = 0;
  while (step < last) {
    uint64_t epoch = step / r->steps_per_epoch;
    double epoch_start = now_seconds(), seconds_before = train_seconds;
    uint64_t trained_before = trained;
    lbt_epoch_order(c->seed, epoch, r->train.count, r->order + c->batch);
    for (uint64_t pos = step % r->steps_per_epoch; pos < r->steps_per_epoch; pos++) {
      double t0 = now_seconds();
      float loss = 0;
      size_t correct = 0;
      lbt_gather(&r->train, r->order + c->batch + pos * c->batch, c->batch, r->images, r->labels);
      lb_status s = lb_train_step(r->model, r->images, r->labels, &loss, &correct);
      if (s == LB_BAD_GRADIENT) {
        /* an infinite or NaN gradient: that tensor was not updated, or with loss scaling an
         * overflow: the step was skipped */
        sums->bad_steps++;
      } else if (s != LB_OK) {
        snprintf(err, sizeof err, "step %llu failed: %s", (unsigned long long)step,
                 lb_status_string(s));
        return fail(err);
      }
      train_seconds += now_seconds() - t0;
      trained += c->batch;
      step++;
      sums->loss_sum += loss, sums->correct += correct, sums->images += c->batch;
      window_loss += loss, window_correct += correct, window_steps++;
      if (o->progress && step % o->progress == 0) {
        double t = now_seconds();
        const lb_loss_scale *ls = lb_train_model_loss_scale(r->model);
        const double scale = ls ? (double)lb_loss_scale_value(ls) : 1.0;
        printf("step %llu epoch %llu loss %.4f acc %.4f img/s %.0f fw %u bw %u scale %g\n",
               (unsigned long long)step, (unsigned long long)epoch + 1,
               window_loss / (double)window_steps,
               (double)window_correct / (double)(window_steps * c->batch),
               (double)(window_steps * c->batch) / (t - since), fw_bits_at(r, step - 1),
               r->static_bw, scale);
        fflush(stdout);
        if (log && !log_step(log, o->log, step, epoch + 1, window_loss / (double)window_steps,
                             (double)window_correct / (double)(window_steps * c->batch),
                             (double)sums->correct / (double)sums->images,
                             (double)(window_steps * c->batch) / (t - since),
                             fw_bits_at(r, step - 1), r->static_bw, scale, err)) {
          return fail(err);
        }
        since = t, window_loss = 0, window_correct = 0, window_steps = 0;
      }
      if (o->checkpoint_every && step % o->checkpoint_every == 0 && step % r->steps_per_epoch &&
          !save_checkpoint(r, o, step, sums, err)) {
        return fail(err);
      }
    }
    if (!evaluate(r, &accuracy, err)) {
      return fail(err);
    }
    evaluated = 1;
    const lb_bitops_counter *bits = lb_train_model_bitops(r->model);
    unsigned lo = 99, hi = 0;
    double mean = 0;
    for (uint64_t t = epoch * r->steps_per_epoch; t < step; t++) {
      unsigned b = fw_bits_at(r, t);
      lo = b < lo ? b : lo, hi = b > hi ? b : hi, mean += b;
    }
    mean /= (double)r->steps_per_epoch;
    double seconds = now_seconds() - epoch_start;
    double train_loss = sums->loss_sum / (double)(sums->images / c->batch);
    double train_acc = (double)sums->correct / (double)sums->images;
    printf("epoch %llu step %llu train_loss %.4f train_acc %.4f test_acc %.4f fw %u..%u bw %u "
           "bitops_vs_float %.4f bitops_vs_8_8 %.4f seconds %.1f\n",
           (unsigned long long)epoch + 1, (unsigned long long)step, train_loss, train_acc, accuracy,
           lo, hi, r->static_bw, lb_bitops_relative(bits, 32, 32), lb_bitops_relative(bits, 8, 8),
           seconds);
    fflush(stdout);
    if (log) {
      struct rusage usage;
      long max_rss = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : 0; /* KiB on Linux */
      double busy = train_seconds - seconds_before; /* the epoch's steps, as the summary's */
      fprintf(log,
              "{\"epoch\":%llu,\"step\":%llu,\"train_loss\":%.6f,\"train_acc\":%.6f,"
              "\"test_acc\":%.6f,\"fw_bits_min\":%u,\"fw_bits_max\":%u,\"fw_bits_mean\":%.4f,"
              "\"bw_bits\":%u,\"bitops_vs_float\":%.6f,\"bitops_vs_8_8\":%.6f,"
              "\"bad_steps\":%llu,\"seconds\":%.3f,\"images_per_second\":%.1f,"
              "\"threads\":%u,\"arena_bytes\":%zu,\"peak_rss_bytes\":%lld,\"kind\":\"epoch\"}\n",
              (unsigned long long)epoch + 1, (unsigned long long)step, train_loss, train_acc,
              accuracy, lo, hi, mean, r->static_bw, lb_bitops_relative(bits, 32, 32),
              lb_bitops_relative(bits, 8, 8), (unsigned long long)sums->bad_steps, seconds,
              busy > 0 ? (double)(trained - trained_before) / busy : 0.0, o->threads,
              lb_train_model_memory(r->model), (long long)max_rss * 1024);
      if (fflush(log) != 0) {
        snprintf(err, sizeof err, "%s: write failed", o->log);
        return fail(err);
      }
    }
    memset(sums, 0, sizeof *sums);
    if (o->checkpoint && !save_checkpoint(r, o, step, sums, err)) {
      return fail(err);
    }
    since = now_seconds(); /* the next progress line's images per second leave this out */
  }
  if (!evaluated && !evaluate(r, &accuracy, err)) {
    return fail(err);
  }
  const lb_bitops_counter *bits = lb_train_model_bitops(r->model);
  size_t arena = lb_train_model_memory(r->model);
  printf("summary: test_acc %.4f bitops_vs_float %.4f bitops_vs_8_8 %.4f images_per_second %.0f "
         "arena_bytes %zu (%.1f MiB) steps %llu epochs %u threads %u",
         accuracy, lb_bitops_relative(bits, 32, 32), lb_bitops_relative(bits, 8, 8),
         train_seconds > 0 ? (double)trained / train_seconds : 0.0, arena,
         (double)arena / 1048576.0, (unsigned long long)step, c->epochs, o->threads);
  const lb_loss_scale *ls = lb_train_model_loss_scale(r->model);
  if (ls) {
    /* the whole run's, resumed parts included: the count is in the engine's state */
    printf(" skipped_steps %llu scale %g", (unsigned long long)ls->skipped,
           (double)lb_loss_scale_value(ls));
  }
  printf("\n");
  return 0;
}

/* The range test's bits checked against the model (the default: 2 up to the integer layers'
 * narrowest word length), then the test itself. */
static int range_test(run *r, options *o) {
  unsigned hi = 0;
  for (size_t i = 0; i < r->layer_count; i++) {
    const lb_number_format *f = r->layers[i].format;
    if ((r->layers[i].kind == LB_LAYER_CONV2D || r->layers[i].kind == LB_LAYER_DENSE) &&
        f[LB_TENSOR_WEIGHTS].kind == LB_NUMBER_FIXED &&
        f[LB_TENSOR_ACTIVATIONS].kind == LB_NUMBER_FIXED &&
        f[LB_TENSOR_ERRORS].kind == LB_NUMBER_FIXED) {
      unsigned w = f[LB_TENSOR_WEIGHTS].fixed.wl, a = f[LB_TENSOR_ACTIVATIONS].fixed.wl;
      w = a < w ? a : w;
      hi = hi == 0 || w < hi ? w : hi;
    }
  }
  if (hi == 0) {
    return usage_error("--range-test needs integer layers (fixed weights, activations and "
                       "errors); the config has none");
  }
  lbt_range_spec spec = o->range;
  if (!spec.lo) {
    spec.lo = 2, spec.hi = hi;
  }
  spec.steps = spec.steps ? spec.steps : 20;
  spec.threshold = spec.threshold > 0 ? spec.threshold : 0.1;
  spec.restart = o->range_mode != 'c';
  if (lb_train_model_set_fw_bits(r->model, spec.lo) != LB_OK ||
      lb_train_model_set_fw_bits(r->model, spec.hi) != LB_OK) {
    return usage_error("--range-bits %u..%u do not fit the integer layers (at most their word "
                       "length %u, codes of the same bytes, gradients no finer than the sums)",
                       spec.lo, spec.hi, hi);
  }
  char err[ERR_LEN];
  unsigned b_min = 0;
  if (!lbt_range_test(r->model, &spec, &r->train, r->config.batch, LBT_CLASSES, r->config.seed,
                      &b_min, err, sizeof err)) {
    return fail(err);
  }
  if (b_min) {
    printf("range-test: b_min %u\n", b_min);
  } else {
    printf("range-test: b_min none (no precision in %u..%u reached the threshold; more steps or "
           "a lower threshold)\n",
           spec.lo, spec.hi);
  }
  return 0;
}

int main(int argc, char **argv) {
  options o;
  int status = parse_args(argc, argv, &o);
  if (status) {
    return status;
  }
  char err[ERR_LEN];
  run r;
  memset(&r, 0, sizeof r);
  lbt_config_defaults(&r.config);
  lb_checkpoint_reader *reader = NULL;
  const char *config_name = o.config ? o.config : "(built-in config)";
  if (o.resume) {
    char *text = NULL;
    if (!lbt_checkpoint_open_run(o.resume, &reader, &text, err, sizeof err)) {
      return fail(err);
    }
    char name[LB_IO_ERROR_LEN / 2];
    snprintf(name, sizeof name, "%s:config", o.resume);
    int ok = lbt_config_parse(&r.config, text, name, err, sizeof err);
    free(text);
    if (!ok) {
      lb_checkpoint_close(reader);
      return fail(err);
    }
    config_name = o.resume;
  } else if (o.config && !lbt_config_load(&r.config, o.config, err, sizeof err)) {
    fprintf(stderr, "lowbit-train: %s\n", err);
    return 2;
  }
  for (size_t k = 0; k < o.overrides; k++) {
    lbt_config_set(&r.config, o.keys[k], o.values[k], err, sizeof err); /* checked in parse_args */
  }
  if (!lbt_config_check(&r.config, config_name, err, sizeof err)) {
    fprintf(stderr, "lowbit-train: %s\n", err);
    lb_checkpoint_close(reader);
    return 2;
  }
  status = 1;
  FILE *log = NULL;
  lbt_epoch_sums sums;
  memset(&sums, 0, sizeof sums);
  if (lbt_data_load(o.data, "train", r.config.train_limit, &r.train, err, sizeof err) != LB_IO_OK ||
      lbt_data_load(o.data, "t10k", r.config.test_limit, &r.test, err, sizeof err) != LB_IO_OK) {
    fail(err);
    goto done;
  }
  r.steps_per_epoch = r.train.count / r.config.batch;
  if (r.steps_per_epoch == 0) {
    fprintf(stderr, "lowbit-train: %zu training examples are fewer than the batch of %zu\n",
            r.train.count, r.config.batch);
    status = 2;
    goto done;
  }
  if (r.config.schedule == LB_SCHEDULE_CYCLIC && r.config.schedule_steps == 0) {
    /* fixed now, and kept in the checkpoint: a resumed run keeps its cycle length */
    r.config.schedule_steps = (uint64_t)r.config.epochs * r.steps_per_epoch;
  }
  r.config_text = lbt_config_text(&r.config);
  r.layer_count = lbt_config_layers(&r.config, r.layers, LBT_MAX_LAYERS + 2);
  static_bits(&r);
  r.sgd.learning_rate = r.config.lr, r.sgd.momentum = r.config.momentum;
  r.sgd.weight_decay = r.config.weight_decay, r.sgd.master = r.config.master;
  r.sgd.momentum_extra_bits = r.config.momentum_extra_bits;
  r.sgd.master_format = r.config.master_format;
  r.optimizer = lb_train_sgd(&r.sgd);
  lb_train_model_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.batch = r.config.batch, desc.in_h = r.train.rows, desc.in_w = r.train.cols, desc.in_c = 1;
  desc.layer_count = r.layer_count, desc.layers = r.layers, desc.classes = LBT_CLASSES;
  desc.optimizer = &r.optimizer;
  desc.schedule = (lb_precision_schedule){r.config.schedule, r.config.fw_min, r.config.fw_max,
                                          r.config.schedule_steps, r.config.cycles};
  desc.seed = r.config.seed, desc.threads = o.threads;
  desc.loss_scale = r.config.loss_scaling ? &r.config.loss_scale : NULL;
  size_t pixels = (size_t)r.train.rows * r.train.cols;
  r.images = malloc(r.config.batch * pixels * sizeof(float));
  r.labels = malloc(r.config.batch);
  r.order = malloc((r.config.batch + r.train.count) * sizeof(uint32_t));
  if (!r.config_text || !r.images || !r.labels || !r.order) {
    fail("out of memory");
    goto done;
  }
  lb_status s = lb_train_model_create(&desc, &r.model);
  if (s != LB_OK) {
    snprintf(err, sizeof err,
             "%s: the engine refused the model (%s): a shape, format or schedule does not fit "
             "(docs/design.md sections 22 and 25)",
             config_name, lb_status_string(s));
    fprintf(stderr, "lowbit-train: %s\n", err);
    status = 2;
    goto done;
  }
  if (reader) {
    if (!lbt_checkpoint_restore(reader, o.resume, r.model, &sums, err, sizeof err)) {
      fail(err);
      goto done;
    }
    uint64_t last = (uint64_t)r.config.epochs * r.steps_per_epoch;
    if (lb_train_model_step(r.model) > last) {
      fprintf(stderr, "lowbit-train: %s is at step %llu, past the %llu steps of %u epochs\n",
              o.resume, (unsigned long long)lb_train_model_step(r.model), (unsigned long long)last,
              r.config.epochs);
      status = 2;
      goto done;
    }
    lb_checkpoint_close(reader);
    reader = NULL;
  }
  if (o.log) {
    log = fopen(o.log, o.resume ? "a" : "w");
    if (!log) {
      snprintf(err, sizeof err, "%s: cannot open for writing", o.log);
      fail(err);
      goto done;
    }
  }
  printf("lowbit-train: %zu training and %zu test examples of %ux%u, %zu steps per epoch, "
         "%u threads, arena %zu bytes\n",
         r.train.count, r.test.count, r.train.rows, r.train.cols, r.steps_per_epoch, o.threads,
         lb_train_model_memory(r.model));
  if (o.resume) {
    printf("lowbit-train: resuming %s at step %llu\n", o.resume,
           (unsigned long long)lb_train_model_step(r.model));
  }
  if (o.range_test) {
    status = range_test(&r, &o);
    goto done;
  }
  status = train(&r, &o, &sums, log);
  if (status == 0 && o.export_path) {
    if (!lbt_export(o.export_path, r.model, r.layers, r.layer_count, r.config.batch, LBT_CLASSES,
                    &r.train, EXPORT_CALIBRATION_BATCHES, err, sizeof err)) {
      status = fail(err);
    } else {
      printf("lowbit-train: exported %s\n", o.export_path);
    }
  }
done:
  if (log && fclose(log) != 0 && status == 0) {
    status = fail("the log file could not be closed");
  }
  lb_checkpoint_close(reader);
  lb_train_model_destroy(r.model);
  lb_idx_dataset_free(&r.train);
  lb_idx_dataset_free(&r.test);
  free(r.config_text);
  free(r.images);
  free(r.labels);
  free(r.order);
  return status;
}
