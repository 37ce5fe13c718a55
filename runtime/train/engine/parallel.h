/* The engine's parallel loops: a range of units split in contiguous parts, one thread each. */
#ifndef LOWBIT_TRAIN_PARALLEL_H
#define LOWBIT_TRAIN_PARALLEL_H

#include <stddef.h>

typedef void lb_train_range_fn(void *ctx, size_t begin, size_t end);

/* fn(ctx, begin, end) over parts covering [0, units), on up to `threads` threads (none below
 * about 2^18 units of `work` in all). The parts are contiguous and a part that gets no thread runs
 * on the caller, so as long as each unit's result depends on that unit only, the results do not
 * depend on `threads`. */
void lb_train_parallel(lb_train_range_fn *fn, void *ctx, size_t units, unsigned threads,
                       double work);

#endif
