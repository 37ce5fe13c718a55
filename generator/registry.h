/* lb_registry.c: the table of lb_gemm_kernel_info of a target (docs/design.md, section 9). */
#ifndef LB_GEN_REGISTRY_H
#define LB_GEN_REGISTRY_H

#include "emit.h"
#include "kernel.h"

#define LB_GEN_REGISTRY_FILE "lb_registry.c"

/* Adds lb_registry.c listing the resolved GEMM kernels in order; spec_path names its source. */
void lb_gen_emit_registry(lb_gen_files *files, const lb_gen_kernel *const *kernels, size_t count,
                          const char *spec_path);

#endif
