/* A copy of a registry kernel whose micro-kernel counts its calls and the threads making them, so a
 * test sees that lb_gemm drove the kernel it was given, on no more threads than it was allowed. */
#ifndef LOWBIT_TEST_TRACE_H
#define LOWBIT_TEST_TRACE_H

#include <stddef.h>

#include "lowbit/lowbit.h"

typedef struct lb_test_trace {
  size_t calls;     /* micro-kernel calls */
  unsigned threads; /* distinct threads that made them */
  int caller;       /* the thread that called lb_gemm was one of them */
} lb_test_trace;

/* The copy of `kernel` to pass in lb_gemm_desc.kernel; one trace at a time. */
const lb_gemm_kernel_info *lb_test_trace_begin(const lb_gemm_kernel_info *kernel);
lb_test_trace lb_test_trace_end(void);

/* The most threads lb_gemm may use for lb_gemm_desc.threads (lowbit.h): `threads`, or for 0
 * LOWBIT_THREADS or else the online CPUs, at most 64 either way. */
unsigned lb_test_thread_limit(unsigned threads);

#endif
