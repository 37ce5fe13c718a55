/* Exported models (docs/design.md, section 27): what lowbit-train --export writes and lowbit-infer
 * reads. The file is a lowbit_train_io container (lowbit/train_io.h: magic, version, CRC-32,
 * written atomically) holding a text section "lowbit-model" that describes the network line by
 * line and, per conv2d or dense layer i (its position among the text's layer lines), the binary
 * sections "layer.<i>.codes" (weight codes), "layer.<i>.wscale" and "layer.<i>.bias" (float32
 * [out_c] each), all little-endian. */
#ifndef LOWBIT_TRAIN_CLI_MODEL_FILE_H
#define LOWBIT_TRAIN_CLI_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/train.h"

#define LBT_MODEL_VERSION 1
#define LBT_MODEL_MAX_LAYERS 64
/* wfl or afl of a scale that is not a power of two (calibrated 8-bit quantization) */
#define LBT_SCALE_FREE (-1000)

typedef struct lbt_model_layer {
  lb_train_layer_kind kind; /* conv2d, dense, relu, maxpool or flatten */
  size_t in_h, in_w, in_c;  /* the input; dense: in_c features, in_h = in_w = 1 */
  size_t out_h, out_w, out_c;
  unsigned kernel, stride, pad; /* conv2d */
  /* conv2d and dense: weight w[oc][...] = codes[oc][...] * wscale[oc], signed wbits-bit codes
   * (int8 up to 8 bits, else int16); wscale[oc] = 2^-wfl for every oc unless wfl is
   * LBT_SCALE_FREE. The input is quantized to signed abits-bit codes
   * q = clamp(round_even(x / ascale) + azero) (azero is 0 in version 1), ascale = 2^-afl
   * unless afl is LBT_SCALE_FREE. The output is sum(q * code) * ascale * wscale[oc] + bias[oc]. */
  unsigned wbits, abits;
  int wfl, afl;
  float ascale;
  int32_t azero;
  void *codes;
  float *wscale, *bias;
} lbt_model_layer;

typedef struct lbt_model {
  size_t in_h, in_w, in_c; /* the image, floats pixel / 255 */
  size_t classes;          /* the last dense layer's out_c: the logits, argmax is the class */
  size_t count;
  lbt_model_layer layers[LBT_MODEL_MAX_LAYERS];
} lbt_model;

/* The weight count of a conv2d or dense layer (out_c * kernel^2 * in_c, out_c * in_c). */
size_t lbt_model_weights(const lbt_model_layer *layer);

/* Fills the layers' shapes from the model's input and each layer's kind and parameters; 0 and a
 * problem in err when a shape does not fit (err is written without the file name). */
int lbt_model_shapes(lbt_model *model, char *err, size_t n);

/* Writes the model atomically (temporary file, fsync, rename); err holds one line on failure. */
int lbt_model_write(const char *path, const lbt_model *model, char *err, size_t n);

/* Reads and checks a model (the container, the text, every section's size and values); on
 * failure err holds one line "<path>: <problem>" and nothing is left allocated. */
int lbt_model_read(const char *path, lbt_model *model, char *err, size_t n);

void lbt_model_free(lbt_model *model);

#endif
