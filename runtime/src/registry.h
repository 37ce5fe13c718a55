/* The kernel table that lowbit-gen writes for the target (<build>/gen/<target>/lb_registry.c). */
#ifndef LOWBIT_REGISTRY_H
#define LOWBIT_REGISTRY_H

#include <stddef.h>

#include "lowbit/ukernel.h"

extern const lb_gemm_kernel_info lb_registry_gemm[];
extern const size_t lb_registry_gemm_count;
extern const lb_quantize_fixed_kernel_info lb_registry_quantize_fixed[];
extern const size_t lb_registry_quantize_fixed_count;
extern const lb_minifloat_kernel_info lb_registry_quantize_minifloat[];
extern const size_t lb_registry_quantize_minifloat_count;
extern const lb_update_sgd_kernel_info lb_registry_update_sgd[];
extern const size_t lb_registry_update_sgd_count;
extern const lb_lns_kernel_info lb_registry_quantize_lns[];
extern const size_t lb_registry_quantize_lns_count;
extern const lb_lns_madam_kernel_info lb_registry_update_lns_madam[];
extern const size_t lb_registry_update_lns_madam_count;
extern const lb_quantize_bfp_kernel_info lb_registry_quantize_bfp[];
extern const size_t lb_registry_quantize_bfp_count;

/* The kernel of an op that has no ranking (every op but gemm): among the rows of table[0, count),
 * row_bytes apart, that `matches` accepts for key and whose ISA (the const char * at isa_offset)
 * the CPU runs, the first SIMD one, else the first generic one; NULL if there is none. */
const void *lb_registry_first_runnable(const void *table, size_t count, size_t row_bytes,
                                       size_t isa_offset,
                                       int (*matches)(const void *row, const void *key),
                                       const void *key);

#endif
