/* lowbit-train's checkpoints (docs/design.md, section 25): the lowbit_train_io container with the
 * run's canonical config text, the engine's state and the current epoch's running sums. */
#ifndef LOWBIT_TRAIN_CLI_RUN_CHECKPOINT_H
#define LOWBIT_TRAIN_CLI_RUN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/train.h"
#include "lowbit/train_io.h"

/* The sums of the epoch in progress, so that a run resumed mid-epoch logs the same epoch line. */
typedef struct lbt_epoch_sums {
  double loss_sum;
  uint64_t correct, images, bad_steps;
} lbt_epoch_sums;

/* Writes the checkpoint atomically; err holds the one line on failure. */
int lbt_checkpoint_save(const char *path, const char *config_text, const lb_train_model *model,
                        const lbt_epoch_sums *sums, char *err, size_t n);

/* Opens and checks a checkpoint and hands out its config text (malloc'ed, NUL-terminated). */
int lbt_checkpoint_open_run(const char *path, lb_checkpoint_reader **reader, char **config_text,
                            char *err, size_t n);

/* Loads the engine's state and the epoch's sums from an open checkpoint into a model created
 * from its config. */
int lbt_checkpoint_restore(const lb_checkpoint_reader *reader, const char *path,
                           lb_train_model *model, lbt_epoch_sums *sums, char *err, size_t n);

#endif
