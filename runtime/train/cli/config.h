/* lowbit-train's run configuration: the model, its number formats, the optimizer, the schedule
 * and the data subset, read from `key = value` and `layer ...` lines (docs/design.md, section 25)
 * and written back in the same syntax, canonical, into checkpoints. */
#ifndef LOWBIT_TRAIN_CLI_CONFIG_H
#define LOWBIT_TRAIN_CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/train.h"

#define LBT_MAX_LAYERS 64
#define LBT_CLASSES 10 /* Fashion-MNIST and MNIST */

typedef struct lbt_layer {
  lb_train_layer_kind kind;
  size_t out_c;
  unsigned kernel, stride, pad;
  int has_format[LB_TENSOR_KINDS]; /* set on the layer line, else the global key's */
  lb_number_format format[LB_TENSOR_KINDS];
  unsigned line; /* of its `layer` line, for errors; 0 for the built-in network */
} lbt_layer;

typedef struct lbt_config {
  unsigned epochs;
  size_t batch;
  float lr, momentum, weight_decay;
  uint64_t seed;
  int master;                     /* enum lb_sgd_master, for fixed-point layers */
  lb_number_format master_format; /* the float-path layers' master: float, minifloat or bfp */
  int momentum_extra_bits;
  int loss_scaling; /* a loss_scale other than none was given */
  lb_loss_scale_config loss_scale;
  lb_number_format format[LB_TENSOR_KINDS];
  lb_schedule_kind schedule;
  unsigned fw_min, fw_max, cycles;
  uint64_t schedule_steps;        /* 0: epochs * steps per epoch */
  size_t train_limit, test_limit; /* 0: all */
  size_t layer_count;
  int layers_from_text; /* a `layer` line replaced the built-in network */
  lbt_layer layers[LBT_MAX_LAYERS];
} lbt_config;

/* The defaults: the network in float, 10 epochs, batch 64, SGD lr 0.05 momentum 0.9. */
void lbt_config_defaults(lbt_config *config);

/* Sets one key from its text value; on failure writes the problem (without location) to err. */
/* A decimal whole number in [lo, hi], digits only (no sign, space or overflow): 1 and *out, else
 * 0. The number parser of configs and of the CLIs' flags. */
int lbt_parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

int lbt_config_set(lbt_config *config, const char *key, const char *value, char *err, size_t n);

/* Applies the lines of text; on failure err holds "<name>:<line>: <problem>" and 0 is returned. */
int lbt_config_parse(lbt_config *config, const char *text, const char *name, char *err, size_t n);

/* Reads a file and applies it; errors as lbt_config_parse (or "<path>: <strerror>"). */
int lbt_config_load(lbt_config *config, const char *path, char *err, size_t n);

/* Checks the layer sequence against what the engine takes; err "<name>:<line>: <problem>". */
int lbt_config_check(const lbt_config *config, const char *name, char *err, size_t n);

/* The canonical text of the configuration (every key, every layer with its formats); malloc'ed. */
char *lbt_config_text(const lbt_config *config);

/* The engine's layer descriptors (layer_count + 2 for flatten and softmax-cross-entropy at most)
 * and their number; formats resolved. */
size_t lbt_config_layers(const lbt_config *config, lb_train_layer_desc *out, size_t max);

/* "float", "fixed:8:6:sr", ... as the config syntax writes a format. */
void lbt_format_text(const lb_number_format *format, char *out, size_t n);

#endif
