/* lowbit-train's data: the IDX pair of a split, and the epoch's order of the training examples. */
#ifndef LOWBIT_TRAIN_CLI_DATA_H
#define LOWBIT_TRAIN_CLI_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/train_io.h"

/* Loads <dir>/<split>-images-idx3-ubyte.gz and <dir>/<split>-labels-idx1-ubyte.gz (split "train"
 * or "t10k"), at most limit examples (0: all); err gets the loader's one line. */
lb_io_status lbt_data_load(const char *dir, const char *split, size_t limit,
                           lb_idx_dataset *dataset, char *err, size_t n);

/* The order of the training examples in epoch `epoch` (0-based): a Fisher-Yates shuffle of
 * 0..count-1 driven by splitmix64 from the seed and the epoch alone, so a resumed run finds it. */
void lbt_epoch_order(uint64_t seed, uint64_t epoch, size_t count, uint32_t *order);

/* Examples order[0..batch-1] as floats in [0, 1] ([batch][rows][cols][1]) and their labels. */
void lbt_gather(const lb_idx_dataset *data, const uint32_t *order, size_t batch, float *images,
                uint8_t *labels);

#endif
