/* Exported models (model_file.h, docs/design.md section 27). */
#include "model_file.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/train_io.h"

#define SECTION_TEXT "lowbit-model"
#define MAX_SIDE 4096
#define MAX_CHANNELS 65536

size_t lbt_model_weights(const lbt_model_layer *l) {
  return l->kind == LB_LAYER_CONV2D ? l->out_c * l->kernel * l->kernel * l->in_c
                                    : l->out_c * l->in_c;
}

static size_t code_bytes(unsigned bits) { return bits <= 8 ? 1 : 2; }

static int is_param(const lbt_model_layer *l) {
  return l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_DENSE;
}

int lbt_model_shapes(lbt_model *m, char *err, size_t n) {
  size_t h = m->in_h, w = m->in_w, c = m->in_c;
  int flat = 0;
  for (size_t i = 0; i < m->count; i++) {
    lbt_model_layer *l = &m->layers[i];
    l->in_h = h, l->in_w = w, l->in_c = c;
    if (l->kind == LB_LAYER_DENSE) {
      if (!flat) {
        snprintf(err, n, "layer %zu: dense needs a flattened input", i);
        return 0;
      }
      c = l->out_c;
    } else if (l->kind == LB_LAYER_FLATTEN) {
      if (flat) {
        snprintf(err, n, "layer %zu: the input is flat already", i);
        return 0;
      }
      c = h * w * c, h = 1, w = 1, flat = 1;
    } else if (l->kind == LB_LAYER_RELU) {
      /* same shape */
    } else if (flat) {
      snprintf(err, n, "layer %zu: %s needs an image, after flatten", i,
               l->kind == LB_LAYER_CONV2D ? "conv2d" : "maxpool");
      return 0;
    } else if (l->kind == LB_LAYER_MAXPOOL) {
      if (h < 2 || w < 2) {
        snprintf(err, n, "layer %zu: maxpool of a %zux%zu image", i, h, w);
        return 0;
      }
      h /= 2, w /= 2;
    } else {
      if (h + 2 * l->pad < l->kernel || w + 2 * l->pad < l->kernel) {
        snprintf(err, n, "layer %zu: the kernel %u is larger than the padded %zux%zu input", i,
                 l->kernel, h, w);
        return 0;
      }
      h = (h + 2 * l->pad - l->kernel) / l->stride + 1;
      w = (w + 2 * l->pad - l->kernel) / l->stride + 1;
      c = l->out_c;
    }
    l->out_h = h, l->out_w = w, l->out_c = c;
  }
  const lbt_model_layer *last = m->count ? &m->layers[m->count - 1] : NULL;
  if (!last || last->kind != LB_LAYER_DENSE || last->out_c != m->classes) {
    snprintf(err, n, "the last layer must be a dense layer of the %zu classes", m->classes);
    return 0;
  }
  return 1;
}

/* ---- writing ---- */

typedef struct text {
  char *p;
  size_t used, cap;
  int failed;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *format, ...) {
  for (;;) {
    va_list args;
    va_start(args, format);
    int k = t->failed ? -1 : vsnprintf(t->p + t->used, t->cap - t->used, format, args);
    va_end(args);
    if (k < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)k < t->cap - t->used) {
      t->used += (size_t)k;
      return;
    }
    char *q = realloc(t->p, 2 * t->cap + (size_t)k);
    if (!q) {
      t->failed = 1;
      return;
    }
    t->p = q, t->cap = 2 * t->cap + (size_t)k;
  }
}

static void put_scale(text *t, const char *key, int fl, float scale) {
  if (fl == LBT_SCALE_FREE) {
    put(t, " %s=%.9g", key, (double)scale);
  } else {
    put(t, " %s=2^%d", key, -fl);
  }
}

static char *model_text(const lbt_model *m) {
  text t = {malloc(1024), 0, 1024, 0};
  if (!t.p) {
    return NULL;
  }
  put(&t, "lowbit-model %d\ninput %zu %zu %zu\nclasses %zu\n", LBT_MODEL_VERSION, m->in_h, m->in_w,
      m->in_c, m->classes);
  for (size_t i = 0; i < m->count; i++) {
    const lbt_model_layer *l = &m->layers[i];
    switch (l->kind) {
    case LB_LAYER_CONV2D:
      put(&t, "conv2d out_c=%zu kernel=%u stride=%u pad=%u in=%zux%zux%zu", l->out_c, l->kernel,
          l->stride, l->pad, l->in_h, l->in_w, l->in_c);
      break;
    case LB_LAYER_DENSE: put(&t, "dense out=%zu in=%zu", l->out_c, l->in_c); break;
    case LB_LAYER_RELU: put(&t, "relu\n"); continue;
    case LB_LAYER_MAXPOOL: put(&t, "maxpool\n"); continue;
    default: put(&t, "flatten\n"); continue;
    }
    put(&t, " weights=s%u", l->wbits);
    if (l->wfl == LBT_SCALE_FREE) {
      put(&t, " wscale=channel");
    } else {
      put_scale(&t, "wscale", l->wfl, 0);
    }
    put(&t, " act=s%u", l->abits);
    put_scale(&t, "ascale", l->afl, l->ascale);
    put(&t, " azero=%d\n", (int)l->azero);
  }
  put(&t, "end\n");
  if (t.failed) {
    free(t.p);
    return NULL;
  }
  return t.p;
}

static void le_floats(const float *v, size_t count, uint8_t *out) {
  for (size_t i = 0; i < count; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; b++) {
      out[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
  }
}

static void le_codes(const void *codes, size_t count, unsigned bits, uint8_t *out) {
  if (bits <= 8) {
    memcpy(out, codes, count);
    return;
  }
  const int16_t *c = codes;
  for (size_t i = 0; i < count; i++) {
    uint16_t u = (uint16_t)c[i];
    out[2 * i] = (uint8_t)u, out[2 * i + 1] = (uint8_t)(u >> 8);
  }
}

int lbt_model_write(const char *path, const lbt_model *m, char *err, size_t n) {
  char *body = model_text(m);
  size_t largest = 0;
  for (size_t i = 0; i < m->count; i++) {
    const lbt_model_layer *l = &m->layers[i];
    size_t b = is_param(l) ? lbt_model_weights(l) * code_bytes(l->wbits) : 0;
    largest = b > largest ? b : largest;
    largest = is_param(l) && 4 * l->out_c > largest ? 4 * l->out_c : largest;
  }
  uint8_t *buffer = malloc(largest ? largest : 1);
  if (!body || !buffer) {
    snprintf(err, n, "%s: out of memory", path);
    free(body);
    free(buffer);
    return 0;
  }
  lb_checkpoint_writer *w = NULL;
  lb_io_status s = lb_checkpoint_begin(path, &w, err, n);
  if (s == LB_IO_OK) {
    s = lb_checkpoint_add_section(w, SECTION_TEXT, body, strlen(body), err, n);
  }
  for (size_t i = 0; s == LB_IO_OK && i < m->count; i++) {
    const lbt_model_layer *l = &m->layers[i];
    if (!is_param(l)) {
      continue;
    }
    char name[64];
    size_t count = lbt_model_weights(l);
    le_codes(l->codes, count, l->wbits, buffer);
    snprintf(name, sizeof name, "layer.%zu.codes", i);
    s = lb_checkpoint_add_section(w, name, buffer, count * code_bytes(l->wbits), err, n);
    if (s == LB_IO_OK) {
      le_floats(l->wscale, l->out_c, buffer);
      snprintf(name, sizeof name, "layer.%zu.wscale", i);
      s = lb_checkpoint_add_section(w, name, buffer, 4 * l->out_c, err, n);
    }
    if (s == LB_IO_OK) {
      le_floats(l->bias, l->out_c, buffer);
      snprintf(name, sizeof name, "layer.%zu.bias", i);
      s = lb_checkpoint_add_section(w, name, buffer, 4 * l->out_c, err, n);
    }
  }
  if (w) {
    /* commit removes the temporary file itself when an earlier section failed */
    lb_io_status c = lb_checkpoint_commit(w, s == LB_IO_OK ? err : NULL, n);
    s = s == LB_IO_OK ? c : s;
  }
  free(body);
  free(buffer);
  return s == LB_IO_OK;
}

/* ---- reading ---- */

typedef struct parser {
  const char *path;
  unsigned line;
  char *err;
  size_t n;
} parser;

__attribute__((format(printf, 2, 3))) static int bad(parser *p, const char *format, ...) {
  int k = snprintf(p->err, p->n, "%s: line %u: ", p->path, p->line);
  if (k >= 0 && (size_t)k < p->n) {
    va_list args;
    va_start(args, format);
    vsnprintf(p->err + k, p->n - (size_t)k, format, args);
    va_end(args);
  }
  return 0;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out) {
  char *end = NULL;
  if (*s < '0' || *s > '9') {
    return 0;
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || v < lo || v > hi) {
    return 0;
  }
  *out = (size_t)v;
  return 1;
}

static int parse_bits(const char *s, unsigned *bits) {
  size_t b = 0;
  if (s[0] != 's' || !parse_size(s + 1, 2, 16, &b)) {
    return 0;
  }
  *bits = (unsigned)b;
  return 1;
}

/* "2^e" (e in -32..32: fl = -e) or, when free_ok, a positive finite float. */
static int parse_scale(const char *s, int *fl, float *scale) {
  if (strncmp(s, "2^", 2) == 0) {
    char *end = NULL;
    const char *e = s + 2;
    if (!(*e == '-' || (*e >= '0' && *e <= '9'))) {
      return 0;
    }
    long v = strtol(e, &end, 10);
    if (*end || v < -32 || v > 32) {
      return 0;
    }
    *fl = (int)-v;
    *scale = ldexpf(1.0f, (int)v);
    return 1;
  }
  char *end = NULL;
  float v = strtof(s, &end);
  if (end == s || *end || !(v > 0.0f) || !isfinite(v)) {
    return 0;
  }
  *fl = LBT_SCALE_FREE;
  *scale = v;
  return 1;
}

enum { K_OUT, K_KERNEL, K_STRIDE, K_PAD, K_IN, K_WEIGHTS, K_WSCALE, K_ACT, K_ASCALE, K_AZERO };

/* The key=value words of a conv2d or dense line. */
static int parse_param_layer(parser *p, char *words, lbt_model_layer *l) {
  static const char *const conv_keys[] = {"out_c",   "kernel", "stride", "pad",    "in",
                                          "weights", "wscale", "act",    "ascale", "azero"};
  int conv = l->kind == LB_LAYER_CONV2D;
  unsigned seen = 0,
           need = conv ? 0x3ffu : 0x3ffu & ~(1u << K_KERNEL | 1u << K_STRIDE | 1u << K_PAD);
  size_t in[3] = {0, 0, 0}, v = 0;
  for (char *word = strtok(words, " "); word; word = strtok(NULL, " ")) {
    char *eq = strchr(word, '=');
    if (!eq) {
      return bad(p, "'%s' is not key=value", word);
    }
    *eq = '\0';
    const char *value = eq + 1;
    unsigned k = 0;
    const char *key = word;
    if (!conv && strcmp(key, "out") == 0) {
      key = "out_c";
    }
    for (; k < 10 && strcmp(key, conv_keys[k]) != 0; k++) {
    }
    if (k == 10 || !(need >> k & 1) || (!conv && strcmp(word, "out_c") == 0)) {
      return bad(p, "unknown key '%s' for %s", word, conv ? "conv2d" : "dense");
    }
    if (seen >> k & 1) {
      return bad(p, "key '%s' given twice", word);
    }
    seen |= 1u << k;
    int ok = 1;
    switch (k) {
    case K_OUT:
      ok = parse_size(value, 1, MAX_CHANNELS, &v);
      l->out_c = v;
      break;
    case K_KERNEL:
      ok = parse_size(value, 1, 7, &v);
      l->kernel = (unsigned)v;
      break;
    case K_STRIDE:
      ok = parse_size(value, 1, 4, &v);
      l->stride = (unsigned)v;
      break;
    case K_PAD:
      ok = parse_size(value, 0, 6, &v);
      l->pad = (unsigned)v;
      break;
    case K_IN:
      if (conv) {
        char copy[64];
        snprintf(copy, sizeof copy, "%s", value);
        char *x1 = strchr(copy, 'x'), *x2 = x1 ? strchr(x1 + 1, 'x') : NULL;
        ok = x1 && x2;
        if (ok) {
          *x1 = '\0', *x2 = '\0';
          ok = parse_size(copy, 1, MAX_SIDE, &in[0]) && parse_size(x1 + 1, 1, MAX_SIDE, &in[1]) &&
               parse_size(x2 + 1, 1, MAX_CHANNELS, &in[2]);
        }
      } else {
        ok = parse_size(value, 1, (size_t)1 << 30, &in[2]);
        in[0] = in[1] = 1;
      }
      break;
    case K_WEIGHTS: ok = parse_bits(value, &l->wbits); break;
    case K_ACT: ok = parse_bits(value, &l->abits); break;
    case K_WSCALE:
      if (strcmp(value, "channel") == 0) {
        l->wfl = LBT_SCALE_FREE;
      } else {
        float unused;
        ok = strncmp(value, "2^", 2) == 0 && parse_scale(value, &l->wfl, &unused);
      }
      break;
    case K_ASCALE: ok = parse_scale(value, &l->afl, &l->ascale); break;
    default:
      ok = strcmp(value, "0") == 0;
      l->azero = 0;
      break;
    }
    if (!ok) {
      return bad(p, "bad value '%s' of %s", value, word);
    }
  }
  if (seen != need) {
    unsigned k = 0;
    for (; k < 10 && ((seen >> k & 1) || !(need >> k & 1)); k++) {
    }
    return bad(p, "%s misses the key '%s'", conv ? "conv2d" : "dense",
               !conv && k == K_OUT ? "out" : conv_keys[k]);
  }
  /* in= is checked against the shapes derived from the input line once all layers are read */
  l->in_h = in[0], l->in_w = in[1], l->in_c = in[2];
  return 1;
}

/* Splits the header text into lines and fills the model's structure. */
static int parse_text(parser *p, char *body, lbt_model *m) {
  size_t stated[LBT_MODEL_MAX_LAYERS][3];
  int ended = 0;
  char *next = body;
  for (p->line = 1; *next; p->line++) {
    char *line = next, *nl = strchr(line, '\n');
    if (!nl) {
      return bad(p, "the text does not end with a newline");
    }
    *nl = '\0';
    next = nl + 1;
    if (ended) {
      return bad(p, "text after 'end'");
    }
    if (p->line == 1) {
      size_t version = 0;
      if (strncmp(line, "lowbit-model ", 13) != 0 || !parse_size(line + 13, 1, 1000, &version)) {
        return bad(p, "not a lowbit model header");
      }
      if (version != LBT_MODEL_VERSION) {
        return bad(p, "format version %zu; this reader knows %d", version, LBT_MODEL_VERSION);
      }
      continue;
    }
    if (p->line == 2) {
      char a[16], b[16], c[16], extra;
      if (sscanf(line, "input %15s %15s %15s %c", a, b, c, &extra) != 3 ||
          !parse_size(a, 1, MAX_SIDE, &m->in_h) || !parse_size(b, 1, MAX_SIDE, &m->in_w) ||
          !parse_size(c, 1, MAX_CHANNELS, &m->in_c)) {
        return bad(p, "wanted 'input H W C'");
      }
      continue;
    }
    if (p->line == 3) {
      if (strncmp(line, "classes ", 8) != 0 || !parse_size(line + 8, 2, 256, &m->classes)) {
        return bad(p, "wanted 'classes N' (2..256)");
      }
      continue;
    }
    if (strcmp(line, "end") == 0) {
      ended = 1;
      continue;
    }
    if (m->count == LBT_MODEL_MAX_LAYERS) {
      return bad(p, "more than %d layers", LBT_MODEL_MAX_LAYERS);
    }
    lbt_model_layer *l = &m->layers[m->count];
    char *space = strchr(line, ' ');
    if (space) {
      *space = '\0';
    }
    if (strcmp(line, "relu") == 0 || strcmp(line, "maxpool") == 0 || strcmp(line, "flatten") == 0) {
      if (space) {
        return bad(p, "%s takes nothing after it", line);
      }
      l->kind = line[0] == 'r'   ? LB_LAYER_RELU
                : line[0] == 'm' ? LB_LAYER_MAXPOOL
                                 : LB_LAYER_FLATTEN;
    } else if (strcmp(line, "conv2d") == 0 || strcmp(line, "dense") == 0) {
      l->kind = line[0] == 'c' ? LB_LAYER_CONV2D : LB_LAYER_DENSE;
      if (!space || !parse_param_layer(p, space + 1, l)) {
        return space ? 0 : bad(p, "%s without its keys", line);
      }
      stated[m->count][0] = l->in_h, stated[m->count][1] = l->in_w;
      stated[m->count][2] = l->in_c;
    } else {
      return bad(p, "unknown layer '%s'", line);
    }
    m->count++;
  }
  if (p->line <= 3 || !ended) {
    return bad(p, "the text ends before its 'end' line");
  }
  char why[256];
  if (!lbt_model_shapes(m, why, sizeof why)) {
    snprintf(p->err, p->n, "%s: %s", p->path, why);
    return 0;
  }
  for (size_t i = 0; i < m->count; i++) {
    const lbt_model_layer *l = &m->layers[i];
    if (is_param(l) &&
        (stated[i][0] != l->in_h || stated[i][1] != l->in_w || stated[i][2] != l->in_c)) {
      snprintf(p->err, p->n,
               "%s: layer %zu states the input %zux%zux%zu, the network gives it %zux%zux%zu",
               p->path, i, stated[i][0], stated[i][1], stated[i][2], l->in_h, l->in_w, l->in_c);
      return 0;
    }
  }
  return 1;
}

static int read_floats(const lb_checkpoint_reader *r, const char *path, const char *name,
                       size_t count, float *out, char *err, size_t n) {
  const void *data = NULL;
  size_t bytes = 0;
  if (lb_checkpoint_find(r, name, &data, &bytes, err, n) != LB_IO_OK) {
    return 0;
  }
  if (bytes != 4 * count) {
    snprintf(err, n, "%s: section '%s' holds %zu bytes, the layer needs %zu", path, name, bytes,
             4 * count);
    return 0;
  }
  const uint8_t *b = data;
  for (size_t i = 0; i < count; i++) {
    uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                 (uint32_t)b[4 * i + 3] << 24;
    memcpy(&out[i], &u, 4);
    if (!isfinite(out[i])) {
      snprintf(err, n, "%s: section '%s' element %zu is not finite", path, name, i);
      return 0;
    }
  }
  return 1;
}

static int read_layer(const lb_checkpoint_reader *r, const char *path, size_t i, lbt_model_layer *l,
                      char *err, size_t n) {
  size_t count = lbt_model_weights(l), cb = code_bytes(l->wbits);
  l->codes = malloc(count * cb);
  l->wscale = malloc(l->out_c * sizeof(float));
  l->bias = malloc(l->out_c * sizeof(float));
  if (!l->codes || !l->wscale || !l->bias) {
    snprintf(err, n, "%s: out of memory for layer %zu", path, i);
    return 0;
  }
  char name[64];
  snprintf(name, sizeof name, "layer.%zu.codes", i);
  const void *data = NULL;
  size_t bytes = 0;
  if (lb_checkpoint_find(r, name, &data, &bytes, err, n) != LB_IO_OK) {
    return 0;
  }
  if (bytes != count * cb) {
    snprintf(err, n, "%s: section '%s' holds %zu bytes, the layer needs %zu", path, name, bytes,
             count * cb);
    return 0;
  }
  const uint8_t *b = data;
  int32_t lo = -(1 << (l->wbits - 1)), hi = (1 << (l->wbits - 1)) - 1;
  for (size_t j = 0; j < count; j++) {
    int32_t c = cb == 1 ? (int8_t)b[j] : (int16_t)(uint16_t)(b[2 * j] | b[2 * j + 1] << 8);
    if (c < lo || c > hi) {
      snprintf(err, n, "%s: section '%s' code %zu is %d, outside the %u-bit range", path, name, j,
               (int)c, l->wbits);
      return 0;
    }
    if (cb == 1) {
      ((int8_t *)l->codes)[j] = (int8_t)c;
    } else {
      ((int16_t *)l->codes)[j] = (int16_t)c;
    }
  }
  snprintf(name, sizeof name, "layer.%zu.wscale", i);
  if (!read_floats(r, path, name, l->out_c, l->wscale, err, n)) {
    return 0;
  }
  for (size_t j = 0; j < l->out_c; j++) {
    if (!(l->wscale[j] > 0.0f) ||
        (l->wfl != LBT_SCALE_FREE && l->wscale[j] != ldexpf(1.0f, -l->wfl))) {
      snprintf(err, n, "%s: section '%s' element %zu is %g, not the scale the text states", path,
               name, j, (double)l->wscale[j]);
      return 0;
    }
  }
  snprintf(name, sizeof name, "layer.%zu.bias", i);
  return read_floats(r, path, name, l->out_c, l->bias, err, n);
}

int lbt_model_read(const char *path, lbt_model *m, char *err, size_t n) {
  memset(m, 0, sizeof *m);
  lb_checkpoint_reader *r = NULL;
  if (lb_checkpoint_open(path, &r, err, n) != LB_IO_OK) {
    return 0;
  }
  const void *data = NULL;
  size_t bytes = 0;
  if (lb_checkpoint_find(r, SECTION_TEXT, &data, &bytes, err, n) != LB_IO_OK) {
    snprintf(err, n, "%s: not an exported model (no section '%s')", path, SECTION_TEXT);
    lb_checkpoint_close(r);
    return 0;
  }
  char *body = malloc(bytes + 1);
  int ok = body != NULL;
  if (!ok) {
    snprintf(err, n, "%s: out of memory", path);
  } else {
    memcpy(body, data, bytes);
    body[bytes] = '\0';
    parser p = {path, 0, err, n};
    ok = strlen(body) == bytes ? parse_text(&p, body, m)
                               : (snprintf(err, n, "%s: the text holds a zero byte", path), 0);
  }
  free(body);
  for (size_t i = 0; ok && i < m->count; i++) {
    if (is_param(&m->layers[i])) {
      ok = read_layer(r, path, i, &m->layers[i], err, n);
    }
  }
  lb_checkpoint_close(r);
  if (!ok) {
    lbt_model_free(m);
  }
  return ok;
}

void lbt_model_free(lbt_model *m) {
  for (size_t i = 0; i < m->count; i++) {
    free(m->layers[i].codes);
    free(m->layers[i].wscale);
    free(m->layers[i].bias);
    m->layers[i].codes = NULL, m->layers[i].wscale = NULL, m->layers[i].bias = NULL;
  }
  m->count = 0;
}
