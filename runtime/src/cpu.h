/* What the runtime knows of the CPU it runs on, detected once per process. */
#ifndef LOWBIT_CPU_H
#define LOWBIT_CPU_H

#include <stddef.h>

#include "tuning.h"

/* SIMD ISAs one CPU can report (avx2, later avx512vnni, neon, neon dot product, ...). */
#define LB_CPU_MAX_ISAS 8
/* A micro-architecture name and its NUL (the generator keeps the data's names shorter). */
#define LB_CPU_UARCH_BYTES 64

/* What the architecture-specific probe finds (cpu_probe.c). */
typedef struct lb_cpu_probe_result {
  const char *arch;                  /* "x86-64", "aarch64", "armv7", ... */
  const char *isas[LB_CPU_MAX_ISAS]; /* SIMD ISAs whose kernels run; generic ones always do */
  unsigned isa_count;
  char uarch[LB_CPU_UARCH_BYTES]; /* e.g. "znver3", "cortex-a53", "unknown" */
  size_t l1d_bytes;               /* 0 when unknown */
  size_t l2_bytes;
} lb_cpu_probe_result;

void lb_cpu_probe(lb_cpu_probe_result *result);

/* Threads for a call that asks for 0: LOWBIT_THREADS if set, else the online CPUs. */
unsigned lb_cpu_default_threads(void);

/* The probe's cache sizes, else those of the tuning row. */
size_t lb_cpu_l1d_bytes(void);
size_t lb_cpu_l2_bytes(void);

/* The per-CPU data of lb_cpu_uarch(): its row of targets/<target>.tuning, else the default one. */
const lb_tuning_row *lb_cpu_tuning(void);

#endif
