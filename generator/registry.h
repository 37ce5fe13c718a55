/* lb_registry.c: the registry tables of a target, one per op that has one (docs/design.md,
 * section 9). */
#ifndef LB_GEN_REGISTRY_H
#define LB_GEN_REGISTRY_H

#include "emit.h"
#include "kernel.h"

#define LB_GEN_REGISTRY_FILE "lb_registry.c"

/* Adds lb_registry.c: the headers of every kernel of the list and, for each op with a registry,
 * the rows of its kernels in list order; spec_path names its source. */
void lb_gen_emit_registry(lb_gen_files *files, const lb_gen_kernels *kernels,
                          const char *spec_path);

#endif
