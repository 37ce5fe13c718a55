/* sysconf() is POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L

#include "trace.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* The runtime's cap on a thread count chosen for the caller (runtime/src/cpu.c). */
#define LB_TEST_MAX_DEFAULT_THREADS 64u

static lb_gemm_kernel_info traced;
static lb_gemm_ukernel_fn traced_ukernel;
static atomic_size_t calls;
static atomic_uint threads;
/* Each trace has its own generation, so that a pool worker from an earlier trace counts again. */
static atomic_ulong generation;
static _Thread_local unsigned long seen_generation;

static void traced_call(size_t mr, size_t nr, size_t kblocks, const void *a_panel,
                        const void *w_panel, void *c, size_t c_stride,
                        const lb_gemm_ukernel_args *args) {
  const unsigned long current = atomic_load_explicit(&generation, memory_order_relaxed);
  if (seen_generation != current) {
    seen_generation = current;
    atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  traced_ukernel(mr, nr, kblocks, a_panel, w_panel, c, c_stride, args);
}

const lb_gemm_kernel_info *lb_test_trace_begin(const lb_gemm_kernel_info *kernel) {
  traced = *kernel;
  traced.ukernel = traced_call;
  traced_ukernel = kernel->ukernel;
  atomic_store(&calls, 0);
  atomic_store(&threads, 0);
  atomic_fetch_add(&generation, 1);
  return &traced;
}

lb_test_trace lb_test_trace_end(void) {
  const lb_test_trace trace = {atomic_load(&calls), atomic_load(&threads),
                               seen_generation == atomic_load(&generation)};
  return trace;
}

unsigned lb_test_thread_limit(unsigned requested) {
  if (requested != 0) {
    return requested;
  }
  const char *text = getenv("LOWBIT_THREADS");
  unsigned long limit = 0;
  if (text != NULL && *text != '\0') {
    char *end;
    limit = strtoul(text, &end, 10);
    if (*end != '\0') {
      limit = 0;
    }
  }
  if (limit == 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    limit = online >= 1 ? (unsigned long)online : 1;
  }
  return limit < LB_TEST_MAX_DEFAULT_THREADS ? (unsigned)limit : LB_TEST_MAX_DEFAULT_THREADS;
}
