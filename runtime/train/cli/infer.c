/* lowbit-infer: evaluates a model exported by lowbit-train --export (docs/design.md, section 27)
 * on the Fashion-MNIST test set through liblowbit's conv2d and dense operators. Exit status 0 on
 * success, 1 when the data or an operator fails, 2 for a bad flag or a bad model file. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "data.h"
#include "lowbit/operators.h"
#include "lowbit/train_io.h"
#include "model_file.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#define ERR_LEN LB_IO_ERROR_LEN

static const char kUsage[] =
    "usage: lowbit-infer --model FILE [options]\n"
    "Evaluates a model written by lowbit-train --export on the test set through liblowbit's\n"
    "conv2d and dense operators (codes in, float out; relu, maxpool and flatten in the tool) and\n"
    "prints the test accuracy, the images per second and the model's bytes (docs/design.md\n"
    "section 27).\n"
    "\n"
    "  --model FILE      the exported model (required)\n"
    "  --data DIR        IDX gzip files (default " DEFAULT_DATA ")\n"
    "  --test-limit N    the first N test examples (0 = all, the default)\n"
    "  --batch N         images per operator run (default 64)\n"
    "  --threads N       threads (default: the online CPUs); the results do not depend on it\n"
    "  --help            this text\n";

typedef struct options {
  const char *model, *data;
  size_t test_limit, batch;
  unsigned threads;
} options;

static int usage_error(const char *what, const char *value) {
  fprintf(stderr, "lowbit-infer: %s%s%s (--help for usage)\n", what, value ? " " : "",
          value ? value : "");
  return 2;
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->data = DEFAULT_DATA, o->batch = 64;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = cpus < 1 ? 1u : cpus > 64 ? 64u : (unsigned)cpus;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(kUsage, stdout);
      exit(0);
    }
    if (strncmp(a, "--", 2) != 0) {
      return usage_error("unexpected argument", a);
    }
    if (i + 1 >= argc) {
      return usage_error("a value is missing after", a);
    }
    const char *v = argv[++i];
    uint64_t u = 0;
    if (strcmp(a, "--model") == 0) {
      o->model = v;
    } else if (strcmp(a, "--data") == 0) {
      o->data = v;
    } else if (strcmp(a, "--test-limit") == 0) {
      if (!lbt_parse_count(v, 0, 1ull << 32, &u)) {
        return usage_error("--test-limit: not a whole number:", v);
      }
      o->test_limit = (size_t)u;
    } else if (strcmp(a, "--batch") == 0) {
      if (!lbt_parse_count(v, 1, 4096, &u)) {
        return usage_error("--batch: not a whole number in 1..4096:", v);
      }
      o->batch = (size_t)u;
    } else if (strcmp(a, "--threads") == 0) {
      if (!lbt_parse_count(v, 1, 256, &u)) {
        return usage_error("--threads: not a whole number in 1..256:", v);
      }
      o->threads = (unsigned)u;
    } else {
      return usage_error("unknown flag", a);
    }
  }
  if (!o->model) {
    return usage_error("--model FILE is required", NULL);
  }
  return 0;
}

/* The operators of the model's conv2d and dense layers and the buffers between layers. */
typedef struct net {
  lbt_model model;
  lb_conv2d *conv[LBT_MODEL_MAX_LAYERS];
  lb_dense *dense[LBT_MODEL_MAX_LAYERS];
  float *buffer[2];
} net;

static lb_status create_operators(net *t, size_t batch, unsigned threads) {
  size_t largest = batch * t->model.in_h * t->model.in_w * t->model.in_c;
  for (size_t i = 0; i < t->model.count; i++) {
    lbt_model_layer *l = &t->model.layers[i];
    size_t out = batch * l->out_h * l->out_w * l->out_c;
    largest = out > largest ? out : largest;
    if (l->kind != LB_LAYER_CONV2D && l->kind != LB_LAYER_DENSE) {
      continue;
    }
    float *scale = malloc(l->out_c * sizeof(float));
    if (!scale) {
      return LB_OUT_OF_MEMORY;
    }
    for (size_t oc = 0; oc < l->out_c; oc++) {
      scale[oc] = l->ascale * l->wscale[oc]; /* exact for the powers of two of fixed layers */
    }
    lb_operand a = {l->abits, LB_SIGNED}, w = {l->wbits, LB_SIGNED};
    lb_float_output fo = {scale, l->bias};
    lb_status s;
    if (l->kind == LB_LAYER_CONV2D) {
      lb_conv2d_desc d;
      memset(&d, 0, sizeof d);
      d.batch = batch, d.in_h = l->in_h, d.in_w = l->in_w, d.in_c = l->in_c, d.out_c = l->out_c;
      d.kernel_h = d.kernel_w = l->kernel, d.stride_h = d.stride_w = l->stride;
      d.dilation_h = d.dilation_w = 1;
      d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = l->pad;
      d.groups = 1, d.a = a, d.w = w, d.strategy = LB_AUTO, d.threads = threads;
      d.output = LB_OUTPUT_FLOAT, d.float_out = fo;
      d.input = LB_INPUT_FLOAT, d.a_scale = l->ascale, d.a_zero_point = l->azero;
      s = lb_conv2d_create(&d, l->codes, &t->conv[i]);
    } else {
      lb_dense_desc d;
      memset(&d, 0, sizeof d);
      d.batch = batch, d.in_c = l->in_c, d.out_c = l->out_c, d.a = a, d.w = w;
      d.strategy = LB_AUTO, d.threads = threads, d.output = LB_OUTPUT_FLOAT, d.float_out = fo;
      d.input = LB_INPUT_FLOAT, d.a_scale = l->ascale, d.a_zero_point = l->azero;
      s = lb_dense_create(&d, l->codes, &t->dense[i]);
    }
    free(scale);
    if (s != LB_OK) {
      return s;
    }
  }
  t->buffer[0] = malloc(largest * sizeof(float));
  t->buffer[1] = malloc(largest * sizeof(float));
  return t->buffer[0] && t->buffer[1] ? LB_OK : LB_OUT_OF_MEMORY;
}

static void destroy(net *t) {
  for (size_t i = 0; i < LBT_MODEL_MAX_LAYERS; i++) {
    lb_conv2d_destroy(t->conv[i]);
    lb_dense_destroy(t->dense[i]);
  }
  free(t->buffer[0]);
  free(t->buffer[1]);
  lbt_model_free(&t->model);
}

/* The logits of a batch of images (in t->buffer[0]); returns them or NULL with *status set. */
static const float *forward(net *t, size_t batch, lb_status *status) {
  float *x = t->buffer[0], *y = t->buffer[1];
  for (size_t i = 0; i < t->model.count; i++) {
    const lbt_model_layer *l = &t->model.layers[i];
    size_t n = batch * l->out_h * l->out_w * l->out_c;
    switch (l->kind) {
    case LB_LAYER_CONV2D: *status = lb_conv2d_run(t->conv[i], x, y); break;
    case LB_LAYER_DENSE: *status = lb_dense_run(t->dense[i], x, y); break;
    case LB_LAYER_RELU:
      for (size_t j = 0; j < n; j++) {
        y[j] = x[j] > 0.0f ? x[j] : 0.0f;
      }
      break;
    case LB_LAYER_MAXPOOL:
      /* 2x2 stride 2, odd trailing rows and columns dropped, as the training engine */
      for (size_t j = 0; j < n; j++) {
        size_t c = j % l->out_c, ox = j / l->out_c % l->out_w;
        size_t oy = j / l->out_c / l->out_w % l->out_h, b = j / (l->out_c * l->out_w * l->out_h);
        float v = 0;
        for (unsigned k = 0; k < 4; k++) {
          size_t at = ((b * l->in_h + 2 * oy + k / 2) * l->in_w + 2 * ox + k % 2) * l->in_c + c;
          v = k == 0 || x[at] > v ? x[at] : v;
        }
        y[j] = v;
      }
      break;
    default: continue; /* flatten: NHWC is already the flattened order */
    }
    if (*status != LB_OK) {
      return NULL;
    }
    float *swap = x;
    x = y, y = swap;
  }
  return x;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  options o;
  int status = parse_args(argc, argv, &o);
  if (status) {
    return status;
  }
  char err[ERR_LEN];
  net t;
  memset(&t, 0, sizeof t);
  if (!lbt_model_read(o.model, &t.model, err, sizeof err)) {
    fprintf(stderr, "lowbit-infer: %s\n", err);
    return 2;
  }
  struct stat st;
  long long file_bytes = stat(o.model, &st) == 0 ? (long long)st.st_size : -1;
  size_t code_bits = 0, params = 0;
  for (size_t i = 0; i < t.model.count; i++) {
    const lbt_model_layer *l = &t.model.layers[i];
    if (l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_DENSE) {
      code_bits += lbt_model_weights(l) * l->wbits;
      params += lbt_model_weights(l) + l->out_c;
    }
  }
  lb_idx_dataset test;
  memset(&test, 0, sizeof test);
  status = 1;
  uint8_t *labels = NULL;
  uint32_t *order = NULL;
  if (lbt_data_load(o.data, "t10k", o.test_limit, &test, err, sizeof err) != LB_IO_OK) {
    fprintf(stderr, "lowbit-infer: %s\n", err);
    goto done;
  }
  if (test.rows != t.model.in_h || test.cols != t.model.in_w || t.model.in_c != 1) {
    fprintf(stderr, "lowbit-infer: %s takes %zux%zux%zu images, the test set holds %ux%ux1\n",
            o.model, t.model.in_h, t.model.in_w, t.model.in_c, test.rows, test.cols);
    status = 2;
    goto done;
  }
  lb_status s = create_operators(&t, o.batch, o.threads);
  if (s != LB_OK) {
    fprintf(stderr, "lowbit-infer: %s: the operators refused the model: %s\n", o.model,
            lb_status_string(s));
    goto done;
  }
  labels = malloc(o.batch);
  order = malloc(o.batch * sizeof(uint32_t));
  if (!labels || !order) {
    fprintf(stderr, "lowbit-infer: out of memory\n");
    goto done;
  }
  size_t hits = 0;
  double seconds = 0;
  for (size_t at = 0; at < test.count; at += o.batch) {
    /* the last batch is padded with the first examples; only its real rows count */
    size_t real = test.count - at < o.batch ? test.count - at : o.batch;
    for (size_t b = 0; b < o.batch; b++) {
      order[b] = (uint32_t)(b < real ? at + b : b % test.count);
    }
    lbt_gather(&test, order, o.batch, t.buffer[0], labels);
    double t0 = now_seconds();
    const float *logits = forward(&t, o.batch, &s);
    seconds += now_seconds() - t0;
    if (!logits) {
      fprintf(stderr, "lowbit-infer: an operator run failed: %s\n", lb_status_string(s));
      goto done;
    }
    for (size_t b = 0; b < real; b++) {
      const float *z = logits + b * t.model.classes;
      size_t best = 0;
      for (size_t j = 1; j < t.model.classes; j++) {
        best = z[j] > z[best] ? j : best;
      }
      hits += best == labels[b];
    }
  }
  printf("lowbit-infer: %s: %zu layers, %zu parameters, weight codes %zu bytes packed, model_bytes "
         "%lld\n",
         o.model, t.model.count, params, (code_bits + 7) / 8, file_bytes);
  printf("test_acc %.4f correct %zu images %zu images_per_second %.0f model_bytes %lld threads %u "
         "batch %zu\n",
         (double)hits / (double)test.count, hits, test.count,
         seconds > 0 ? (double)test.count / seconds : 0.0, file_bytes, o.threads, o.batch);
  status = 0;
done:
  free(labels);
  free(order);
  lb_idx_dataset_free(&test);
  destroy(&t);
  return status;
}
