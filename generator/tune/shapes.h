/* The shapes lowbit-tune tunes and its harness runs: ResNet-18's convolutions C2-C12 at batch 1
 * (bench/resnet_bench.cc's), or a square convolution given as H,W,CIN,COUT,K,S. Header-only: the
 * harness is compiled alone for each candidate, against nothing but the library. */
#ifndef LB_TUNE_SHAPES_H
#define LB_TUNE_SHAPES_H

#include <stdlib.h>
#include <string.h>

typedef struct layer_shape {
  const char *name;
  size_t size, in_c, out_c;
  unsigned kernel, stride;
} layer_shape;

static const layer_shape layers[] = {
    {"C2", 56, 64, 64, 3, 1},    {"C3", 56, 64, 64, 1, 1},   {"C4", 56, 64, 128, 3, 2},
    {"C5", 56, 64, 128, 1, 2},   {"C6", 28, 128, 128, 3, 1}, {"C7", 28, 128, 256, 3, 2},
    {"C8", 28, 128, 256, 1, 2},  {"C9", 14, 256, 256, 3, 1}, {"C10", 14, 256, 512, 3, 2},
    {"C11", 14, 256, 512, 1, 2}, {"C12", 7, 512, 512, 3, 1},
};

/* A whole decimal number in [lo, hi] into *out. */
static inline int parse_count(const char *text, unsigned long lo, unsigned long hi, unsigned long *out) {
  char *end;
  if (text[0] < '0' || text[0] > '9') {
    return 0;
  }
  unsigned long v = strtoul(text, &end, 10);
  *out = v;
  return *end == '\0' && v >= lo && v <= hi;
}

static inline int parse_shape(const char *text, layer_shape *shape) {
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    if (strcmp(text, layers[i].name) == 0) {
      *shape = layers[i];
      return 1;
    }
  }
  char copy[64];
  if (strlen(text) >= sizeof copy) {
    return 0;
  }
  strcpy(copy, text);
  unsigned long v[6];
  char *save = NULL, *field = strtok_r(copy, ",", &save);
  for (int i = 0; i < 6; i++, field = strtok_r(NULL, ",", &save)) {
    const unsigned long hi = i == 4 ? 7 : i == 5 ? 4 : 4096;
    if (!field || !parse_count(field, 1, hi, &v[i])) {
      return 0;
    }
  }
  *shape = (layer_shape){text, v[0], v[2], v[3], (unsigned)v[4], (unsigned)v[5]};
  return field == NULL && v[0] == v[1] && v[0] >= v[4];
}

/* Output rows with SAME padding (and for 1x1 kernels, which need none). */
static inline size_t shape_out_rows(const layer_shape *l) {
  return (l->size + l->stride - 1) / l->stride;
}

#endif
