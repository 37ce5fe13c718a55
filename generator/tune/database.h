/* Writing the schedule database (targets/<target>.<cpu>.schedules, docs/design.md section 32):
 * the entries of the pairs just tuned replace those pairs' entries, every other entry stays with
 * the comment lines above it, and the file is written whole through a temporary file. */
#ifndef LB_TUNE_DATABASE_H
#define LB_TUNE_DATABASE_H

#include <stddef.h>

typedef struct tune_entry {
  char *pair;    /* `a=2u w=2u` */
  char *comment; /* the `# ...` lines above the entry, each ending in a newline */
  char *line;    /* the entry without its newline */
} tune_entry;

/* header: the file's first comment block (each line `# ...\n`). Entries are sorted by pair and
 * then as given (increasing kmax). NULL, or the error as one line. */
char *tune_database_merge(const char *path, const char *header, const tune_entry *entries,
                          size_t count);

#endif
