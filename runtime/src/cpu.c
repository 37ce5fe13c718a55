/* CPU detection, once per process: the ISAs whose kernels may run, the micro-architecture and its
 * per-CPU data, the description, the thread count and the cache sizes.
 * LOWBIT_ISA=<isa> caps the ISAs at generic plus <isa> (as BLIS_ARCH_TYPE does), so the generic
 * kernels can be tested on a SIMD machine; LOWBIT_CPU=<uarch> takes the per-CPU data of another
 * micro-architecture, so that every row of the data can be tested on one machine. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "lowbit/lowbit.h"

/* More threads than this would only queue on the pool. */
#define LB_MAX_DEFAULT_THREADS 64u

static struct {
  pthread_once_t once;
  const char *isas[LB_CPU_MAX_ISAS];
  unsigned isa_count;
  char uarch[LB_CPU_UARCH_BYTES];
  const lb_tuning_row *tuning;
  char description[256];
  unsigned default_threads;
  size_t l1d_bytes, l2_bytes;
} lb_cpu = {.once = PTHREAD_ONCE_INIT};

static const char *lb_environment(const char *name) {
  const char *value = getenv(name);
  return value != NULL && *value != '\0' ? value : NULL;
}

static unsigned lb_threads_from_environment(void) {
  const char *text = lb_environment("LOWBIT_THREADS");
  if (text != NULL) {
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

/* Appends to the description; snprintf truncates what does not fit. */
static void lb_describe(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void lb_describe(const char *format, ...) {
  const size_t used = strlen(lb_cpu.description);
  va_list args;
  va_start(args, format);
  vsnprintf(lb_cpu.description + used, sizeof lb_cpu.description - used, format, args);
  va_end(args);
}

static void lb_cpu_detect(void) {
  lb_cpu_probe_result probe = {.arch = "unknown", .uarch = "unknown"};
  lb_cpu_probe(&probe);

  const char *isa_cap = lb_environment("LOWBIT_ISA");
  for (unsigned i = 0; i < probe.isa_count; i++) {
    if (isa_cap == NULL || strcmp(isa_cap, probe.isas[i]) == 0) {
      lb_cpu.isas[lb_cpu.isa_count++] = probe.isas[i];
    }
  }
  const char *cpu_override = lb_environment("LOWBIT_CPU");
  snprintf(lb_cpu.uarch, sizeof lb_cpu.uarch, "%s",
           cpu_override != NULL ? cpu_override : probe.uarch);
  lb_cpu.tuning = lb_tuning_row_for(lb_cpu.uarch);

  lb_describe("%s ", probe.arch);
  for (unsigned i = 0; i < lb_cpu.isa_count; i++) {
    lb_describe("%s%s", i > 0 ? "+" : "", lb_cpu.isas[i]);
  }
  lb_describe("%s (%s", lb_cpu.isa_count == 0 ? "generic" : "", probe.uarch);
  if (isa_cap != NULL) {
    lb_describe(", LOWBIT_ISA=%s", isa_cap);
  }
  if (cpu_override != NULL) {
    lb_describe(", LOWBIT_CPU=%s", cpu_override);
  }
  lb_describe(")");

  lb_cpu.default_threads = lb_threads_from_environment();
  lb_cpu.l1d_bytes = probe.l1d_bytes != 0 ? probe.l1d_bytes : lb_cpu.tuning->l1d_bytes;
  lb_cpu.l2_bytes = probe.l2_bytes != 0 ? probe.l2_bytes : lb_cpu.tuning->l2_bytes;
}

static void lb_cpu_init(void) { pthread_once(&lb_cpu.once, lb_cpu_detect); }

const char *lb_cpu_description(void) {
  lb_cpu_init();
  return lb_cpu.description;
}

const char *lb_cpu_uarch(void) {
  lb_cpu_init();
  return lb_cpu.uarch;
}

int lb_cpu_has_isa(const char *isa) {
  if (isa == NULL) {
    return 0;
  }
  if (strcmp(isa, "generic") == 0) {
    return 1;
  }
  lb_cpu_init();
  for (unsigned i = 0; i < lb_cpu.isa_count; i++) {
    if (strcmp(isa, lb_cpu.isas[i]) == 0) {
      return 1;
    }
  }
  return 0;
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

const lb_tuning_row *lb_cpu_tuning(void) {
  lb_cpu_init();
  return lb_cpu.tuning;
}
