/* The engine's parallel loops (parallel.h): a pthread per part for the call's length. */
#include <pthread.h>

#include "parallel.h"

#define MAX_THREADS 64u
/* Below this much work a call runs on the calling thread: a thread costs some 10 microseconds. */
#define PARALLEL_WORK (1u << 18)

typedef struct part_job {
  lb_train_range_fn *fn;
  void *ctx;
  size_t begin, end;
} part_job;

static void *part_thread(void *arg) {
  part_job *j = arg;
  j->fn(j->ctx, j->begin, j->end);
  return NULL;
}

void lb_train_parallel(lb_train_range_fn *fn, void *ctx, size_t units, unsigned threads,
                       double work) {
  size_t parts = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
  if (parts > units) {
    parts = units;
  }
  if (parts <= 1 || work < PARALLEL_WORK) {
    fn(ctx, 0, units);
    return;
  }
  part_job jobs[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (size_t i = 0; i < parts; i++) {
    jobs[i] = (part_job){fn, ctx, units * i / parts, units * (i + 1) / parts};
  }
  for (size_t i = 1; i < parts; i++) {
    started[i] = pthread_create(&ids[i], NULL, part_thread, &jobs[i]) == 0;
    if (!started[i]) {
      part_thread(&jobs[i]);
    }
  }
  part_thread(&jobs[0]);
  for (size_t i = 1; i < parts; i++) {
    if (started[i]) {
      pthread_join(ids[i], NULL);
    }
  }
}
