/* lowbit-train --export (export.h). */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "lowbit/fixed_point.h"
#include "model_file.h"

static int is_param(lb_train_layer_kind kind) {
  return kind == LB_LAYER_CONV2D || kind == LB_LAYER_DENSE;
}

/* 8-bit symmetric codes of values per row (out_c rows of k), scales max|row| / 127. */
static void quantize_rows(const float *values, size_t out_c, size_t k, int8_t *codes,
                          float *scale) {
  for (size_t oc = 0; oc < out_c; oc++) {
    const float *row = values + oc * k;
    float top = 0;
    for (size_t j = 0; j < k; j++) {
      top = fabsf(row[j]) > top ? fabsf(row[j]) : top;
    }
    scale[oc] = top > 0 ? top / 127.0f : 1.0f;
    for (size_t j = 0; j < k; j++) {
      long q = lrintf(row[j] / scale[oc]); /* ties to even, the default rounding mode */
      codes[oc * k + j] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
  }
}

/* The largest |input| of every conv2d and dense layer over the calibration batches. */
static int calibrate(lb_train_model *model, const lbt_model *m, const size_t *engine_index,
                     size_t batch, const lb_idx_dataset *train, size_t batches, float *top,
                     char *err, size_t n) {
  size_t pixels = (size_t)train->rows * train->cols;
  float *images = malloc(batch * pixels * sizeof(float));
  uint8_t *labels = malloc(batch);
  uint32_t *order = malloc(batch * sizeof(uint32_t));
  int ok = images && labels && order;
  if (!ok) {
    snprintf(err, n, "export: out of memory for calibration");
  }
  size_t done = 0;
  for (size_t at = 0; ok && at + batch <= train->count && done < batches; at += batch, done++) {
    for (size_t b = 0; b < batch; b++) {
      order[b] = (uint32_t)(at + b);
    }
    lbt_gather(train, order, batch, images, labels);
    lb_status s = lb_train_evaluate(model, images, labels, NULL, NULL);
    if (s != LB_OK) {
      snprintf(err, n, "export: calibration pass failed: %s", lb_status_string(s));
      ok = 0;
      break;
    }
    for (size_t i = 0; i < m->count; i++) {
      if (!is_param(m->layers[i].kind)) {
        continue;
      }
      size_t count = batch * pixels;
      const float *x = images;
      if (engine_index[i] > 0) {
        x = lb_train_layer_output(model, engine_index[i] - 1, &count);
      }
      for (size_t j = 0; j < count; j++) {
        top[i] = fabsf(x[j]) > top[i] ? fabsf(x[j]) : top[i];
      }
    }
  }
  free(images);
  free(labels);
  free(order);
  return ok;
}

int lbt_export(const char *path, lb_train_model *model, const lb_train_layer_desc *layers,
               size_t count, size_t batch, size_t classes, const lb_idx_dataset *train,
               size_t calibration_batches, char *err, size_t n) {
  lbt_model m;
  memset(&m, 0, sizeof m);
  m.in_h = train->rows, m.in_w = train->cols, m.in_c = 1, m.classes = classes;
  size_t engine_index[LBT_MODEL_MAX_LAYERS];
  int calibrated = 0;
  for (size_t i = 0; i < count && layers[i].kind != LB_LAYER_SOFTMAX_XENT; i++) {
    if (m.count == LBT_MODEL_MAX_LAYERS) {
      snprintf(err, n, "%s: more than %d layers to export", path, LBT_MODEL_MAX_LAYERS);
      return 0;
    }
    lbt_model_layer *l = &m.layers[m.count];
    l->kind = layers[i].kind, l->out_c = layers[i].out_c, l->kernel = layers[i].kernel;
    l->stride = layers[i].stride, l->pad = layers[i].pad;
    engine_index[m.count++] = i;
    if (is_param(l->kind)) {
      const lb_number_format *a = &layers[i].format[LB_TENSOR_ACTIVATIONS];
      calibrated |= a->kind != LB_NUMBER_FIXED;
      l->abits = a->kind == LB_NUMBER_FIXED ? a->fixed.wl : 8;
      l->afl = a->kind == LB_NUMBER_FIXED ? a->fixed.fl : LBT_SCALE_FREE;
      l->ascale = ldexpf(1.0f, -l->afl);
    }
  }
  char why[256];
  if (!lbt_model_shapes(&m, why, sizeof why)) {
    snprintf(err, n, "%s: %s", path, why);
    return 0;
  }
  float top[LBT_MODEL_MAX_LAYERS] = {0};
  if (calibrated &&
      !calibrate(model, &m, engine_index, batch, train, calibration_batches, top, err, n)) {
    return 0;
  }
  int ok = 1;
  float *values = NULL;
  for (size_t i = 0; ok && i < m.count; i++) {
    lbt_model_layer *l = &m.layers[i];
    if (!is_param(l->kind)) {
      continue;
    }
    const lb_number_format *wf = &layers[engine_index[i]].format[LB_TENSOR_WEIGHTS];
    if (l->afl == LBT_SCALE_FREE) {
      l->ascale = top[i] > 0 ? top[i] / 127.0f : 1.0f;
    }
    size_t params = 0, weights = lbt_model_weights(l);
    lb_train_layer_params(model, engine_index[i], NULL, &params);
    if (params != weights + l->out_c) {
      snprintf(err, n, "%s: layer %zu holds %zu parameters, its shape %zu", path, i, params,
               weights + l->out_c);
      ok = 0;
      break;
    }
    float *grown = realloc(values, params * sizeof(float));
    values = grown ? grown : values;
    l->wbits = wf->kind == LB_NUMBER_FIXED ? wf->fixed.wl : 8;
    l->codes = malloc(weights * (l->wbits <= 8 ? 1 : 2));
    l->wscale = malloc(l->out_c * sizeof(float));
    l->bias = malloc(l->out_c * sizeof(float));
    if (!grown || !l->codes || !l->wscale || !l->bias) {
      snprintf(err, n, "%s: out of memory for layer %zu", path, i);
      ok = 0;
      break;
    }
    lb_train_layer_params(model, engine_index[i], values, &params);
    memcpy(l->bias, values + weights, l->out_c * sizeof(float));
    if (wf->kind == LB_NUMBER_FIXED) {
      l->wfl = wf->fixed.fl;
      lb_quantize_fixed_f32(&wf->fixed, LB_ROUND_NEAREST, 0, 0, 0, weights, values, l->codes, 1);
      for (size_t oc = 0; oc < l->out_c; oc++) {
        l->wscale[oc] = ldexpf(1.0f, -l->wfl);
      }
    } else {
      l->wfl = LBT_SCALE_FREE;
      quantize_rows(values, l->out_c, weights / l->out_c, l->codes, l->wscale);
    }
  }
  free(values);
  ok = ok && lbt_model_write(path, &m, err, n);
  lbt_model_free(&m);
  return ok;
}
