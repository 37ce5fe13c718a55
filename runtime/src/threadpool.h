/* A persistent pool of worker threads, created on first use and kept for the process. */
#ifndef LOWBIT_THREADPOOL_H
#define LOWBIT_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

/* The most threads one call runs on, the calling thread included. */
#define LB_POOL_MAX_THREADS 64u

/* The one threads rule of liblowbit's calls (lb_gemm_desc.threads, the quantizers' and updates'
 * `threads`): `requested` if not 0; 0 asks for the default, LOWBIT_THREADS if set, else one per
 * online CPU, but no more than one per work_per_thread units of the call's `work`, at least one. */
unsigned lb_threads_for_work(unsigned requested, uint64_t work, uint64_t work_per_thread);

typedef void (*lb_task_fn)(void *context, size_t item);

/* Calls task(context, item) for every item in [0, items) on up to `threads` threads, the calling
 * thread included, and returns when all are done. Runs on the calling thread alone when the pool
 * is busy with another call or cannot start workers: slower, never wrong. */
void lb_parallel_for(unsigned threads, size_t items, lb_task_fn task, void *context);

#endif
