/* The worker pool behind lb_parallel_for. Workers sleep on a condition variable between calls
 * and take items from a shared atomic counter, so uneven items balance themselves. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "threadpool.h"

#include "cpu.h"

#define LB_POOL_MAX_WORKERS (LB_POOL_MAX_THREADS - 1)

static struct {
  pthread_mutex_t call_lock; /* one lb_parallel_for on the pool at a time */
  pthread_mutex_t lock;      /* guards the fields below */
  pthread_cond_t start, done;
  pthread_t workers[LB_POOL_MAX_WORKERS];
  unsigned long seen[LB_POOL_MAX_WORKERS]; /* the last call generation each worker woke for */
  unsigned worker_count;
  unsigned long generation;
  unsigned participants; /* workers 0 .. participants-1 take part in the current call */
  unsigned running;      /* participants still working on the current call */
  lb_task_fn task;
  void *context;
  size_t items;
  atomic_size_t next_item;
} lb_pool = {.call_lock = PTHREAD_MUTEX_INITIALIZER,
             .lock = PTHREAD_MUTEX_INITIALIZER,
             .start = PTHREAD_COND_INITIALIZER,
             .done = PTHREAD_COND_INITIALIZER};

static void lb_pool_run_items(void) {
  for (;;) {
    const size_t item = atomic_fetch_add_explicit(&lb_pool.next_item, 1, memory_order_relaxed);
    if (item >= lb_pool.items) {
      return;
    }
    lb_pool.task(lb_pool.context, item);
  }
}

static void *lb_pool_worker(void *argument) {
  const unsigned index = (unsigned)(uintptr_t)argument;
  pthread_mutex_lock(&lb_pool.lock);
  for (;;) {
    while (lb_pool.generation == lb_pool.seen[index]) {
      pthread_cond_wait(&lb_pool.start, &lb_pool.lock);
    }
    lb_pool.seen[index] = lb_pool.generation;
    if (index >= lb_pool.participants) {
      continue;
    }
    pthread_mutex_unlock(&lb_pool.lock);
    lb_pool_run_items();
    pthread_mutex_lock(&lb_pool.lock);
    if (--lb_pool.running == 0) {
      pthread_cond_signal(&lb_pool.done);
    }
  }
  return NULL;
}

/* A child of fork() has none of the workers, and the locks may have been held by a thread that
 * does not exist there: it starts with an empty pool. */
static void lb_pool_reset_in_child(void) {
  pthread_mutex_init(&lb_pool.call_lock, NULL);
  pthread_mutex_init(&lb_pool.lock, NULL);
  pthread_cond_init(&lb_pool.start, NULL);
  pthread_cond_init(&lb_pool.done, NULL);
  lb_pool.worker_count = 0;
}

static pthread_once_t lb_pool_fork_handler_once = PTHREAD_ONCE_INIT;

static void lb_pool_register_fork_handler(void) {
  pthread_atfork(NULL, NULL, lb_pool_reset_in_child);
}

/* Called with lb_pool.lock held. A worker starts having seen the current generation, so it waits
 * for the next call; a worker that cannot be created leaves the pool smaller. */
static void lb_pool_grow(unsigned workers) {
  pthread_once(&lb_pool_fork_handler_once, lb_pool_register_fork_handler);
  while (lb_pool.worker_count < workers) {
    const unsigned index = lb_pool.worker_count;
    lb_pool.seen[index] = lb_pool.generation;
    if (pthread_create(&lb_pool.workers[index], NULL, lb_pool_worker, (void *)(uintptr_t)index) !=
        0) {
      return;
    }
    pthread_detach(lb_pool.workers[index]);
    lb_pool.worker_count++;
  }
}

static void lb_run_serially(size_t items, lb_task_fn task, void *context) {
  for (size_t item = 0; item < items; item++) {
    task(context, item);
  }
}

void lb_parallel_for(unsigned threads, size_t items, lb_task_fn task, void *context) {
  if (threads > items) {
    threads = (unsigned)items;
  }
  if (threads <= 1 || pthread_mutex_trylock(&lb_pool.call_lock) != 0) {
    lb_run_serially(items, task, context);
    return;
  }
  pthread_mutex_lock(&lb_pool.lock);
  const unsigned helpers = threads - 1 < LB_POOL_MAX_WORKERS ? threads - 1 : LB_POOL_MAX_WORKERS;
  lb_pool_grow(helpers);
  lb_pool.participants = helpers < lb_pool.worker_count ? helpers : lb_pool.worker_count;
  lb_pool.running = lb_pool.participants;
  lb_pool.task = task;
  lb_pool.context = context;
  lb_pool.items = items;
  atomic_store_explicit(&lb_pool.next_item, 0, memory_order_relaxed);
  lb_pool.generation++;
  pthread_cond_broadcast(&lb_pool.start);
  pthread_mutex_unlock(&lb_pool.lock);

  lb_pool_run_items();

  pthread_mutex_lock(&lb_pool.lock);
  while (lb_pool.running != 0) {
    pthread_cond_wait(&lb_pool.done, &lb_pool.lock);
  }
  pthread_mutex_unlock(&lb_pool.lock);
  pthread_mutex_unlock(&lb_pool.call_lock);
}

unsigned lb_threads_for_work(unsigned requested, uint64_t work, uint64_t work_per_thread) {
  if (requested != 0) {
    return requested;
  }
  const unsigned threads = lb_cpu_default_threads();
  const uint64_t affordable = work / work_per_thread;
  return affordable >= threads ? threads : affordable >= 1 ? (unsigned)affordable : 1;
}
