/* lowbit-train's configuration parser and writer (config.h, docs/design.md section 25). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next token of *p up to one of delims (empty tokens kept), or NULL at the end; as BSD's
 * strsep, which C11 lacks. */
static char *next_token(char **p, const char *delims) {
  char *tok = *p;
  if (!tok) {
    return NULL;
  }
  char *end = tok + strcspn(tok, delims);
  *p = *end ? end + 1 : NULL;
  *end = '\0';
  return tok;
}

static const char *const kTensorKeys[LB_TENSOR_KINDS] = {"weights", "activations", "errors",
                                                         "gradients"};

static void add_layer(lbt_config *c, lb_train_layer_kind kind, size_t out_c) {
  lbt_layer *l = &c->layers[c->layer_count++];
  memset(l, 0, sizeof *l);
  l->kind = kind, l->out_c = out_c, l->kernel = 3, l->stride = 1, l->pad = 1;
}

void lbt_config_defaults(lbt_config *c) {
  memset(c, 0, sizeof *c);
  c->epochs = 10, c->batch = 64, c->lr = 0.05f, c->momentum = 0.9f, c->seed = 1;
  c->master = LB_SGD_MASTER_NONE, c->momentum_extra_bits = 8;
  for (int t = 0; t < LB_TENSOR_KINDS; t++) {
    c->format[t].kind = LB_NUMBER_FLOAT, c->format[t].rounding = LB_ROUND_NEAREST;
  }
  c->schedule = LB_SCHEDULE_FIXED, c->fw_min = 3, c->fw_max = 8, c->cycles = 32;
  add_layer(c, LB_LAYER_CONV2D, 32);
  add_layer(c, LB_LAYER_RELU, 0);
  add_layer(c, LB_LAYER_MAXPOOL, 0);
  add_layer(c, LB_LAYER_CONV2D, 64);
  add_layer(c, LB_LAYER_RELU, 0);
  add_layer(c, LB_LAYER_MAXPOOL, 0);
  add_layer(c, LB_LAYER_FLATTEN, 0);
  add_layer(c, LB_LAYER_DENSE, 128);
  add_layer(c, LB_LAYER_RELU, 0);
  add_layer(c, LB_LAYER_DENSE, LBT_CLASSES);
}

/* ---- numbers ---- */

int lbt_parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || *s < '0' || *s > '9') {
    return 0;
  }
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) {
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_int(const char *s, long lo, long hi, long *out) {
  if (!s || !*s || *s == ' ') {
    return 0;
  }
  errno = 0;
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < lo || v > hi) {
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_float(const char *s, float lo, float hi, float *out) {
  if (!s || !*s || *s == ' ') {
    return 0;
  }
  errno = 0;
  char *end = NULL;
  float v = strtof(s, &end);
  if (errno || *end || !isfinite(v) || v < lo || v > hi) {
    return 0;
  }
  *out = v;
  return 1;
}

/* ---- formats: float | fixed:WL:FL | minifloat:E:M | bfp:M:BLOCK | lns:BITS:GAMMA:OFFSET,
 * each optionally followed by :sr or :nearest ---- */

static int parse_format(const char *text, lb_number_format *f, char *err, size_t n) {
  char buf[96];
  if (strlen(text) >= sizeof buf) {
    snprintf(err, n, "format '%.40s...' is too long", text);
    return 0;
  }
  strcpy(buf, text);
  char *part[6];
  size_t parts = 0;
  for (char *p = buf, *tok; parts < 6 && (tok = next_token(&p, ":")) != NULL;) {
    part[parts++] = tok;
  }
  memset(f, 0, sizeof *f);
  f->rounding = LB_ROUND_NEAREST;
  if (parts > 1 && strcmp(part[parts - 1], "sr") == 0) {
    f->rounding = LB_ROUND_STOCHASTIC, parts--;
  } else if (parts > 1 && strcmp(part[parts - 1], "nearest") == 0) {
    parts--;
  }
  long a = 0, b = 0, c = 0;
  const char *kind = part[0];
  int ok = 0;
  if (strcmp(kind, "float") == 0) {
    f->kind = LB_NUMBER_FLOAT;
    ok = parts == 1;
  } else if (strcmp(kind, "fixed") == 0) {
    f->kind = LB_NUMBER_FIXED;
    ok = parts == 3 && parse_int(part[1], 2, 16, &a) && parse_int(part[2], -32, 32, &b);
    f->fixed.wl = (unsigned)a, f->fixed.fl = (int)b;
  } else if (strcmp(kind, "minifloat") == 0) {
    f->kind = LB_NUMBER_MINIFLOAT;
    ok = parts == 3 && parse_int(part[1], 2, 8, &a) && parse_int(part[2], 0, 10, &b);
    f->minifloat.exponent_bits = (unsigned)a, f->minifloat.mantissa_bits = (unsigned)b;
    ok = ok && lb_minifloat_code_bytes(&f->minifloat) != 0;
  } else if (strcmp(kind, "bfp") == 0) {
    f->kind = LB_NUMBER_BFP;
    ok = parts == 3 && parse_int(part[1], 1, 15, &a) && parse_int(part[2], 1, 1 << 20, &b);
    f->bfp.mantissa_bits = (unsigned)a, f->bfp.block = (size_t)b;
  } else if (strcmp(kind, "lns") == 0) {
    f->kind = LB_NUMBER_LNS;
    ok = parts == 4 && parse_int(part[1], 2, 16, &a) && parse_int(part[2], 1, 64, &b) &&
         parse_int(part[3], -1000000, 1000000, &c);
    f->lns.bits = (unsigned)a, f->lns.gamma = (unsigned)b, f->lns.offset = (int32_t)c;
    ok = ok && lb_lns_code_bytes(&f->lns) != 0;
  } else {
    snprintf(err, n, "unknown number format '%s' (float, fixed, minifloat, bfp, lns)", kind);
    return 0;
  }
  if (!ok) {
    snprintf(err, n,
             "bad %s format '%s' (float, fixed:WL:FL, minifloat:E:M, bfp:M:BLOCK, "
             "lns:BITS:GAMMA:OFFSET, then optionally :sr or :nearest)",
             kind, text);
  }
  return ok;
}

void lbt_format_text(const lb_number_format *f, char *out, size_t n) {
  const char *r = f->rounding == LB_ROUND_STOCHASTIC ? ":sr" : ":nearest";
  switch (f->kind) {
  case LB_NUMBER_FIXED: snprintf(out, n, "fixed:%u:%d%s", f->fixed.wl, f->fixed.fl, r); break;
  case LB_NUMBER_MINIFLOAT:
    snprintf(out, n, "minifloat:%u:%u%s", f->minifloat.exponent_bits, f->minifloat.mantissa_bits,
             r);
    break;
  case LB_NUMBER_BFP:
    snprintf(out, n, "bfp:%u:%zu%s", f->bfp.mantissa_bits, f->bfp.block, r);
    break;
  case LB_NUMBER_LNS:
    snprintf(out, n, "lns:%u:%u:%d%s", f->lns.bits, f->lns.gamma, (int)f->lns.offset, r);
    break;
  default: snprintf(out, n, "float"); break;
  }
}

static int tensor_key(const char *key) {
  for (int t = 0; t < LB_TENSOR_KINDS; t++) {
    if (strcmp(key, kTensorKeys[t]) == 0) {
      return t;
    }
  }
  return -1;
}

/* ---- the master copy and loss scaling ---- */

/* none | float (fixed-point layers: lb_sgd_master) | minifloat:E:M | bfp:M:BLOCK, optionally :sr
 * or :nearest (the float-path layers' 16-bit master). */
static int parse_master(lbt_config *c, const char *value, char *err, size_t n) {
  lb_number_format f;
  memset(&f, 0, sizeof f);
  if (strcmp(value, "none") == 0 || strcmp(value, "float") == 0) {
    c->master = value[0] == 'f' ? LB_SGD_MASTER_F32 : LB_SGD_MASTER_NONE;
    c->master_format = f;
    return 1;
  }
  char problem[256];
  if ((strncmp(value, "minifloat:", 10) != 0 && strncmp(value, "bfp:", 4) != 0) ||
      !parse_format(value, &f, problem, sizeof problem)) {
    snprintf(err, n,
             "master: '%s' is not none, float, minifloat:E:M or bfp:M:BLOCK (at most 16 bits, "
             "then optionally :sr or :nearest)",
             value);
    return 0;
  }
  c->master = LB_SGD_MASTER_NONE, c->master_format = f;
  return 1;
}

/* A power of two, written 1024, 0.5 or 2^10, as its log2 in -126..127. */
static int parse_pow2(const char *s, int *log2) {
  long e = 0;
  if (strncmp(s, "2^", 2) == 0) {
    if (!parse_int(s + 2, -126, 127, &e)) {
      return 0;
    }
    *log2 = (int)e;
    return 1;
  }
  if (!*s || *s == ' ') {
    return 0;
  }
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  int x = 0;
  if (errno || *end || !(v > 0) || !isfinite(v) || frexp(v, &x) != 0.5 || x - 1 < -126 ||
      x - 1 > 127) {
    return 0;
  }
  *log2 = x - 1;
  return 1;
}

/* none | static:S | dynamic:INIT[:interval=N][:max=S][:floor=S][:floor_interval=N]
 * [:floor_step=N][:floor_cap=S], S a power of two (lb_loss_scale_config). */
static int parse_loss_scale(lbt_config *c, const char *value, char *err, size_t n) {
  static const char usage[] =
      "none, static:S or dynamic:S[:interval=N][:max=S][:floor=S][:floor_interval=N]"
      "[:floor_step=N][:floor_cap=S] (S a power of two: 1024, 0.5, 2^10)";
  lb_loss_scale_config ls;
  memset(&ls, 0, sizeof ls);
  if (strcmp(value, "none") == 0) {
    c->loss_scaling = 0, c->loss_scale = ls;
    return 1;
  }
  char buf[256];
  if (strlen(value) >= sizeof buf) {
    snprintf(err, n, "loss_scale: '%.40s...' is too long", value);
    return 0;
  }
  strcpy(buf, value);
  char *p = buf;
  const char *mode = next_token(&p, ":");
  const char *init = next_token(&p, ":");
  int dynamic = strcmp(mode, "dynamic") == 0;
  if ((!dynamic && strcmp(mode, "static") != 0) || !init || !parse_pow2(init, &ls.log2_scale)) {
    snprintf(err, n, "loss_scale: '%s' is not %s", value, usage);
    return 0;
  }
  ls.mode = dynamic ? LB_LOSS_SCALE_DYNAMIC : LB_LOSS_SCALE_STATIC;
  ls.max_log2 = 24 > ls.log2_scale ? 24 : ls.log2_scale;
  ls.growth_interval = 2000;
  ls.min_log2 = ls.log2_scale < 0 ? ls.log2_scale : 0;
  ls.floor_step = 1;
  int cap_set = 0;
  for (char *tok; (tok = next_token(&p, ":")) != NULL;) {
    char *eq = strchr(tok, '=');
    uint64_t u = 0;
    int ok = dynamic && eq != NULL;
    if (ok) {
      *eq = '\0';
      const char *v = eq + 1;
      if (strcmp(tok, "interval") == 0) {
        ok = lbt_parse_count(v, 1, UINT32_MAX, &u), ls.growth_interval = (unsigned)u;
      } else if (strcmp(tok, "max") == 0) {
        ok = parse_pow2(v, &ls.max_log2);
      } else if (strcmp(tok, "floor") == 0) {
        ok = parse_pow2(v, &ls.min_log2);
      } else if (strcmp(tok, "floor_interval") == 0) {
        ok = lbt_parse_count(v, 0, UINT64_MAX, &ls.floor_interval);
      } else if (strcmp(tok, "floor_step") == 0) {
        ok = lbt_parse_count(v, 1, 253, &u), ls.floor_step = (unsigned)u;
      } else if (strcmp(tok, "floor_cap") == 0) {
        ok = parse_pow2(v, &ls.floor_cap_log2), cap_set = 1;
      } else {
        ok = 0;
      }
      *eq = '=';
    }
    if (!ok) {
      snprintf(err, n, "loss_scale: '%s' in '%s' is not %s", tok, value,
               dynamic ? "interval=N, max=S, floor=S, floor_interval=N, floor_step=N or "
                         "floor_cap=S (S a power of two)"
                       : "allowed: static:S takes no settings");
      return 0;
    }
  }
  if (!cap_set) {
    ls.floor_cap_log2 = ls.max_log2;
  }
  lb_loss_scale probe;
  if (lb_loss_scale_init(&probe, &ls) != LB_OK) {
    snprintf(err, n,
             "loss_scale: '%s' does not hold floor <= scale <= max and floor <= floor_cap <= "
             "max",
             value);
    return 0;
  }
  c->loss_scaling = 1, c->loss_scale = ls;
  return 1;
}

/* The loss_scale value as parse_loss_scale reads it, every setting written out. */
static void loss_scale_text(const lbt_config *c, char *out, size_t n) {
  const lb_loss_scale_config *ls = &c->loss_scale;
  if (!c->loss_scaling) {
    snprintf(out, n, "none");
  } else if (ls->mode == LB_LOSS_SCALE_STATIC) {
    snprintf(out, n, "static:2^%d", ls->log2_scale);
  } else {
    snprintf(out, n,
             "dynamic:2^%d:interval=%u:max=2^%d:floor=2^%d:floor_interval=%llu:floor_step=%u:"
             "floor_cap=2^%d",
             ls->log2_scale, ls->growth_interval, ls->max_log2, ls->min_log2,
             (unsigned long long)ls->floor_interval, ls->floor_step, ls->floor_cap_log2);
  }
}

/* ---- keys ---- */

int lbt_config_set(lbt_config *c, const char *key, const char *value, char *err, size_t n) {
  uint64_t u = 0;
  long i = 0;
  int t = tensor_key(key);
  if (t >= 0) {
    return parse_format(value, &c->format[t], err, n);
  }
#define NUMBER(ok, what)                                                                           \
  if (!(ok)) {                                                                                     \
    snprintf(err, n, "%s: '%s' is not %s", key, value, what);                                      \
    return 0;                                                                                      \
  }
  if (strcmp(key, "epochs") == 0) {
    NUMBER(lbt_parse_count(value, 1, 100000, &u), "a whole number in 1..100000");
    c->epochs = (unsigned)u;
  } else if (strcmp(key, "batch") == 0) {
    NUMBER(lbt_parse_count(value, 1, 65536, &u), "a whole number in 1..65536");
    c->batch = (size_t)u;
  } else if (strcmp(key, "lr") == 0) {
    NUMBER(parse_float(value, 0.0f, 100.0f, &c->lr), "a number in 0..100");
  } else if (strcmp(key, "momentum") == 0) {
    NUMBER(parse_float(value, 0.0f, 1.0f, &c->momentum), "a number in 0..1");
  } else if (strcmp(key, "weight_decay") == 0) {
    NUMBER(parse_float(value, 0.0f, 1.0f, &c->weight_decay), "a number in 0..1");
  } else if (strcmp(key, "seed") == 0) {
    NUMBER(lbt_parse_count(value, 0, UINT64_MAX, &c->seed), "a whole number in 0..2^64-1");
  } else if (strcmp(key, "master") == 0) {
    return parse_master(c, value, err, n);
  } else if (strcmp(key, "loss_scale") == 0) {
    return parse_loss_scale(c, value, err, n);
  } else if (strcmp(key, "momentum_extra_bits") == 0) {
    NUMBER(parse_int(value, 0, 32, &i), "a whole number in 0..32");
    c->momentum_extra_bits = (int)i;
  } else if (strcmp(key, "schedule") == 0) {
    if (strcmp(value, "fixed") == 0) {
      c->schedule = LB_SCHEDULE_FIXED;
    } else if (strcmp(value, "cyclic") == 0) {
      c->schedule = LB_SCHEDULE_CYCLIC;
    } else {
      snprintf(err, n, "schedule: '%s' is not fixed or cyclic", value);
      return 0;
    }
  } else if (strcmp(key, "fw_min") == 0) {
    NUMBER(lbt_parse_count(value, 2, 16, &u), "a whole number in 2..16");
    c->fw_min = (unsigned)u;
  } else if (strcmp(key, "fw_max") == 0) {
    NUMBER(lbt_parse_count(value, 2, 16, &u), "a whole number in 2..16");
    c->fw_max = (unsigned)u;
  } else if (strcmp(key, "cycles") == 0) {
    NUMBER(lbt_parse_count(value, 1, 1000000, &u), "a whole number in 1..1000000");
    c->cycles = (unsigned)u;
  } else if (strcmp(key, "schedule_steps") == 0) {
    NUMBER(lbt_parse_count(value, 0, UINT64_MAX >> 24, &c->schedule_steps),
           "a whole number (0: auto)");
  } else if (strcmp(key, "train_limit") == 0) {
    NUMBER(lbt_parse_count(value, 0, SIZE_MAX, &u), "a whole number (0: all)");
    c->train_limit = (size_t)u;
  } else if (strcmp(key, "test_limit") == 0) {
    NUMBER(lbt_parse_count(value, 0, SIZE_MAX, &u), "a whole number (0: all)");
    c->test_limit = (size_t)u;
  } else {
    snprintf(err, n, "unknown key '%s'", key);
    return 0;
  }
#undef NUMBER
  return 1;
}

/* ---- lines ---- */

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') {
    s++;
  }
  size_t len = strlen(s);
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) {
    s[--len] = '\0';
  }
  return s;
}

/* `layer KIND [OUT] [name=value ...]`, the words after "layer" in word[0..words-1]. */
static int parse_layer(lbt_config *c, char **word, size_t words, unsigned line, char *err,
                       size_t n) {
  if (!c->layers_from_text) {
    c->layer_count = 0, c->layers_from_text = 1;
  }
  if (c->layer_count == LBT_MAX_LAYERS) {
    snprintf(err, n, "more than %d layers", LBT_MAX_LAYERS);
    return 0;
  }
  if (words == 0) {
    snprintf(err, n, "layer without a kind (conv2d, dense, relu, maxpool, flatten)");
    return 0;
  }
  const char *kind = word[0];
  lb_train_layer_kind k;
  int needs_out = 0;
  if (strcmp(kind, "conv2d") == 0) {
    k = LB_LAYER_CONV2D, needs_out = 1;
  } else if (strcmp(kind, "dense") == 0) {
    k = LB_LAYER_DENSE, needs_out = 1;
  } else if (strcmp(kind, "relu") == 0) {
    k = LB_LAYER_RELU;
  } else if (strcmp(kind, "maxpool") == 0) {
    k = LB_LAYER_MAXPOOL;
  } else if (strcmp(kind, "flatten") == 0) {
    k = LB_LAYER_FLATTEN;
  } else {
    snprintf(err, n, "unknown layer '%s' (conv2d, dense, relu, maxpool, flatten)", kind);
    return 0;
  }
  add_layer(c, k, 0);
  lbt_layer *l = &c->layers[c->layer_count - 1];
  l->line = line;
  size_t at = 1;
  uint64_t u = 0;
  if (needs_out) {
    if (words < 2 || !lbt_parse_count(word[1], 1, 1u << 20, &u)) {
      snprintf(err, n, "%s needs its output %s count, a whole number in 1..1048576, not '%s'", kind,
               k == LB_LAYER_CONV2D ? "channel" : "feature", words < 2 ? "" : word[1]);
      return 0;
    }
    l->out_c = (size_t)u, at = 2;
  } else if (k == LB_LAYER_MAXPOOL && words >= 2 && strchr(word[1], '=') == NULL) {
    if (strcmp(word[1], "2") != 0) {
      snprintf(err, n, "maxpool '%s': only 2 (2x2, stride 2) is supported", word[1]);
      return 0;
    }
    at = 2;
  }
  int pad_set = 0;
  for (; at < words; at++) {
    char *eq = strchr(word[at], '=');
    if (!eq) {
      snprintf(err, n, "%s: '%s' is not name=value", kind, word[at]);
      return 0;
    }
    *eq = '\0';
    const char *name = word[at], *value = eq + 1;
    int t = tensor_key(name);
    if (t >= 0 && needs_out) {
      if (!parse_format(value, &l->format[t], err, n)) {
        return 0;
      }
      l->has_format[t] = 1;
    } else if (k == LB_LAYER_CONV2D && strcmp(name, "kernel") == 0) {
      if (!lbt_parse_count(value, 1, 7, &u)) {
        snprintf(err, n, "conv2d kernel '%s' is not in 1..7", value);
        return 0;
      }
      l->kernel = (unsigned)u;
    } else if (k == LB_LAYER_CONV2D && strcmp(name, "stride") == 0) {
      if (!lbt_parse_count(value, 1, 4, &u)) {
        snprintf(err, n, "conv2d stride '%s' is not in 1..4", value);
        return 0;
      }
      l->stride = (unsigned)u;
    } else if (k == LB_LAYER_CONV2D && strcmp(name, "pad") == 0) {
      if (!lbt_parse_count(value, 0, 16, &u)) {
        snprintf(err, n, "conv2d pad '%s' is not in 0..16", value);
        return 0;
      }
      l->pad = (unsigned)u, pad_set = 1;
    } else {
      snprintf(err, n, "%s has no setting '%s'", kind, name);
      return 0;
    }
  }
  if (k == LB_LAYER_CONV2D && !pad_set) {
    l->pad = l->kernel / 2; /* "same" padding for odd kernels */
  }
  return 1;
}

int lbt_config_parse(lbt_config *c, const char *text, const char *name, char *err, size_t n) {
  char problem[512];
  unsigned line = 0;
  const char *p = text;
  while (*p) {
    line++;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char buf[1024];
    if (len >= sizeof buf) {
      snprintf(err, n, "%s:%u: line longer than %zu characters", name, line, sizeof buf - 1);
      return 0;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++) {
      unsigned char ch = (unsigned char)buf[i];
      if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
        snprintf(err, n, "%s:%u: byte 0x%02x is not text", name, line, ch);
        return 0;
      }
    }
    p += len + (end ? 1 : 0);
    char *hash = strchr(buf, '#');
    if (hash) {
      *hash = '\0';
    }
    char *s = trim(buf);
    if (*s == '\0') {
      continue;
    }
    int ok;
    char *eq = strchr(s, '=');
    if (strncmp(s, "layer", 5) == 0 && (s[5] == ' ' || s[5] == '\t' || s[5] == '\0')) {
      char *word[32];
      size_t words = 0, beyond = 0;
      for (char *q = s + 5, *tok; (tok = next_token(&q, " \t")) != NULL;) {
        if (*tok && words < 32) {
          word[words++] = tok;
        } else if (*tok) {
          beyond++;
        }
      }
      if (beyond) {
        snprintf(problem, sizeof problem, "a layer line has at most 32 words, not %zu",
                 words + beyond);
        ok = 0;
      } else {
        ok = parse_layer(c, word, words, line, problem, sizeof problem);
      }
    } else if (eq) {
      *eq = '\0';
      char *key = trim(s), *value = trim(eq + 1);
      if (!*value) {
        snprintf(problem, sizeof problem, "%s has no value", key);
        ok = 0;
      } else {
        ok = lbt_config_set(c, key, value, problem, sizeof problem);
      }
    } else {
      snprintf(problem, sizeof problem, "'%s' is neither 'key = value' nor 'layer ...'", s);
      ok = 0;
    }
    if (!ok) {
      snprintf(err, n, "%s:%u: %s", name, line, problem);
      return 0;
    }
  }
  return 1;
}

int lbt_config_load(lbt_config *c, const char *path, char *err, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    return 0;
  }
  size_t cap = 4096, len = 0;
  char *text = malloc(cap);
  int ok = text != NULL;
  while (ok) {
    size_t got = fread(text + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) {
      break;
    }
    if (len + 1 == cap) {
      if (cap >= (1u << 20)) {
        snprintf(err, n, "%s: larger than 1 MiB, not a config file", path);
        ok = 0;
        break;
      }
      char *more = realloc(text, cap * 2);
      ok = more != NULL;
      if (more) {
        text = more, cap *= 2;
      }
    }
  }
  if (ok && ferror(f)) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    ok = 0;
  }
  fclose(f);
  const char *zero = ok ? memchr(text, '\0', len) : NULL;
  if (zero) {
    unsigned line = 1;
    for (const char *q = text; q < zero; q++) {
      line += *q == '\n';
    }
    snprintf(err, n, "%s:%u: byte 0x00 is not text", path, line);
    ok = 0;
  }
  if (ok) {
    text[len] = '\0';
    ok = lbt_config_parse(c, text, path, err, n);
  } else if (!text) {
    snprintf(err, n, "%s: out of memory", path);
  }
  free(text);
  return ok;
}

static lb_number_format resolved(const lbt_config *c, const lbt_layer *l, int t) {
  return l->has_format[t] ? l->format[t] : c->format[t];
}

static int is_integer(const lbt_config *c, const lbt_layer *l) {
  return (l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_DENSE) &&
         resolved(c, l, LB_TENSOR_WEIGHTS).kind == LB_NUMBER_FIXED &&
         resolved(c, l, LB_TENSOR_ACTIVATIONS).kind == LB_NUMBER_FIXED &&
         resolved(c, l, LB_TENSOR_ERRORS).kind == LB_NUMBER_FIXED;
}

int lbt_config_check(const lbt_config *c, const char *name, char *err, size_t n) {
  int flat = 0;
  const lbt_layer *last_param = NULL;
  for (size_t i = 0; i < c->layer_count; i++) {
    const lbt_layer *l = &c->layers[i];
    if ((l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_MAXPOOL) && flat) {
      snprintf(err, n, "%s:%u: %s after a flatten or dense layer", name, l->line,
               l->kind == LB_LAYER_CONV2D ? "conv2d" : "maxpool");
      return 0;
    }
    if (l->kind == LB_LAYER_FLATTEN || l->kind == LB_LAYER_DENSE) {
      flat = 1;
    }
    if (l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_DENSE) {
      last_param = l;
      if (c->master_format.kind != LB_NUMBER_FLOAT && is_integer(c, l)) {
        char m[96];
        lbt_format_text(&c->master_format, m, sizeof m);
        snprintf(err, n,
                 "%s:%u: master = %s is for float-path layers; this fixed-point layer takes "
                 "master none or float",
                 name, l->line, m);
        return 0;
      }
      if (c->schedule == LB_SCHEDULE_CYCLIC && is_integer(c, l) &&
          (resolved(c, l, LB_TENSOR_WEIGHTS).fixed.wl != c->fw_max ||
           resolved(c, l, LB_TENSOR_ACTIVATIONS).fixed.wl != c->fw_max)) {
        snprintf(err, n,
                 "%s:%u: with schedule = cyclic the fixed-point weights and activations need "
                 "fw_max = %u bits",
                 name, l->line, c->fw_max);
        return 0;
      }
    }
  }
  if (!last_param || last_param->kind != LB_LAYER_DENSE || last_param->out_c != LBT_CLASSES ||
      last_param != &c->layers[c->layer_count - 1]) {
    snprintf(err, n, "%s:%u: the last layer must be dense %d (the classes; softmax follows)", name,
             c->layer_count ? c->layers[c->layer_count - 1].line : 0, LBT_CLASSES);
    return 0;
  }
  if (c->schedule == LB_SCHEDULE_CYCLIC && c->fw_min > c->fw_max) {
    snprintf(err, n, "%s: fw_min %u is above fw_max %u", name, c->fw_min, c->fw_max);
    return 0;
  }
  return 1;
}

size_t lbt_config_layers(const lbt_config *c, lb_train_layer_desc *out, size_t max) {
  size_t count = 0;
  int flat = 0;
  for (size_t i = 0; i < c->layer_count && count + 2 <= max; i++) {
    const lbt_layer *l = &c->layers[i];
    if (l->kind == LB_LAYER_DENSE && !flat) {
      memset(&out[count], 0, sizeof out[count]);
      out[count++].kind = LB_LAYER_FLATTEN; /* dense reads a flattened input */
      flat = 1;
    }
    flat |= l->kind == LB_LAYER_FLATTEN;
    lb_train_layer_desc *d = &out[count++];
    memset(d, 0, sizeof *d);
    d->kind = l->kind, d->out_c = l->out_c, d->kernel = l->kernel, d->stride = l->stride;
    d->pad = l->pad;
    for (int t = 0; t < LB_TENSOR_KINDS; t++) {
      d->format[t] = resolved(c, l, t);
      if (l->kind != LB_LAYER_CONV2D && l->kind != LB_LAYER_DENSE) {
        d->format[t].kind = LB_NUMBER_FLOAT; /* no parameters: the formats are unused */
      }
    }
  }
  memset(&out[count], 0, sizeof out[count]);
  out[count++].kind = LB_LAYER_SOFTMAX_XENT;
  return count;
}

char *lbt_config_text(const lbt_config *c) {
  size_t cap = 4096 + c->layer_count * 512;
  char *s = malloc(cap);
  if (!s) {
    return NULL;
  }
  size_t at = 0;
  char f[4][96], master[96];
  for (int t = 0; t < LB_TENSOR_KINDS; t++) {
    lbt_format_text(&c->format[t], f[t], sizeof f[t]);
  }
  if (c->master_format.kind != LB_NUMBER_FLOAT) {
    lbt_format_text(&c->master_format, master, sizeof master);
  } else {
    snprintf(master, sizeof master, "%s", c->master == LB_SGD_MASTER_F32 ? "float" : "none");
  }
  at += (size_t)snprintf(
      s + at, cap - at,
      "epochs = %u\nbatch = %zu\nlr = %.9g\nmomentum = %.9g\nweight_decay = %.9g\nseed = %llu\n"
      "master = %s\nmomentum_extra_bits = %d\nweights = %s\nactivations = %s\nerrors = %s\n"
      "gradients = %s\nschedule = %s\nfw_min = %u\nfw_max = %u\ncycles = %u\n"
      "schedule_steps = %llu\ntrain_limit = %zu\ntest_limit = %zu\n",
      c->epochs, c->batch, (double)c->lr, (double)c->momentum, (double)c->weight_decay,
      (unsigned long long)c->seed, master, c->momentum_extra_bits, f[0], f[1], f[2], f[3],
      c->schedule == LB_SCHEDULE_CYCLIC ? "cyclic" : "fixed", c->fw_min, c->fw_max, c->cycles,
      (unsigned long long)c->schedule_steps, c->train_limit, c->test_limit);
  if (c->loss_scaling) {
    /* only when set, so that the configs from before loss scaling keep their text */
    char ls[256];
    loss_scale_text(c, ls, sizeof ls);
    at += (size_t)snprintf(s + at, cap - at, "loss_scale = %s\n", ls);
  }
  for (size_t i = 0; i < c->layer_count; i++) {
    const lbt_layer *l = &c->layers[i];
    switch (l->kind) {
    case LB_LAYER_CONV2D:
      at += (size_t)snprintf(s + at, cap - at, "layer conv2d %zu kernel=%u stride=%u pad=%u",
                             l->out_c, l->kernel, l->stride, l->pad);
      break;
    case LB_LAYER_DENSE:
      at += (size_t)snprintf(s + at, cap - at, "layer dense %zu", l->out_c);
      break;
    case LB_LAYER_RELU: at += (size_t)snprintf(s + at, cap - at, "layer relu"); break;
    case LB_LAYER_MAXPOOL: at += (size_t)snprintf(s + at, cap - at, "layer maxpool 2"); break;
    default: at += (size_t)snprintf(s + at, cap - at, "layer flatten"); break;
    }
    if (l->kind == LB_LAYER_CONV2D || l->kind == LB_LAYER_DENSE) {
      for (int t = 0; t < LB_TENSOR_KINDS; t++) {
        char one[96];
        lb_number_format r = resolved(c, l, t);
        lbt_format_text(&r, one, sizeof one);
        at += (size_t)snprintf(s + at, cap - at, " %s=%s", kTensorKeys[t], one);
      }
    }
    at += (size_t)snprintf(s + at, cap - at, "\n");
  }
  return s;
}
