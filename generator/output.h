/* Writing the generated files: all or nothing, and only what changed. */
#ifndef LB_GEN_OUTPUT_H
#define LB_GEN_OUTPUT_H

#include "emit.h"

/* Creates dir if needed, writes every file whose content differs from what is on disk to a
 * temporary file beside it, then renames them all into place. On any failure it removes its
 * temporary files and ends the program with status 2, leaving the folder as it was. */
void lb_gen_write_files(const lb_gen_files *files, const char *dir);

#endif
