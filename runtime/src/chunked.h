/* Work over [0, count) split into chunks for the thread pool: the quantizers and updates run their
 * kernel once per chunk with the chunk's first index, so a result is the same for every thread
 * count whenever the kernel's output for an element (or a row) depends on its index alone. */
#ifndef LOWBIT_CHUNKED_H
#define LOWBIT_CHUNKED_H

#include <stddef.h>

/* Runs chunk(context, first, count) over [0, count) elements in chunks of a whole number of
 * granules (the last chunk excepted), on the threads lb_threads_for_work gives for `threads` (0:
 * the default, 1: the calling thread alone, n: up to n of the pool), the calling thread alone when
 * the work is small. granule >= 1: chunk starts are multiples of it, so that a kernel's vector loop
 * starts aligned to the caller's arrays as often as the whole call's does. */
typedef void (*lb_chunk_fn)(void *context, size_t first, size_t count);
void lb_chunked_for(unsigned threads, size_t count, size_t granule, lb_chunk_fn chunk,
                    void *context);

/* The same over [0, rows) rows of row_elements elements each (>= 1): chunks are whole rows, and
 * sized by the elements they hold, so that a few long rows split as finely as many short ones. */
void lb_chunked_rows(unsigned threads, size_t rows, size_t row_elements, lb_chunk_fn chunk,
                     void *context);

/* The sum of count_chunk(context, first, count) over the chunks of lb_chunked_for(threads, count,
 * granule, ...), once every chunk is done: the updates count their refused inputs with it, in
 * parallel, before any chunk writes. */
typedef size_t (*lb_chunk_count_fn)(void *context, size_t first, size_t count);
size_t lb_chunked_sum(unsigned threads, size_t count, size_t granule, lb_chunk_count_fn count_chunk,
                      void *context);

#endif
