/* The engine's parallel loops: a range of units split in contiguous chunks over threads. */
#ifndef LOWBIT_TRAIN_PARALLEL_H
#define LOWBIT_TRAIN_PARALLEL_H

#include <stddef.h>

typedef void lb_train_range_fn(void *ctx, size_t begin, size_t end);

/* fn(ctx, begin, end) over contiguous chunks covering [0, units), on up to `threads` threads
 * (none below about 2^18 units of `work` in all). Which thread runs a chunk varies, so each unit's
 * result must depend on that unit only; then the results do not depend on `threads`. */
void lb_train_parallel(lb_train_range_fn *fn, void *ctx, size_t units, unsigned threads,
                       double work);

#endif
