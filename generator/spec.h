/* kernels.spec: one kernel per line, `op key=value ...` (docs/design.md, section 6). */
#ifndef LB_GEN_SPEC_H
#define LB_GEN_SPEC_H

#include "kernel.h"

typedef struct lb_gen_spec_kernel {
  lb_gen_kernel *kernel; /* unresolved */
  int line;
} lb_gen_spec_kernel;

typedef struct lb_gen_spec {
  lb_gen_spec_kernel *kernels;
  size_t count;
} lb_gen_spec;

/* Parses and checks every line of text (length bytes, read from path); NULL, or the error of the
 * first bad line or non-text byte (lb_gen_error_at), *spec then partly filled. */
char *lb_gen_spec_parse(const char *path, const char *text, size_t length, lb_gen_spec *spec);
/* Reads and parses path; a malformed line ends the program with status 2. */
lb_gen_spec lb_gen_spec_load(const char *path);

#endif
