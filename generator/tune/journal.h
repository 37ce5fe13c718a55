/* The journal of a tuning run: the inputs it was started with, then one line per schedule scored
 * (or refused), rewritten whole through a temporary file, fsync and rename after each result, so
 * that an interrupted run (Ctrl-C, kill -9, a power cut) resumes from it with nothing lost but
 * the candidates in flight. */
#ifndef LB_TUNE_JOURNAL_H
#define LB_TUNE_JOURNAL_H

#include <stddef.h>

typedef struct tune_result {
  char *key;   /* `<a>:<w> kmax=<class> <schedule text>` */
  int refused; /* the generator or the runtime does not take the kernel */
  double score;
} tune_result;

typedef struct tune_journal {
  char *path;
  char *inputs; /* the inputs line */
  tune_result *results;
  size_t count;
} tune_journal;

/* Opens path: an existing journal must have been written for the same inputs (NULL, or the
 * error as one line); a missing one starts empty. With inputs NULL, reads another run's journal,
 * which must exist, whatever its inputs. */
char *tune_journal_open(tune_journal *journal, const char *path, const char *inputs);
const tune_result *tune_journal_find(const tune_journal *journal, const char *key);
/* Records a result and rewrites the journal; 0 when it cannot be written. */
int tune_journal_add(tune_journal *journal, const char *key, int refused, double score);

/* Writes text to path through path.tmp, fsync and rename: readers see the old file or the new,
 * never a part. */
int tune_write_atomic(const char *path, const char *text);

#endif
