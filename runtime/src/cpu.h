/* What the runtime knows of the CPU it runs on, detected once per process. */
#ifndef LOWBIT_CPU_H
#define LOWBIT_CPU_H

#include <stddef.h>

/* What the architecture-specific probe finds (cpu_probe.c). */
typedef struct lb_cpu_probe_result {
  const char *arch;       /* "x86-64", "aarch64", "armv7", ... */
  const char *simd_isa;   /* "avx2", "neon", or NULL when only generic kernels run */
  char uarch[64];         /* e.g. "znver3", "cortex-a53", "unknown" */
  size_t l1d_bytes;       /* 0 when unknown */
  size_t l2_bytes;
} lb_cpu_probe_result;

void lb_cpu_probe(lb_cpu_probe_result *result);

/* Threads for a call that asks for 0: LOWBIT_THREADS if set, else the online CPUs. */
unsigned lb_cpu_default_threads(void);

size_t lb_cpu_l1d_bytes(void);
size_t lb_cpu_l2_bytes(void);

#endif
