/* The engine's parallel loops (parallel.h): detached helper threads take chunks from a shared
 * counter with the caller, and the caller returns once every chunk is done, without waiting for a
 * helper the system has not run yet (on a busy machine that wait is a time slice per call). The
 * job lives on the heap until its last user lets go of it. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

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
  atomic_size_t next, done;
  atomic_uint users; /* the caller and the helpers not yet finished */
} chunk_job;

static void release(chunk_job *j) {
  if (atomic_fetch_sub(&j->users, 1) == 1) {
    free(j);
  }
}

/* Chunk i is always [units * i / chunks, units * (i + 1) / chunks), whoever runs it. */
static void run_chunks(chunk_job *j) {
  for (;;) {
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->chunks) {
      return;
    }
    j->fn(j->ctx, j->units * i / j->chunks, j->units * (i + 1) / j->chunks);
    atomic_fetch_add(&j->done, 1);
  }
}

static void *helper(void *arg) {
  run_chunks(arg);
  release(arg);
  return NULL;
}

void lb_train_parallel(lb_train_range_fn *fn, void *ctx, size_t units, unsigned threads,
                       double work) {
  size_t t = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
  if (t > units) {
    t = units;
  }
  chunk_job *job = t > 1 && work >= PARALLEL_WORK ? malloc(sizeof *job) : NULL;
  if (!job) {
    fn(ctx, 0, units);
    return;
  }
  job->fn = fn, job->ctx = ctx, job->units = units;
  job->chunks = t * CHUNKS_PER_THREAD < units ? t * CHUNKS_PER_THREAD : units;
  atomic_init(&job->next, 0);
  atomic_init(&job->done, 0);
  atomic_init(&job->users, 1);
  pthread_attr_t attr;
  int detached = pthread_attr_init(&attr) == 0;
  if (detached && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0) {
    for (size_t i = 1; i < t; i++) {
      pthread_t id;
      atomic_fetch_add(&job->users, 1);
      if (pthread_create(&id, &attr, helper, job) != 0) {
        atomic_fetch_sub(&job->users, 1); /* the caller does its chunks */
      }
    }
  }
  if (detached) {
    pthread_attr_destroy(&attr);
  }
  run_chunks(job);
  while (atomic_load(&job->done) < job->chunks) {
    sched_yield(); /* a helper is inside a chunk */
  }
  release(job);
}
