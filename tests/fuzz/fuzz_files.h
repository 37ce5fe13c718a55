/* What the harnesses of the file readers share: the input written to a file of a private temporary
 * folder, since those readers take paths. */
#ifndef LB_FUZZ_FILES_H
#define LB_FUZZ_FILES_H

#include <stddef.h>

/* <folder>/<name>, the folder made on the first call (removed at exit); "" on failure. */
const char *lb_fuzz_path(const char *name);
/* Writes bytes to path, plain or (gzip) through zlib; aborts when the system refuses. */
void lb_fuzz_write(const char *path, const void *bytes, size_t size, int gzip);

#endif
