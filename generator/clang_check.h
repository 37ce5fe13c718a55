/* The libclang check of generated files before anything is written (issue 2, point 2). */
#ifndef LB_GEN_CLANG_CHECK_H
#define LB_GEN_CLANG_CHECK_H

#include "emit.h"
#include "target.h"

/* Parses every .c of files for the target and CPU, with every .h of files as an unsaved file.
 * Prints each warning or error as template:line: error: ... (or the generated file and line
 * where no template line applies) and returns the number of diagnostics. */
size_t lb_gen_check_files(const lb_gen_files *files, const lb_gen_target *target, const char *cpu,
                          const char *include_dir);

#endif
