/* lowbit-train's data (data.h). */
#include "data.h"

#include <stdio.h>

lb_io_status lbt_data_load(const char *dir, const char *split, size_t limit,
                           lb_idx_dataset *dataset, char *err, size_t n) {
  char images[4096], labels[4096];
  int a = snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, split);
  int b = snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, split);
  if (a < 0 || b < 0 || (size_t)a >= sizeof images || (size_t)b >= sizeof labels) {
    snprintf(err, n, "%.200s...: data folder path too long", dir);
    return LB_IO_INVALID_ARGUMENT;
  }
  lb_idx_spec spec = {0, 0, 10, limit};
  return lb_idx_dataset_load(images, labels, &spec, dataset, err, n);
}

static uint64_t splitmix(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void lbt_epoch_order(uint64_t seed, uint64_t epoch, size_t count, uint32_t *order) {
  /* its own sequence, apart from the engine's initialization (seed ^ golden * (layer + 1)) */
  uint64_t state = seed ^ 0x5deece66dull ^ (epoch * 0xd1b54a32d192ed03ull);
  for (size_t i = 0; i < count; i++) {
    order[i] = (uint32_t)i;
  }
  for (size_t i = count; i > 1; i--) {
    size_t j = (size_t)(splitmix(&state) % i); /* the bias of % is below 2^-40 here */
    uint32_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
}

void lbt_gather(const lb_idx_dataset *data, const uint32_t *order, size_t batch, float *images,
                uint8_t *labels) {
  size_t pixels = (size_t)data->rows * data->cols;
  for (size_t b = 0; b < batch; b++) {
    const uint8_t *src = data->images + (size_t)order[b] * pixels;
    for (size_t p = 0; p < pixels; p++) {
      images[b * pixels + p] = (float)src[p] / 255.0f;
    }
    labels[b] = data->labels[order[b]];
  }
}
