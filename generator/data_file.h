/* The per-CPU data files of a target (.tuning, .crossover, .schedules): lines of blank-separated
 * key=value words, `#` comments, and errors that name the file and line. */
#ifndef LB_GEN_DATA_FILE_H
#define LB_GEN_DATA_FILE_H

#include <stddef.h>

#include "util.h"

/* The runtime's probe holds a micro-architecture name in 64 bytes (runtime/src/cpu.h). */
#define LB_GEN_MAX_CPU_NAME 63
/* Sizes and blocks stay below 1 GiB: size_t holds them on 32-bit ARM. */
#define LB_GEN_MAX_COUNT (1ull << 30)

/* A data file's text (length bytes) and the path its errors name. */
typedef struct lb_gen_text_file {
  const char *path;
  const char *text;
  size_t length;
} lb_gen_text_file;

/* A line that holds more than a comment: its number and its words. */
typedef struct lb_gen_data_line {
  int number;
  lb_gen_strings words;
} lb_gen_data_line;

typedef struct lb_gen_data_file {
  char *path;
  lb_gen_data_line *lines;
  size_t count;
  int end_line; /* where a missing line is reported */
} lb_gen_data_file;

/* The lines of a text into *file; NULL, or the error at its first byte that is not text. */
char *lb_gen_data_file_parse(const lb_gen_text_file *text, lb_gen_data_file *file);
/* Cuts a key=value word at its '=' and points *value at the value; NULL or the error. */
char *lb_gen_data_value_of(const lb_gen_data_file *file, int line, char *word,
                           const char **value);
/* The key=value words of a line after its first into values[k] for names[k] (count keys; those
 * not given stay NULL); NULL, or the error of a malformed word, a key given twice or one not in
 * names (the error lists `known`). */
char *lb_gen_data_keys(const lb_gen_data_file *file, const lb_gen_data_line *line,
                       const char *const *names, size_t count, const char *known,
                       const char **values);
/* The cpu= word that starts every line, checked to be a name the runtime's probe can hold. */
char *lb_gen_data_cpu_of(const lb_gen_data_file *file, const lb_gen_data_line *line,
                         const char **cpu);
/* A decimal number below LB_GEN_MAX_COUNT, with K (2^10) or M (2^20) after it when size_suffix;
 * 0 when text is not one. */
int lb_gen_data_number(const char *text, int size_suffix, unsigned long long *value);

#endif
