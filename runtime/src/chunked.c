/* lb_chunked_for and lb_chunked_rows over lb_parallel_for: a few chunks per thread so that uneven
 * progress balances, none so small that the pool's hand-off costs more than the work. */
#include "chunked.h"

#include <stdatomic.h>
#include <stdint.h>

#include "threadpool.h"

/* Below this many elements a chunk costs more to hand to a thread than to run here. */
enum { LB_CHUNK_MIN_ELEMENTS = 16384, LB_CHUNKS_PER_THREAD = 4 };

typedef struct lb_chunked {
  lb_chunk_fn chunk;
  void *context;
  size_t count, chunk_units;
} lb_chunked;

static void lb_chunked_item(void *context, size_t item) {
  const lb_chunked *work = context;
  const size_t first = item * work->chunk_units;
  const size_t rest = work->count - first;
  work->chunk(work->context, first, rest < work->chunk_units ? rest : work->chunk_units);
}

/* count units of unit_elements elements each, chunk starts multiples of granule units. */
static void lb_chunked_units(unsigned threads, size_t count, size_t unit_elements, size_t granule,
                             lb_chunk_fn chunk, void *context) {
  if (count == 0) {
    return;
  }
  uint64_t elements;
  if (__builtin_mul_overflow((uint64_t)count, (uint64_t)unit_elements, &elements)) {
    elements = UINT64_MAX;
  }
  threads = lb_threads_for_work(threads, elements, LB_CHUNK_MIN_ELEMENTS);
  if (threads > LB_POOL_MAX_THREADS) {
    threads = LB_POOL_MAX_THREADS;
  }
  /* The fewest units that hold LB_CHUNK_MIN_ELEMENTS elements. */
  const size_t min_units = unit_elements >= LB_CHUNK_MIN_ELEMENTS
                               ? 1
                               : (LB_CHUNK_MIN_ELEMENTS + unit_elements - 1) / unit_elements;
  if (threads <= 1 || count / 2 < min_units) {
    chunk(context, 0, count);
    return;
  }
  size_t size = count / ((size_t)threads * LB_CHUNKS_PER_THREAD);
  size = size < min_units ? min_units : size;
  size = (size + granule - 1) / granule * granule;
  lb_chunked work = {.chunk = chunk, .context = context, .count = count, .chunk_units = size};
  const size_t items = (count + size - 1) / size;
  lb_parallel_for(threads < items ? threads : (unsigned)items, items, lb_chunked_item, &work);
}

void lb_chunked_for(unsigned threads, size_t count, size_t granule, lb_chunk_fn chunk,
                    void *context) {
  lb_chunked_units(threads, count, 1, granule, chunk, context);
}

void lb_chunked_rows(unsigned threads, size_t rows, size_t row_elements, lb_chunk_fn chunk,
                     void *context) {
  lb_chunked_units(threads, rows, row_elements, 1, chunk, context);
}

typedef struct lb_chunked_total {
  lb_chunk_count_fn count_chunk;
  void *context;
  atomic_size_t total;
} lb_chunked_total;

static void lb_chunked_add(void *context, size_t first, size_t count) {
  lb_chunked_total *sum = context;
  atomic_fetch_add_explicit(&sum->total, sum->count_chunk(sum->context, first, count),
                            memory_order_relaxed);
}

size_t lb_chunked_sum(unsigned threads, size_t count, size_t granule, lb_chunk_count_fn count_chunk,
                      void *context) {
  lb_chunked_total sum = {.count_chunk = count_chunk, .context = context};
  atomic_init(&sum.total, 0);
  lb_chunked_for(threads, count, granule, lb_chunked_add, &sum);
  /* lb_parallel_for has joined every chunk: their additions happened before this load. */
  return atomic_load_explicit(&sum.total, memory_order_relaxed);
}
