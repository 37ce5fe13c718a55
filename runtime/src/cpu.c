/* CPU detection, once per process: the ISAs whose kernels may run, the description, the thread
 * count and the cache sizes. LOWBIT_ISA=<isa> caps the ISAs at generic plus <isa> (as BLIS_ARCH_TYPE
 * does), so the generic kernels can be tested on a SIMD machine. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "lowbit/lowbit.h"

/* Defaults when the probe cannot tell: the L1 data cache and L2 of a Cortex-A53 or a Zen 3 core. */
#define LB_DEFAULT_L1D_BYTES ((size_t)32 * 1024)
#define LB_DEFAULT_L2_BYTES ((size_t)512 * 1024)

/* More threads than this would only queue on the pool. */
#define LB_MAX_DEFAULT_THREADS 64u

static struct {
  pthread_once_t once;
  const char *simd_isa;
  char description[160];
  unsigned default_threads;
  size_t l1d_bytes, l2_bytes;
} lb_cpu = {.once = PTHREAD_ONCE_INIT};

static unsigned lb_threads_from_environment(void) {
  const char *text = getenv("LOWBIT_THREADS");
  if (text != NULL && *text != '\0') {
    char *end;
    const unsigned long threads = strtoul(text, &end, 10);
    if (*end == '\0' && threads >= 1) {
      return threads < LB_MAX_DEFAULT_THREADS ? (unsigned)threads : LB_MAX_DEFAULT_THREADS;
    }
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 1) {
    return 1;
  }
  return online < (long)LB_MAX_DEFAULT_THREADS ? (unsigned)online : LB_MAX_DEFAULT_THREADS;
}

static void lb_cpu_detect(void) {
  lb_cpu_probe_result probe = {.arch = "unknown", .simd_isa = NULL, .uarch = "unknown"};
  lb_cpu_probe(&probe);

  const char *cap = getenv("LOWBIT_ISA");
  const int capped = cap != NULL && *cap != '\0';
  lb_cpu.simd_isa = probe.simd_isa;
  if (capped && (probe.simd_isa == NULL || strcmp(cap, probe.simd_isa) != 0)) {
    lb_cpu.simd_isa = NULL;
  }
  const char *isa = lb_cpu.simd_isa != NULL ? lb_cpu.simd_isa : "generic";
  if (capped) {
    snprintf(lb_cpu.description, sizeof lb_cpu.description, "%s %s (%s, LOWBIT_ISA=%s)", probe.arch,
             isa, probe.uarch, cap);
  } else {
    snprintf(lb_cpu.description, sizeof lb_cpu.description, "%s %s (%s)", probe.arch, isa,
             probe.uarch);
  }
  lb_cpu.default_threads = lb_threads_from_environment();
  lb_cpu.l1d_bytes = probe.l1d_bytes != 0 ? probe.l1d_bytes : LB_DEFAULT_L1D_BYTES;
  lb_cpu.l2_bytes = probe.l2_bytes != 0 ? probe.l2_bytes : LB_DEFAULT_L2_BYTES;
}

static void lb_cpu_init(void) { pthread_once(&lb_cpu.once, lb_cpu_detect); }

const char *lb_cpu_description(void) {
  lb_cpu_init();
  return lb_cpu.description;
}

int lb_cpu_has_isa(const char *isa) {
  if (isa == NULL) {
    return 0;
  }
  lb_cpu_init();
  return strcmp(isa, "generic") == 0 ||
         (lb_cpu.simd_isa != NULL && strcmp(isa, lb_cpu.simd_isa) == 0);
}

unsigned lb_cpu_default_threads(void) {
  lb_cpu_init();
  return lb_cpu.default_threads;
}

size_t lb_cpu_l1d_bytes(void) {
  lb_cpu_init();
  return lb_cpu.l1d_bytes;
}

size_t lb_cpu_l2_bytes(void) {
  lb_cpu_init();
  return lb_cpu.l2_bytes;
}
