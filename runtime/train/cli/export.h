/* lowbit-train --export: a trained model as codes and scales for lowbit-infer (model_file.h,
 * docs/design.md section 27). */
#ifndef LOWBIT_TRAIN_CLI_EXPORT_H
#define LOWBIT_TRAIN_CLI_EXPORT_H

#include <stddef.h>

#include "lowbit/train.h"
#include "lowbit/train_io.h"

/* The layers' tensors, conv2d and dense layer by layer (softmax-cross-entropy, the loss, is left
 * out: the logits' argmax is the class):
 * - weights in a fixed format <wl, fl>: their codes, rounded to nearest (exact for integer
 *   layers, whose parameters are codes), scale 2^-fl;
 * - other weights: 8-bit symmetric per output channel, scale max|w[oc]| / 127 (1 for a channel of
 *   zeros), codes round_even(w / scale);
 * - activations in a fixed format <wl, fl>: that format; others: 8-bit symmetric per tensor,
 *   scale max|x| / 127 over the layer's inputs in up to `calibration_batches` batches of the
 *   training set in its file order (model evaluated, activations rounded to nearest);
 * - the bias as float32.
 * `layers` / `count` are the model's descriptors, `batch` and the image its description. Writes
 * the file atomically; err holds one line on failure. */
int lbt_export(const char *path, lb_train_model *model, const lb_train_layer_desc *layers,
               size_t count, size_t batch, size_t classes, const lb_idx_dataset *train,
               size_t calibration_batches, char *err, size_t n);

#endif
