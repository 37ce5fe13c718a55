/* Lookup in the generated kernel table. */
#include <string.h>

#include "lowbit/lowbit.h"
#include "registry.h"

size_t lb_gemm_kernel_count(void) { return lb_registry_gemm_count; }

const lb_gemm_kernel_info *lb_gemm_kernel_at(size_t index) {
  return index < lb_registry_gemm_count ? &lb_registry_gemm[index] : NULL;
}

const lb_gemm_kernel_info *lb_gemm_kernel_by_name(const char *name) {
  if (name == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < lb_registry_gemm_count; i++) {
    if (strcmp(lb_registry_gemm[i].name, name) == 0) {
      return &lb_registry_gemm[i];
    }
  }
  return NULL;
}

const void *lb_registry_first_runnable(const void *table, size_t count, size_t row_bytes,
                                       size_t isa_offset,
                                       int (*matches)(const void *row, const void *key),
                                       const void *key) {
  const unsigned char *row = table;
  const void *generic = NULL;
  for (size_t i = 0; i < count; i++, row += row_bytes) {
    const char *isa;
    memcpy(&isa, row + isa_offset, sizeof isa);
    if (!matches(row, key) || !lb_cpu_has_isa(isa)) {
      continue;
    }
    if (strcmp(isa, "generic") != 0) {
      return row;
    }
    if (generic == NULL) {
      generic = row;
    }
  }
  return generic;
}
