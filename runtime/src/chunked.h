/* Element-wise work over [0, count) split into chunks for the thread pool: the quantizers run
 * their kernel once per chunk with the chunk's first element index, so a result is the same for
 * every thread count whenever the kernel's output for an element depends on its index alone. */
#ifndef LOWBIT_CHUNKED_H
#define LOWBIT_CHUNKED_H

#include <stddef.h>

/* Runs chunk(context, first, count) over [0, count) in chunks of a whole number of granules (the
 * last chunk excepted), the calling thread alone when threads <= 1 or the work is small, else on
 * up to `threads` threads of the pool. granule >= 1: chunk starts are multiples of it, so that a
 * kernel's vector loop starts aligned to the caller's arrays as often as the whole call's does. */
typedef void (*lb_chunk_fn)(void *context, size_t first, size_t count);
void lb_chunked_for(unsigned threads, size_t count, size_t granule, lb_chunk_fn chunk,
                    void *context);

#endif
