#include "space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"

/* Register tiles up to what the widest templates hold (AVX-512 direct 12x32); the templates'
 * $assert lines cut each family down to what fits its registers. Blocks: 0 is auto (the runtime's
 * cache-derived block), then powers of two around the L1 and L2 sizes of the targets' CPUs. */
static const unsigned mr_values[] = {1, 2, 3, 4, 6, 8, 12, 16};
static const unsigned nr_values[] = {1, 2, 4, 8, 16, 32};
static const unsigned kunroll_values[] = {1, 2, 4};
static const unsigned kc_values[] = {0, 256, 512, 1024, 2048, 4096, 8192};
static const unsigned mc_values[] = {0, 16, 32, 64, 128, 256};
static const unsigned nc_values[] = {0, 32, 64, 128, 256, 512, 1024};

static const struct {
  const unsigned *values;
  size_t count;
} parameters[TUNE_PARAMETERS] = {
    [TUNE_MR] = {mr_values, sizeof mr_values / sizeof mr_values[0]},
    [TUNE_NR] = {nr_values, sizeof nr_values / sizeof nr_values[0]},
    [TUNE_KUNROLL] = {kunroll_values, sizeof kunroll_values / sizeof kunroll_values[0]},
    [TUNE_KC] = {kc_values, sizeof kc_values / sizeof kc_values[0]},
    [TUNE_MC] = {mc_values, sizeof mc_values / sizeof mc_values[0]},
    [TUNE_NC] = {nc_values, sizeof nc_values / sizeof nc_values[0]},
};

size_t tune_parameter_count(int parameter) { return parameters[parameter].count; }

unsigned tune_parameter_value(int parameter, size_t index) {
  return parameters[parameter].values[index];
}

size_t tune_kernel_index(const tune_space *space, const tune_schedule *s) {
  (void)space;
  return ((s->family * parameters[TUNE_MR].count + s->index[TUNE_MR]) * parameters[TUNE_NR].count +
          s->index[TUNE_NR]) *
             parameters[TUNE_KUNROLL].count +
         s->index[TUNE_KUNROLL];
}

int tune_kernel_is_valid(const tune_space *space, const tune_schedule *s) {
  return space->valid[tune_kernel_index(space, s)];
}

size_t tune_valid_kernels(const tune_space *space) {
  const size_t kernels = space->family_count * parameters[TUNE_MR].count *
                         parameters[TUNE_NR].count * parameters[TUNE_KUNROLL].count;
  size_t valid = 0;
  for (size_t i = 0; i < kernels; i++) {
    valid += space->valid[i];
  }
  return valid;
}

size_t tune_block_points(void) {
  return parameters[TUNE_KC].count * parameters[TUNE_MC].count * parameters[TUNE_NC].count;
}

static void append_block(lb_gen_buf *buf, const char *name, unsigned value) {
  if (value) {
    lb_gen_buf_printf(buf, " %s=%u", name, value);
  } else {
    lb_gen_buf_printf(buf, " %s=auto", name);
  }
}

char *tune_schedule_text(const tune_space *space, const tune_schedule *s) {
  const tune_family *f = &space->families[s->family];
  lb_gen_buf buf = {0};
  lb_gen_buf_printf(&buf, "strategy=%s isa=%s tile=%ux%u", f->strategy, f->isa,
                    mr_values[s->index[TUNE_MR]], nr_values[s->index[TUNE_NR]]);
  if (f->format) {
    lb_gen_buf_printf(&buf, " format=%s", f->format);
  }
  lb_gen_buf_printf(&buf, " kunroll=%u", kunroll_values[s->index[TUNE_KUNROLL]]);
  append_block(&buf, "kc", kc_values[s->index[TUNE_KC]]);
  append_block(&buf, "mc", mc_values[s->index[TUNE_MC]]);
  append_block(&buf, "nc", nc_values[s->index[TUNE_NC]]);
  return buf.data;
}

char *tune_kernel_spec(const tune_space *space, const tune_schedule *s) {
  const tune_family *f = &space->families[s->family];
  lb_gen_buf buf = {0};
  lb_gen_buf_printf(&buf, "gemm strategy=%s isa=%s tile=%ux%u", f->strategy, f->isa,
                    mr_values[s->index[TUNE_MR]], nr_values[s->index[TUNE_NR]]);
  if (f->format) {
    lb_gen_buf_printf(&buf, " format=%s", f->format);
  } else {
    lb_gen_buf_printf(&buf, " a=%u%c w=%u%c", space->a.bits, space->a.encoding, space->w.bits,
                      space->w.encoding);
  }
  lb_gen_buf_printf(&buf, " kunroll=%u", kunroll_values[s->index[TUNE_KUNROLL]]);
  return buf.data;
}

char *tune_block_row(const tune_schedule *s) {
  return lb_gen_format("tune-kc%u-mc%u-nc%u", kc_values[s->index[TUNE_KC]],
                       mc_values[s->index[TUNE_MC]], nc_values[s->index[TUNE_NC]]);
}

int tune_step(tune_schedule *s, int parameter, int step) {
  const size_t at = s->index[parameter];
  if ((step < 0 && at == 0) || (step > 0 && at + 1 >= parameters[parameter].count)) {
    return 0;
  }
  s->index[parameter] = step < 0 ? at - 1 : at + 1;
  return 1;
}

int tune_parse_operand(const char *text, tune_operand *op) {
  char *end;
  if (text[0] < '1' || text[0] > '9') {
    return 0;
  }
  const unsigned long bits = strtoul(text, &end, 10);
  if (bits < 1 || bits > 16 || !end[0] || end[1] || !strchr("usb", end[0])) {
    return 0;
  }
  *op = (tune_operand){(unsigned)bits, end[0]};
  return end[0] != 'b' || bits == 1;
}

static int index_of(int parameter, const char *text, size_t *index) {
  unsigned long v = 0;
  char *end = NULL;
  if (strcmp(text, "auto") != 0) {
    v = strtoul(text, &end, 10);
    if (end == text || *end || v == 0) {
      return 0;
    }
  }
  for (size_t i = 0; i < parameters[parameter].count; i++) {
    if (parameters[parameter].values[i] == v) {
      *index = i;
      return 1;
    }
  }
  return 0;
}

int tune_parse_schedule(const tune_space *space, const char *text, tune_schedule *s) {
  lb_gen_strings words = {0};
  lb_gen_strings_split(&words, text);
  const char *strategy = NULL, *isa = NULL, *format = NULL;
  int have[TUNE_PARAMETERS] = {0};
  *s = (tune_schedule){0};
  static const char *const blocks[] = {"kunroll=", "kc=", "mc=", "nc="};
  for (size_t i = 0; i < words.count; i++) {
    const char *w = words.items[i];
    unsigned mr, nr;
    char tail;
    if (strncmp(w, "strategy=", 9) == 0) {
      strategy = w + 9;
    } else if (strncmp(w, "isa=", 4) == 0) {
      isa = w + 4;
    } else if (strncmp(w, "format=", 7) == 0) {
      format = w + 7;
    } else if (sscanf(w, "tile=%ux%u%c", &mr, &nr, &tail) == 2) {
      char m[16], n[16];
      snprintf(m, sizeof m, "%u", mr);
      snprintf(n, sizeof n, "%u", nr);
      have[TUNE_MR] = index_of(TUNE_MR, m, &s->index[TUNE_MR]);
      have[TUNE_NR] = index_of(TUNE_NR, n, &s->index[TUNE_NR]);
    } else {
      int known = 0;
      for (int p = TUNE_KUNROLL; p <= TUNE_NC; p++) {
        const char *key = blocks[p - TUNE_KUNROLL];
        if (strncmp(w, key, strlen(key)) == 0) {
          have[p] = index_of(p, w + strlen(key), &s->index[p]);
          known = 1;
        }
      }
      if (!known) {
        return 0;
      }
    }
  }
  for (int p = 0; p < TUNE_PARAMETERS; p++) {
    if (!have[p]) {
      return 0;
    }
  }
  for (size_t f = 0; f < space->family_count && strategy && isa; f++) {
    const tune_family *fam = &space->families[f];
    if (strcmp(fam->strategy, strategy) == 0 && strcmp(fam->isa, isa) == 0 &&
        (fam->format ? format && strcmp(fam->format, format) == 0 : !format)) {
      s->family = f;
      return 1;
    }
  }
  return 0;
}
