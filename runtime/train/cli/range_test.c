/* lowbit-train --range-test (range_test.h). */
#include "range_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "data.h"

int lbt_range_test(lb_train_model *model, const lbt_range_spec *spec, const lb_idx_dataset *train,
                   size_t batch, size_t classes, uint64_t seed, unsigned *b_min, char *err,
                   size_t n) {
  size_t pixels = (size_t)train->rows * train->cols, per_epoch = train->count / batch;
  float *images = malloc(batch * pixels * sizeof(float));
  uint8_t *labels = malloc(batch);
  uint32_t *order = malloc(train->count * sizeof(uint32_t));
  size_t state_bytes = spec->restart ? lb_train_model_state_bytes(model) : 0;
  void *state = spec->restart ? malloc(state_bytes) : NULL;
  if (!images || !labels || !order || (spec->restart && !state)) {
    snprintf(err, n, "range test: out of memory");
    free(images);
    free(labels);
    free(order);
    free(state);
    return 0;
  }
  if (state) {
    lb_train_model_save_state(model, state, state_bytes);
  }
  double chance = 1.0 / (double)classes;
  printf("range-test: %llu steps of %zu images per precision, bits %u..%u, %s, b_min at "
         "train_acc >= %.4f (chance + %.4f)\n",
         (unsigned long long)spec->steps, batch, spec->lo, spec->hi,
         spec->restart ? "each from the initial weights" : "the weights carried over",
         chance + spec->threshold, spec->threshold);
  printf("range-test: bits train_acc train_loss\n");
  *b_min = 0;
  uint64_t step = 0, epoch = UINT64_MAX;
  int ok = 1;
  for (unsigned bits = spec->lo; ok && bits <= spec->hi; bits++) {
    if (state) {
      /* every precision from the same weights over the same batches */
      lb_train_model_load_state(model, state, state_bytes);
      step = 0;
    }
    lb_status s = lb_train_model_set_fw_bits(model, bits);
    double loss_sum = 0;
    uint64_t correct = 0;
    for (uint64_t k = 0; s == LB_OK && k < spec->steps; k++, step++) {
      if (step / per_epoch != epoch) {
        epoch = step / per_epoch;
        lbt_epoch_order(seed, epoch, train->count, order);
      }
      lbt_gather(train, order + step % per_epoch * batch, batch, images, labels);
      float loss = 0;
      size_t hits = 0;
      s = lb_train_step(model, images, labels, &loss, &hits);
      s = s == LB_BAD_GRADIENT ? LB_OK : s; /* that tensor was not updated; the row still counts */
      loss_sum += loss, correct += hits;
    }
    if (s != LB_OK) {
      snprintf(err, n, "range test at %u bits: %s", bits, lb_status_string(s));
      ok = 0;
      break;
    }
    double accuracy = (double)correct / (double)(spec->steps * batch);
    printf("range-test: %u %.4f %.4f\n", bits, accuracy, loss_sum / (double)spec->steps);
    fflush(stdout);
    if (!*b_min && accuracy >= chance + spec->threshold) {
      *b_min = bits;
    }
  }
  free(images);
  free(labels);
  free(order);
  free(state);
  return ok;
}
