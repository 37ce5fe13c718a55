/* Exported model files (runtime/train/cli/model_file.h, docs/design.md section 27): a model
 * written and read back is the same, field for field and bit for bit; each defect of the text or
 * the sections, behind a valid container and CRC, is refused with its one line. Argument: a
 * scratch folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lowbit/train_io.h"
#include "model_file.h"

static int failures;
static char path[4096];

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "FAIL line %d: ", __LINE__);                                                 \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

static const char kGood[] =
    "lowbit-model 1\n"
    "input 4 4 1\n"
    "classes 3\n"
    "conv2d out_c=2 kernel=3 stride=1 pad=1 in=4x4x1 weights=s4 wscale=2^-2 act=s8 ascale=2^-6 "
    "azero=0\n"
    "relu\n"
    "maxpool\n"
    "flatten\n"
    "dense out=3 in=8 weights=s12 wscale=channel act=s12 ascale=0.0500000007 azero=0\n"
    "end\n";

static int8_t conv_codes[18] = {-8, 7, 0, 1, -1, 2, 3, -3, 4, 5, -5, 6, -6, 7, 0, 0, 1, -8};
static int16_t dense_codes[24];
static float conv_scale[2] = {0.25f, 0.25f}, conv_bias[2] = {0.5f, -1.25f};
static float dense_scale[3] = {0.001f, 0.02f, 3.0f}, dense_bias[3] = {1e-3f, 0.0f, -7.5f};

typedef struct section {
  const char *name;
  const void *data;
  size_t bytes;
} section;

/* A container with `text` and the good sections, `replaced` (name, data, bytes) over one. */
static void write_file(const char *text, const section *replaced) {
  section s[] = {
      {"layer.0.codes", conv_codes, sizeof conv_codes},
      {"layer.0.wscale", conv_scale, sizeof conv_scale},
      {"layer.0.bias", conv_bias, sizeof conv_bias},
      {"layer.4.codes", dense_codes, sizeof dense_codes},
      {"layer.4.wscale", dense_scale, sizeof dense_scale},
      {"layer.4.bias", dense_bias, sizeof dense_bias},
  };
  lb_checkpoint_writer *w = NULL;
  char err[LB_IO_ERROR_LEN];
  lb_io_status st = lb_checkpoint_begin(path, &w, err, sizeof err);
  if (st == LB_IO_OK) {
    st = lb_checkpoint_add_section(w, "lowbit-model", text, strlen(text), err, sizeof err);
  }
  for (size_t i = 0; st == LB_IO_OK && i < sizeof s / sizeof s[0]; i++) {
    const section *x = replaced && strcmp(replaced->name, s[i].name) == 0 ? replaced : &s[i];
    st = lb_checkpoint_add_section(w, x->name, x->data, x->bytes, err, sizeof err);
  }
  if (w) {
    st = lb_checkpoint_commit(w, err, sizeof err);
  }
  CHECK(st == LB_IO_OK, "writing the test file: %s", err);
}

static void expect_refused(const char *what, const char *text, const section *replaced,
                           const char *message) {
  write_file(text, replaced);
  lbt_model m;
  char err[LB_IO_ERROR_LEN] = "";
  int ok = lbt_model_read(path, &m, err, sizeof err);
  CHECK(!ok && strstr(err, message) && !strchr(err, '\n') && strncmp(err, path, strlen(path)) == 0,
        "%s: wanted a refusal with '%s', got %s '%s'", what, message, ok ? "success" : "", err);
  if (ok) {
    lbt_model_free(&m);
  }
}

/* kGood with the first `from` replaced by `to`. */
static const char *edited(const char *from, const char *to) {
  static char out[2048];
  const char *at = strstr(kGood, from);
  if (!at) {
    fprintf(stderr, "test bug: '%s' not in the good text\n", from);
    exit(2);
  }
  snprintf(out, sizeof out, "%.*s%s%s", (int)(at - kGood), kGood, to, at + strlen(from));
  return out;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lowbit-test-model-file SCRATCH\n");
    return 2;
  }
  mkdir(argv[1], 0755);
  snprintf(path, sizeof path, "%s/model.lbm", argv[1]);
  for (int i = 0; i < 24; i++) {
    dense_codes[i] = (int16_t)((i * 397) % 4096 - 2048);
  }

  /* the good file, read, written again by lbt_model_write, read again: the same model */
  write_file(kGood, NULL);
  lbt_model a, b;
  char err[LB_IO_ERROR_LEN] = "";
  CHECK(lbt_model_read(path, &a, err, sizeof err), "the good file: %s", err);
  CHECK(a.count == 5 && a.classes == 3 && a.layers[0].out_h == 4 && a.layers[2].out_h == 2 &&
            a.layers[4].in_c == 8 && a.layers[0].wfl == 2 && a.layers[0].afl == 6 &&
            a.layers[4].wfl == LBT_SCALE_FREE && a.layers[4].ascale == 0.05f &&
            a.layers[4].wbits == 12,
        "the good file's structure");
  CHECK(memcmp(a.layers[0].codes, conv_codes, sizeof conv_codes) == 0 &&
            memcmp(a.layers[4].codes, dense_codes, sizeof dense_codes) == 0 &&
            memcmp(a.layers[4].wscale, dense_scale, sizeof dense_scale) == 0 &&
            memcmp(a.layers[0].bias, conv_bias, sizeof conv_bias) == 0,
        "the good file's sections");
  CHECK(lbt_model_write(path, &a, err, sizeof err), "rewriting: %s", err);
  CHECK(lbt_model_read(path, &b, err, sizeof err), "the rewritten file: %s", err);
  CHECK(b.count == a.count && b.layers[4].ascale == a.layers[4].ascale &&
            b.layers[0].afl == a.layers[0].afl &&
            memcmp(b.layers[4].codes, dense_codes, sizeof dense_codes) == 0 &&
            memcmp(b.layers[4].bias, dense_bias, sizeof dense_bias) == 0,
        "the rewritten file differs");
  lbt_model_free(&a);
  lbt_model_free(&b);

  /* the text */
  expect_refused("version", edited("lowbit-model 1", "lowbit-model 2"), NULL,
                 "format version 2; this reader knows 1");
  expect_refused("header", edited("lowbit-model 1", "lowbit-modl 1"), NULL,
                 "line 1: not a lowbit model header");
  expect_refused("input", edited("input 4 4 1", "input 4 4"), NULL, "line 2: wanted 'input");
  expect_refused("layer", edited("maxpool", "avgpool"), NULL, "line 6: unknown layer 'avgpool'");
  expect_refused("missing key", edited(" azero=0\nrelu", "\nrelu"), NULL,
                 "line 4: conv2d misses the key 'azero'");
  expect_refused("twice", edited("stride=1", "stride=1 stride=1"), NULL, "given twice");
  expect_refused("kernel", edited("kernel=3", "kernel=9"), NULL, "bad value '9' of kernel");
  expect_refused("zero point", edited("azero=0\nrelu", "azero=3\nrelu"), NULL,
                 "bad value '3' of azero");
  expect_refused("scale", edited("ascale=0.0500000007", "ascale=-1"), NULL, "bad value '-1'");
  expect_refused("dense key", edited("out=3", "out_c=3"), NULL, "unknown key 'out_c' for dense");
  expect_refused("in=", edited("in=8 ", "in=9 "), NULL,
                 "layer 4 states the input 1x1x9, the network gives it 1x1x8");
  expect_refused("flatten", edited("flatten\n", ""), NULL, "dense needs a flattened input");
  expect_refused("classes", edited("classes 3", "classes 4"), NULL,
                 "the last layer must be a dense layer of the 4 classes");
  expect_refused("after end", edited("end\n", "end\nrelu\n"), NULL, "text after 'end'");
  expect_refused("no end", edited("end\n", ""), NULL, "ends before its 'end' line");
  expect_refused("no newline", edited("end\n", "end"), NULL, "does not end with a newline");

  /* the sections */
  int8_t wide[18];
  memcpy(wide, conv_codes, sizeof wide);
  wide[5] = 8; /* beyond s4 */
  expect_refused("code range", kGood, &(section){"layer.0.codes", wide, sizeof wide},
                 "code 5 is 8, outside the 4-bit range");
  expect_refused("codes size", kGood, &(section){"layer.0.codes", wide, 17},
                 "holds 17 bytes, the layer needs 18");
  float scale[2] = {0.25f, 0.5f};
  expect_refused("pow2 scale", kGood, &(section){"layer.0.wscale", scale, sizeof scale},
                 "element 1 is 0.5, not the scale the text states");
  float bias[3] = {0.0f, NAN, 1.0f};
  expect_refused("bias", kGood, &(section){"layer.4.bias", bias, sizeof bias},
                 "'layer.4.bias' element 1 is not finite");
  expect_refused("missing section", kGood, &(section){"layer.4.bias", NULL, 0}, "holds 0 bytes");

  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("model file: ok\n");
  return 0;
}
