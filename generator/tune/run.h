/* Child processes of lowbit-tune: one command with its output captured, and a pool that runs
 * tasks in forked children, at most `jobs` at a time. */
#ifndef LB_TUNE_RUN_H
#define LB_TUNE_RUN_H

#include <stddef.h>

/* Runs argv[0] (looked up in PATH) with argv, environment entries env (NAME=VALUE, NULL-ended;
 * NULL for none) added to lowbit-tune's; its stdout into *output (NUL-terminated, tracked memory)
 * unless output is NULL, stdout (when not captured) and stderr appended to log_path. Returns the
 * exit status, or -1 when it could not start or ended on a signal. */
int tune_run(char *const argv[], char *const env[], const char *log_path, char **output);

/* Runs task(items + i * item_size) for i in [0, count), each in a forked child, at most jobs at a
 * time, and stores each child's exit status (-1 for a signal) in statuses[i]. A task passes its
 * results back through files. */
typedef int (*tune_task)(void *item);
void tune_pool(size_t count, size_t jobs, tune_task task, void *items, size_t item_size,
               int *statuses);

/* Set by SIGINT or SIGTERM: the search stops after the candidates in flight, which are not
 * recorded, and the journal keeps everything scored before. */
extern volatile int tune_interrupted;
void tune_catch_interrupts(void);

#endif
