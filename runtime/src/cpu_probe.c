/* The architecture-specific part of CPU detection: SIMD ISAs, micro-architecture, cache sizes.
 * x86 asks cpuinfo when the build found it (it also checks that the OS saves the AVX state);
 * ARM reads HWCAP, the MIDR part number and sysfs, so cross builds need nothing beyond libc. */
#include <stdio.h>
#include <string.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)

#ifdef LOWBIT_HAVE_CPUINFO
#include <cpuid.h>
#include <cpuinfo.h>

static const char *lb_x86_uarch_name(enum cpuinfo_uarch uarch) {
  switch (uarch) {
  case cpuinfo_uarch_haswell: return "haswell";
  case cpuinfo_uarch_broadwell: return "broadwell";
  case cpuinfo_uarch_sky_lake: return "skylake";
  case cpuinfo_uarch_sunny_cove: return "icelake";
  case cpuinfo_uarch_zen: return "znver1";
  case cpuinfo_uarch_zen2: return "znver2";
  case cpuinfo_uarch_zen3: return "znver3";
  default: return NULL;
  }
}

/* Cores newer than Debian's cpuinfo knows, by CPUID family and model, named as clang's -march
 * names them. */
static const char *lb_x86_model_name(uint32_t cpuid) {
  const unsigned base_family = (cpuid >> 8) & 0xf;
  const unsigned family = base_family == 0xf ? base_family + ((cpuid >> 20) & 0xff) : base_family;
  const unsigned model =
      (cpuid >> 4 & 0xf) | ((base_family == 6 || base_family == 0xf) ? (cpuid >> 12 & 0xf0) : 0);
  static const struct {
    unsigned family, model;
    const char *name;
  } models[] = {
      {6, 106, "icelake-server"}, {6, 108, "icelake-server"}, {6, 143, "sapphirerapids"},
      {6, 207, "emeraldrapids"},  {25, 17, "znver4"},         {25, 97, "znver4"},
  };
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
    if (models[i].family == family && models[i].model == model) {
      return models[i].name;
    }
  }
  /* A model not listed (a hypervisor may report one of its own) with AMX tiles and AVX512-FP16
   * (CPUID leaf 7, EDX bits 24 and 23): the first core with both, Sapphire Rapids, whose core
   * Emerald Rapids keeps. */
  unsigned eax, ebx, ecx, edx;
  const unsigned amx_fp16 = 1u << 24 | 1u << 23;
  if (family == 6 && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
      (edx & amx_fp16) == amx_fp16) {
    return "sapphirerapids";
  }
  return NULL;
}

void lb_cpu_probe(lb_cpu_probe_result *result) {
  result->arch = sizeof(void *) == 8 ? "x86-64" : "x86";
  if (!cpuinfo_initialize()) {
    return;
  }
  if (cpuinfo_has_x86_avx2()) {
    result->isas[result->isa_count++] = "avx2";
  }
  /* cpuinfo reports these only where the OS also saves the ZMM and mask state. */
  if (cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512dq() && cpuinfo_has_x86_avx512bw() &&
      cpuinfo_has_x86_avx512vl() && cpuinfo_has_x86_avx512vpopcntdq() &&
      cpuinfo_has_x86_avx512vnni()) {
    result->isas[result->isa_count++] = "avx512";
  }
  const struct cpuinfo_core *core = cpuinfo_get_core(0);
  const struct cpuinfo_package *package = cpuinfo_get_package(0);
  const char *name = core != NULL ? lb_x86_uarch_name(core->uarch) : NULL;
  if (name == NULL && core != NULL) {
    name = lb_x86_model_name(core->cpuid);
  }
  if (name == NULL && package != NULL && package->name[0] != '\0') {
    name = package->name;
  }
  if (name != NULL) {
    snprintf(result->uarch, sizeof result->uarch, "%s", name);
  }
  const struct cpuinfo_cache *l1d = cpuinfo_get_l1d_cache(0);
  const struct cpuinfo_cache *l2 = cpuinfo_get_l2_cache(0);
  result->l1d_bytes = l1d != NULL ? l1d->size : 0;
  result->l2_bytes = l2 != NULL ? l2->size : 0;
}

#else

void lb_cpu_probe(lb_cpu_probe_result *result) {
  result->arch = sizeof(void *) == 8 ? "x86-64" : "x86";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    result->isas[result->isa_count++] = "avx2";
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vnni")) {
    result->isas[result->isa_count++] = "avx512";
  }
}

#endif

#elif defined(__aarch64__) || defined(__arm__)

#include <stdlib.h>
#include <sys/auxv.h>

/* Main ID register part numbers of ARM Ltd cores (implementer 0x41). */
static const struct {
  unsigned part;
  const char *name;
} lb_arm_parts[] = {
    {0xd03, "cortex-a53"},  {0xd04, "cortex-a35"}, {0xd05, "cortex-a55"}, {0xd07, "cortex-a57"},
    {0xd08, "cortex-a72"},  {0xd09, "cortex-a73"}, {0xd0a, "cortex-a75"}, {0xd0b, "cortex-a76"},
    {0xd0c, "neoverse-n1"}, {0xd0d, "cortex-a77"}, {0xd41, "cortex-a78"},
};

/* The first core's MIDR fields from /proc/cpuinfo (big.LITTLE systems list several); 0 when it
 * has none. */
static int lb_arm_uarch(char *uarch, size_t size) {
  FILE *cpuinfo = fopen("/proc/cpuinfo", "r");
  if (cpuinfo == NULL) {
    return 0;
  }
  unsigned implementer = 0, part = 0;
  int have_implementer = 0, have_part = 0;
  char line[256];
  while ((!have_implementer || !have_part) && fgets(line, sizeof line, cpuinfo) != NULL) {
    if (!have_implementer && sscanf(line, "CPU implementer : %x", &implementer) == 1) {
      have_implementer = 1;
    } else if (!have_part && sscanf(line, "CPU part : %x", &part) == 1) {
      have_part = 1;
    }
  }
  fclose(cpuinfo);
  if (!have_part) {
    return 0;
  }
  if (implementer == 0x41) {
    for (size_t i = 0; i < sizeof lb_arm_parts / sizeof lb_arm_parts[0]; i++) {
      if (lb_arm_parts[i].part == part) {
        snprintf(uarch, size, "%s", lb_arm_parts[i].name);
        return 1;
      }
    }
  }
  snprintf(uarch, size, "implementer 0x%02x part 0x%03x", implementer, part);
  return 1;
}

/* The first line of one file of /sys/devices/system/cpu/cpu0/cache/index<index>/. */
static int lb_cache_field(unsigned index, const char *field, char *line, size_t size) {
  char path[96];
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%u/%s", index, field);
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    return 0;
  }
  const int read = fgets(line, (int)size, file) != NULL;
  fclose(file);
  return read;
}

/* The first core's L1 data cache and L2 as Linux describes them (sizes such as "512K"); left 0
 * where sysfs has no cache folder. */
static void lb_arm_caches(lb_cpu_probe_result *result) {
  char level[16], type[32], size[32];
  for (unsigned index = 0; lb_cache_field(index, "level", level, sizeof level); index++) {
    unsigned long bytes;
    char unit = '\0';
    if (!lb_cache_field(index, "type", type, sizeof type) ||
        !lb_cache_field(index, "size", size, sizeof size) ||
        sscanf(size, "%lu%c", &bytes, &unit) < 1) {
      continue;
    }
    bytes *= unit == 'K' ? 1024ul : unit == 'M' ? 1024ul * 1024ul : 1ul;
    const long cache_level = strtol(level, NULL, 10);
    const int data = strncmp(type, "Data", 4) == 0, unified = strncmp(type, "Unified", 7) == 0;
    if (cache_level == 1 && data) {
      result->l1d_bytes = bytes;
    } else if (cache_level == 2 && (data || unified)) {
      result->l2_bytes = bytes;
    }
  }
}

/* AArch64 always has Advanced SIMD; on 32-bit ARM the kernel reports NEON in HWCAP. */
#ifndef HWCAP_ARM_NEON
#define HWCAP_ARM_NEON (1ul << 12)
#endif

/* AArch64 HWCAP bit of the ARMv8.2 dot product (sdot/udot), asm/hwcap.h; the neondot kernels
 * need it. */
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1ul << 20)
#endif

void lb_cpu_probe(lb_cpu_probe_result *result) {
#ifdef __aarch64__
  result->arch = "aarch64";
  result->isas[result->isa_count++] = "neon";
  if ((getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0) {
    result->isas[result->isa_count++] = "neondot";
  }
#else
  result->arch = "armv7";
  if ((getauxval(AT_HWCAP) & HWCAP_ARM_NEON) != 0) {
    result->isas[result->isa_count++] = "neon";
  }
#endif
  /* Without a MIDR, /proc and /sys describe another machine (QEMU user mode shows the host's):
   * the cache sizes then come from the tuning row of the cpu the runtime takes, as the whole-call
   * models and lowbit-tune assume. */
  if (lb_arm_uarch(result->uarch, sizeof result->uarch)) {
    lb_arm_caches(result);
  }
}

#else

void lb_cpu_probe(lb_cpu_probe_result *result) { (void)result; }

#endif
