/* Per-CPU data of a target: targets/<t>.tuning (cache sizes, cache blocks, kernel ranking) and
 * targets/<t>.crossover (where LB_AUTO leaves bit-serial kernels), checked and written as the
 * runtime's tables (docs/design.md, "Per-CPU data"). */
#ifndef LB_GEN_TUNING_H
#define LB_GEN_TUNING_H

#include "data_file.h"
#include "emit.h"
#include "target.h"

#define LB_GEN_TUNING_FILE "lb_tuning.c"

/* Parses and checks the .tuning and .crossover texts of target and adds lb_tuning.c; NULL, or the
 * error (lb_gen_error_at) of the first bad line or byte, files then untouched. */
char *lb_gen_tuning_parse(lb_gen_files *files, const lb_gen_target *target,
                          const lb_gen_text_file *tuning, const lb_gen_text_file *crossover);
/* Adds lb_tuning.c from <targets_dir>/<name>.tuning and <name>.crossover of the target. A missing
 * or malformed file ends the program with its path and line (status 2). */
void lb_gen_emit_tuning(lb_gen_files *files, const char *targets_dir, const lb_gen_target *target);

#endif
