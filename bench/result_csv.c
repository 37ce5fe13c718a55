/* Google Benchmark's CSV file: context lines ("key: value", among them the lowbit_* entries of
 * lowbit-bench-gemm), a header line from "name," on, then one line per run or aggregate. */
#define _POSIX_C_SOURCE 200809L

#include "result_csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LBC_MAX_FIELDS = 64, LBC_MAX_PAIRS = 256 };

/* One row while its lines are read: the _median aggregate when the file has it, else the plain
 * repetitions whose median is taken at the end. */
typedef struct row_builder {
  lbc_row row;
  int has_median;
  double *samples, *shares;
  size_t sample_count;
} row_builder;

typedef struct reader {
  const char *path;
  char *error;
  size_t error_size;
  int line;
  size_t columns;
  int name_col, real_col, cpu_col, label_col, error_col, message_col, ops_col, pairs_col;
  row_builder *rows;
  size_t count;
  char *cpu, *shape, *threads;
} reader;

static int fail(reader *r, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int fail(reader *r, const char *format, ...) {
  const int n = r->line > 0 ? snprintf(r->error, r->error_size, "%s:%d: ", r->path, r->line)
                            : snprintf(r->error, r->error_size, "%s: ", r->path);
  if (n >= 0 && (size_t)n < r->error_size) {
    va_list args;
    va_start(args, format);
    vsnprintf(r->error + n, r->error_size - (size_t)n, format, args);
    va_end(args);
  }
  return 0;
}

static char *copy_text(const char *text) {
  const size_t n = strlen(text) + 1;
  char *copy = malloc(n);
  if (copy != NULL) {
    memcpy(copy, text, n);
  }
  return copy;
}

/* Splits a CSV line in place, removing the quotes ("" inside quotes is one "). */
static int split_fields(char *line, char **fields, size_t *count) {
  char *in = line, *out = line;
  *count = 0;
  for (;;) {
    if (*count == LBC_MAX_FIELDS) {
      return 0;
    }
    fields[(*count)++] = out;
    if (*in == '"') {
      in++;
      for (;;) {
        if (*in == '\0') {
          return 0;
        }
        if (*in == '"' && in[1] == '"') {
          *out++ = '"';
          in += 2;
        } else if (*in == '"') {
          in++;
          break;
        } else {
          *out++ = *in++;
        }
      }
      if (*in != ',' && *in != '\0') {
        return 0;
      }
    } else {
      while (*in != ',' && *in != '\0') {
        *out++ = *in++;
      }
    }
    const int more = *in == ',';
    *out++ = '\0';
    if (!more) {
      return 1;
    }
    in++;
  }
}

static int column(char **fields, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(fields[i], name) == 0) {
      return (int)i;
    }
  }
  return -1;
}

static int read_header(reader *r, char *line) {
  char *fields[LBC_MAX_FIELDS];
  if (!split_fields(line, fields, &r->columns)) {
    return fail(r, "malformed CSV header");
  }
  static const char *const names[] = {"name",           "real_time",     "cpu_time", "label",
                                      "error_occurred", "error_message", "OPS",      "pairs"};
  int *const cols[] = {&r->name_col,  &r->real_col,    &r->cpu_col, &r->label_col,
                       &r->error_col, &r->message_col, &r->ops_col, &r->pairs_col};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    *cols[i] = column(fields, r->columns, names[i]);
    if (*cols[i] < 0) {
      return fail(r, "the header has no column '%s': not a CSV result of lowbit-bench-gemm",
                  names[i]);
    }
  }
  return 1;
}

static int ends_with(const char *text, size_t length, const char *suffix) {
  const size_t n = strlen(suffix);
  return length >= n && memcmp(text + length - n, suffix, n) == 0;
}

/* A segment Google Benchmark appends to a registered name: "repeats:5", "threads:1",
 * "real_time". */
static int is_run_option(const char *segment, size_t length) {
  static const char *const timers[] = {"real_time", "manual_time", "process_time"};
  if (memchr(segment, ':', length) != NULL) {
    return 1;
  }
  for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
    if (length == strlen(timers[i]) && strncmp(segment, timers[i], length) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Cuts Google Benchmark's suffixes off a run name in place: "A3W2/bitserial/repeats:5/real_time"
 * becomes "A3W2/bitserial". Returns 1 for the _median aggregate, 0 for a plain run, -1 for the
 * other aggregates. */
static int cut_run_name(char *name) {
  size_t length = strlen(name);
  int kind = 0;
  if (ends_with(name, length, "_median")) {
    kind = 1;
    length -= strlen("_median");
  } else if (ends_with(name, length, "_mean") || ends_with(name, length, "_stddev") ||
             ends_with(name, length, "_cv")) {
    return -1;
  }
  name[length] = '\0';
  for (char *slash = strchr(name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    if (is_run_option(slash + 1, strcspn(slash + 1, "/"))) {
      *slash = '\0';
      break;
    }
  }
  return kind;
}

static row_builder *find_row(reader *r, const char *name) {
  for (size_t i = 0; i < r->count; i++) {
    if (strcmp(r->rows[i].row.name, name) == 0) {
      return &r->rows[i];
    }
  }
  return NULL;
}

static row_builder *add_row(reader *r, const char *name, const char *kernel, unsigned pairs) {
  row_builder *grown = realloc(r->rows, (r->count + 1) * sizeof *grown);
  if (grown == NULL) {
    return NULL;
  }
  r->rows = grown;
  row_builder *b = &r->rows[r->count];
  memset(b, 0, sizeof *b);
  b->row.name = copy_text(name);
  b->row.kernel = copy_text(kernel);
  if (b->row.name == NULL || b->row.kernel == NULL) {
    free(b->row.name);
    free(b->row.kernel);
    return NULL;
  }
  b->row.pairs = pairs;
  b->row.line = r->line;
  r->count++;
  return b;
}

static int read_run(reader *r, char *line) {
  char *fields[LBC_MAX_FIELDS];
  size_t count;
  if (!split_fields(line, fields, &count)) {
    return fail(r, "malformed CSV line");
  }
  const char *name = fields[0];
  /* A failed run is written short, without its counters: only its message is reliable. */
  if (count != r->columns) {
    for (size_t i = 1; i < count; i++) {
      if (strcmp(fields[i], "true") == 0) {
        return fail(r, "benchmark %s failed: %s", name, fields[count - 1]);
      }
    }
    return fail(r, "%zu fields, but the header has %zu", count, r->columns);
  }
  if (strcmp(fields[r->error_col], "true") == 0) {
    return fail(r, "benchmark %s failed: %s", name, fields[r->message_col]);
  }
  const int kind = cut_run_name(fields[r->name_col]);
  if (kind < 0) {
    return 1;
  }
  name = fields[r->name_col];
  char *end;
  errno = 0;
  const double ops = strtod(fields[r->ops_col], &end);
  if (*fields[r->ops_col] == '\0' || *end != '\0' || errno != 0 || !isfinite(ops) || ops <= 0) {
    return fail(r, "OPS '%s' of %s is not a positive rate", fields[r->ops_col], name);
  }
  const unsigned long pairs = strtoul(fields[r->pairs_col], &end, 10);
  if (*fields[r->pairs_col] == '\0' || *end != '\0' || pairs > LBC_MAX_PAIRS) {
    return fail(r, "pairs '%s' of %s is not a plane pair count", fields[r->pairs_col], name);
  }
  const double real_time = strtod(fields[r->real_col], &end);
  const int real_ok = *end == '\0' && real_time > 0;
  const double cpu_time = strtod(fields[r->cpu_col], &end);
  if (!real_ok || *end != '\0' || !(cpu_time >= 0)) {
    return fail(r, "real_time '%s' or cpu_time '%s' of %s is not a time", fields[r->real_col],
                fields[r->cpu_col], name);
  }
  const double share = cpu_time / real_time;
  const char *kernel = fields[r->label_col];
  if (*kernel == '\0') {
    return fail(r, "%s has no label naming its kernel", name);
  }
  row_builder *b = find_row(r, name);
  if (b == NULL) {
    b = add_row(r, name, kernel, (unsigned)pairs);
    if (b == NULL) {
      return fail(r, "out of memory");
    }
  } else if (strcmp(b->row.kernel, kernel) != 0 || b->row.pairs != pairs) {
    return fail(r, "%s ran %s with %lu pairs, but %s with %u on line %d", name, kernel, pairs,
                b->row.kernel, b->row.pairs, b->row.line);
  }
  if (kind == 1) {
    if (b->has_median) {
      return fail(r, "a second median of %s (the first on line %d)", name, b->row.line);
    }
    b->has_median = 1;
    b->row.ops = ops;
    b->row.cpu_share = share;
    b->row.line = r->line;
    return 1;
  }
  double *grown = realloc(b->samples, (b->sample_count + 1) * sizeof *grown);
  if (grown != NULL) {
    b->samples = grown;
  }
  double *grown_shares = realloc(b->shares, (b->sample_count + 1) * sizeof *grown_shares);
  if (grown_shares != NULL) {
    b->shares = grown_shares;
  }
  if (grown == NULL || grown_shares == NULL) {
    return fail(r, "out of memory");
  }
  b->samples[b->sample_count] = ops;
  b->shares[b->sample_count++] = share;
  return 1;
}

static int compare_doubles(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static double median(double *values, size_t count) {
  qsort(values, count, sizeof *values, compare_doubles);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* "key: value" lines of the context; the value is copied once. */
static int read_context(reader *r, const char *line, const char *key, char **value) {
  const size_t n = strlen(key);
  if (strncmp(line, key, n) != 0 || strncmp(line + n, ": ", 2) != 0) {
    return 1;
  }
  if (*value != NULL) {
    return fail(r, "a second '%s:' line", key);
  }
  *value = copy_text(line + n + 2);
  return *value != NULL || fail(r, "out of memory");
}

static int read_lines(reader *r, FILE *file) {
  char *line = NULL;
  size_t capacity = 0;
  ssize_t length;
  int header = 0, ok = 1;
  while (ok && (length = getline(&line, &capacity, file)) >= 0) {
    r->line++;
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
      line[--length] = '\0';
    }
    if (header) {
      ok = length == 0 || read_run(r, line);
    } else if (strncmp(line, "name,", 5) == 0) {
      ok = read_header(r, line);
      header = 1;
    } else {
      ok = read_context(r, line, "lowbit_cpu", &r->cpu) &&
           read_context(r, line, "lowbit_shape", &r->shape) &&
           read_context(r, line, "lowbit_threads", &r->threads);
    }
  }
  free(line);
  if (!ok) {
    return 0;
  }
  r->line = 0;
  if (ferror(file)) {
    return fail(r, "%s", strerror(errno));
  }
  if (!header) {
    return fail(r, "no CSV header line: not a result of lowbit-bench-gemm "
                   "--benchmark_out_format=csv");
  }
  const char *const keys[] = {"lowbit_cpu", "lowbit_shape", "lowbit_threads"};
  const char *const values[] = {r->cpu, r->shape, r->threads};
  for (size_t i = 0; i < 3; i++) {
    if (values[i] == NULL) {
      return fail(r, "no '%s:' line: not a result of lowbit-bench-gemm", keys[i]);
    }
  }
  if (r->count == 0) {
    return fail(r, "no benchmark rows");
  }
  return 1;
}

static void free_reader(reader *r) {
  for (size_t i = 0; i < r->count; i++) {
    free(r->rows[i].row.name);
    free(r->rows[i].row.kernel);
    free(r->rows[i].samples);
    free(r->rows[i].shares);
  }
  free(r->rows);
  free(r->cpu);
  free(r->shape);
  free(r->threads);
}

int lbc_read_result(const char *path, lbc_result *result, char *error, size_t size) {
  memset(result, 0, sizeof *result);
  reader r = {.path = path, .error = error, .error_size = size};
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    return fail(&r, "%s", strerror(errno));
  }
  const int ok = read_lines(&r, file);
  fclose(file);
  lbc_row *rows = ok ? malloc(r.count * sizeof *rows) : NULL;
  if (ok && rows == NULL) {
    fail(&r, "out of memory");
  }
  if (rows == NULL) {
    free_reader(&r);
    return 0;
  }
  for (size_t i = 0; i < r.count; i++) {
    row_builder *b = &r.rows[i];
    rows[i] = b->row;
    if (!b->has_median) {
      rows[i].ops = median(b->samples, b->sample_count);
      rows[i].cpu_share = median(b->shares, b->sample_count);
    }
    free(b->samples);
    free(b->shares);
  }
  free(r.rows);
  *result = (lbc_result){path, r.cpu, r.shape, r.threads, rows, r.count};
  return 1;
}

void lbc_free_result(lbc_result *result) {
  for (size_t i = 0; i < result->count; i++) {
    free(result->rows[i].name);
    free(result->rows[i].kernel);
  }
  free(result->rows);
  free(result->cpu);
  free(result->shape);
  free(result->threads);
  memset(result, 0, sizeof *result);
}
