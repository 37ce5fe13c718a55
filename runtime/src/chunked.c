/* lb_chunked_for over lb_parallel_for: a few chunks per thread so that uneven progress balances,
 * none so small that the pool's hand-off costs more than the work. */
#include "chunked.h"

#include "threadpool.h"

/* Below this many elements a chunk costs more to hand to a thread than to run here. */
enum { LB_CHUNK_MIN_ELEMENTS = 16384, LB_CHUNKS_PER_THREAD = 4 };

typedef struct lb_chunked {
  lb_chunk_fn chunk;
  void *context;
  size_t count, chunk_elements;
} lb_chunked;

static void lb_chunked_item(void *context, size_t item) {
  const lb_chunked *work = context;
  const size_t first = item * work->chunk_elements;
  const size_t rest = work->count - first;
  work->chunk(work->context, first, rest < work->chunk_elements ? rest : work->chunk_elements);
}

void lb_chunked_for(unsigned threads, size_t count, size_t granule, lb_chunk_fn chunk,
                    void *context) {
  if (count == 0) {
    return;
  }
  if (threads > LB_POOL_MAX_THREADS) {
    threads = LB_POOL_MAX_THREADS;
  }
  if (threads <= 1 || count < 2 * (size_t)LB_CHUNK_MIN_ELEMENTS) {
    chunk(context, 0, count);
    return;
  }
  size_t size = count / ((size_t)threads * LB_CHUNKS_PER_THREAD);
  size = size < LB_CHUNK_MIN_ELEMENTS ? LB_CHUNK_MIN_ELEMENTS : size;
  size = (size + granule - 1) / granule * granule;
  lb_chunked work = {.chunk = chunk, .context = context, .count = count, .chunk_elements = size};
  const size_t items = (count + size - 1) / size;
  lb_parallel_for(threads < items ? threads : (unsigned)items, items, lb_chunked_item, &work);
}
