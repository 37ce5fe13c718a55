/* lowbit-train --range-test: the precision range test of cyclic precision training (CPT, Fu et al.
 * 2021; REFERENCE.md section 6, docs/design.md section 27), which finds the schedule's b_min. */
#ifndef LOWBIT_TRAIN_CLI_RANGE_TEST_H
#define LOWBIT_TRAIN_CLI_RANGE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/train.h"
#include "lowbit/train_io.h"

typedef struct lbt_range_spec {
  unsigned lo, hi;  /* forward bits, raised one at a time from lo to hi */
  uint64_t steps;   /* training steps at each precision */
  double threshold; /* b_min: the first precision whose accuracy is chance + threshold or more */
  int restart;      /* each precision from the initial weights (else the weights carry over) */
} lbt_range_spec;

/* Trains `model` (fresh from its config) spec->steps steps at each forward precision lo..hi in
 * turn (lb_train_model_set_fw_bits), each from the initial state over the same batches when
 * spec->restart is set, else carrying the weights over; batches in the epoch order of
 * lbt_epoch_order from `seed`; and prints a row per precision (the mean training accuracy and
 * loss of its steps) and the chosen b_min: the lowest precision whose accuracy is at least
 * 1 / classes + threshold, the point where training starts to move. *b_min gets it, or 0 when no
 * precision reached it. 0 and err on an engine failure. */
int lbt_range_test(lb_train_model *model, const lbt_range_spec *spec, const lb_idx_dataset *train,
                   size_t batch, size_t classes, uint64_t seed, unsigned *b_min, char *err,
                   size_t n);

#endif
