/* The engine's parallel loops (parallel.h): a pthread per helper for the call's length, taking
 * chunks from a shared counter, so that a thread the system delays holds up no fixed share. */
#include <pthread.h>
#include <stdatomic.h>

#include "parallel.h"

#define MAX_THREADS 64u
/* Chunks per thread: enough for the others to absorb a thread the system runs late. */
#define CHUNKS_PER_THREAD 8u
/* Below this much work a call runs on the calling thread: a thread costs some 10 microseconds. */
#define PARALLEL_WORK (1u << 18)

typedef struct chunk_job {
  lb_train_range_fn *fn;
  void *ctx;
  size_t units, chunks;
  atomic_size_t next;
} chunk_job;

/* Chunk i is always [units * i / chunks, units * (i + 1) / chunks), whoever runs it. */
static void *chunk_worker(void *arg) {
  chunk_job *j = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->chunks) {
      return NULL;
    }
    j->fn(j->ctx, j->units * i / j->chunks, j->units * (i + 1) / j->chunks);
  }
}

void lb_train_parallel(lb_train_range_fn *fn, void *ctx, size_t units, unsigned threads,
                       double work) {
  size_t t = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
  if (t > units) {
    t = units;
  }
  if (t <= 1 || work < PARALLEL_WORK) {
    fn(ctx, 0, units);
    return;
  }
  chunk_job job;
  job.fn = fn, job.ctx = ctx, job.units = units;
  job.chunks = t * CHUNKS_PER_THREAD < units ? t * CHUNKS_PER_THREAD : units;
  atomic_init(&job.next, 0);
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (size_t i = 1; i < t; i++) {
    started[i] = pthread_create(&ids[i], NULL, chunk_worker, &job) == 0;
  }
  chunk_worker(&job); /* the caller works too, and alone finishes what no thread started */
  for (size_t i = 1; i < t; i++) {
    if (started[i]) {
      pthread_join(ids[i], NULL);
    }
  }
}
