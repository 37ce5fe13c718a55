/* lowbit-crossover: the LB_AUTO crossover of each bit-serial ISA, from result files of
 * lowbit-bench-gemm --crossover.
 *
 * Each "<config>/bitserial" row is paired with the "<config>/direct" row of the same run, so
 * that both rates saw the same machine state; a configuration's ratio is the median over the
 * runs. The crossover is the largest measured plane pair count up to which every configuration
 * has bit-serial >= direct: pair counts between the last win and the first loss are unmeasured,
 * and LB_AUTO gives them to the direct kernel.
 *
 * Usage: lowbit-crossover --target T [--cpu NAME] [--default] -o FILE RESULT.csv...
 * Writes FILE (temporary file, then rename), lines "cpu=<NAME> isa=<isa> pairs=<N>", and keeps
 * the lines of a previous FILE that these runs do not measure (another isa or CPU).
 * Exit status: 0 written, 1 FILE not written, 2 bad input, 3 a run lost its CPU to other work. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "result_csv.h"

enum { EXIT_WRITE = 1, EXIT_BAD_INPUT = 2, EXIT_BUSY = 3 };

/* A one-thread row runs on the calling thread, so its CPU time is its real time unless another
 * process took the CPU: Zen 3 under a parallel build gave 0.4 to 0.7, a quiet machine 0.96 to
 * 0.99. */
static const double min_cpu_share = 0.9;

static const char usage[] =
    "usage: lowbit-crossover --target T [--cpu NAME] [--default] -o FILE RESULT.csv...\n"
    "  RESULT.csv: lowbit-bench-gemm --crossover --benchmark_out=RESULT.csv "
    "--benchmark_out_format=csv\n"
    "  --cpu NAME: the CPU of the lines written (default: the name in parentheses of the runs'\n"
    "              lowbit_cpu, e.g. znver3); --default: also write the cpu=default lines\n"
    "  exit status 3: a one-thread run got under 90% of a CPU; measure again\n";

static _Noreturn void fail(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static _Noreturn void fail(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("lowbit-crossover: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(status);
}

static void *must_alloc(void *pointer) {
  if (pointer == NULL) {
    fail(EXIT_BAD_INPUT, "out of memory");
  }
  return pointer;
}

/* One configuration of one bit-serial ISA over the runs. */
typedef struct config {
  const char *isa;
  const char *name; /* "A3W2" */
  unsigned pairs;
  const char *bitserial_kernel, *direct_kernel;
  const char *first_path; /* where the kernels were first seen */
  double *ratios;         /* bit-serial rate / direct rate, one per run */
  size_t runs;
  double median, min, max;
} config;

typedef struct configs {
  config *items;
  size_t count;
} configs;

static int starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The ISA of a kernel from its name: what follows the double underscore (docs/design.md, 7). */
static const char *kernel_isa(const char *kernel) {
  const char *isa = strstr(kernel, "__");
  return isa != NULL && isa[2] != '\0' ? isa + 2 : NULL;
}

/* "<config>/bitserial" with a config before the slash. */
static int is_bitserial_row(const char *name) {
  const size_t n = strlen(name), suffix = strlen("/bitserial");
  return n > suffix && strcmp(name + n - suffix, "/bitserial") == 0;
}

static const lbc_row *find_row(const lbc_result *result, const char *name) {
  for (size_t i = 0; i < result->count; i++) {
    if (strcmp(result->rows[i].name, name) == 0) {
      return &result->rows[i];
    }
  }
  return NULL;
}

static config *find_config(configs *all, const char *isa, const char *name) {
  for (size_t i = 0; i < all->count; i++) {
    if (strcmp(all->items[i].isa, isa) == 0 && strcmp(all->items[i].name, name) == 0) {
      return &all->items[i];
    }
  }
  return NULL;
}

/* Adds one run's ratio of the configuration whose bit-serial row is `bitserial`. */
static void add_pairing(configs *all, const lbc_result *result, const lbc_row *bitserial) {
  const size_t config_length = strlen(bitserial->name) - strlen("/bitserial");
  char *name = must_alloc(malloc(config_length + sizeof "/direct"));
  memcpy(name, bitserial->name, config_length);
  strcpy(name + config_length, "/direct");
  const lbc_row *direct = find_row(result, name);
  if (direct == NULL) {
    fail(EXIT_BAD_INPUT, "%s:%d: %s has no %s row in the same run", result->path, bitserial->line,
         bitserial->name, name);
  }
  name[config_length] = '\0';
  const char *isa = kernel_isa(bitserial->kernel);
  if (!starts_with(bitserial->kernel, "lb_gemm_bitserial") || isa == NULL) {
    fail(EXIT_BAD_INPUT, "%s:%d: %s ran %s, not a bit-serial kernel", result->path, bitserial->line,
         bitserial->name, bitserial->kernel);
  }
  if (!starts_with(direct->kernel, "lb_gemm_direct")) {
    fail(EXIT_BAD_INPUT, "%s:%d: %s ran %s, not a direct kernel", result->path, direct->line,
         direct->name, direct->kernel);
  }
  if (strcmp(result->threads, "1") == 0) {
    const lbc_row *const both[] = {bitserial, direct};
    for (size_t i = 0; i < 2; i++) {
      if (both[i]->cpu_share < min_cpu_share) {
        fail(EXIT_BUSY,
             "%s:%d: %s had %.0f%% of a CPU (cpu_time / real_time): the machine was "
             "busy, measure again",
             result->path, both[i]->line, both[i]->name, 100 * both[i]->cpu_share);
      }
    }
  }
  if (bitserial->pairs != direct->pairs || bitserial->pairs == 0) {
    fail(EXIT_BAD_INPUT, "%s:%d: %s counts %u plane pairs, %s %u", result->path, direct->line,
         bitserial->name, bitserial->pairs, direct->name, direct->pairs);
  }
  config *c = find_config(all, isa, name);
  if (c == NULL) {
    all->items = must_alloc(realloc(all->items, (all->count + 1) * sizeof *all->items));
    c = &all->items[all->count++];
    *c = (config){.isa = isa,
                  .name = name,
                  .pairs = bitserial->pairs,
                  .bitserial_kernel = bitserial->kernel,
                  .direct_kernel = direct->kernel,
                  .first_path = result->path};
  } else {
    free(name);
    if (c->pairs != bitserial->pairs || strcmp(c->bitserial_kernel, bitserial->kernel) != 0 ||
        strcmp(c->direct_kernel, direct->kernel) != 0) {
      fail(EXIT_BAD_INPUT, "%s:%d: %s runs %s against %s (%u pairs), but %s in %s against %s",
           result->path, bitserial->line, c->name, bitserial->kernel, direct->kernel,
           bitserial->pairs, c->bitserial_kernel, c->first_path, c->direct_kernel);
    }
  }
  c->ratios = must_alloc(realloc(c->ratios, (c->runs + 1) * sizeof *c->ratios));
  c->ratios[c->runs++] = bitserial->ops / direct->ops;
}

static int compare_doubles(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static int compare_configs(const void *x, const void *y) {
  const config *a = x, *b = y;
  const int by_isa = strcmp(a->isa, b->isa);
  if (by_isa != 0) {
    return by_isa;
  }
  if (a->pairs != b->pairs) {
    return a->pairs < b->pairs ? -1 : 1;
  }
  return strcmp(a->name, b->name);
}

static void summarize(config *c) {
  qsort(c->ratios, c->runs, sizeof *c->ratios, compare_doubles);
  const size_t n = c->runs;
  c->median = n % 2 ? c->ratios[n / 2] : (c->ratios[n / 2 - 1] + c->ratios[n / 2]) / 2;
  c->min = c->ratios[0];
  c->max = c->ratios[n - 1];
}

/* The configurations of one ISA are items[first, end), sorted by pairs. */
static unsigned crossover(const configs *all, size_t first, size_t end) {
  unsigned pairs = 0;
  for (size_t i = first; i < end;) {
    size_t j = i;
    int wins = 1;
    for (; j < end && all->items[j].pairs == all->items[i].pairs; j++) {
      wins = wins && all->items[j].median >= 1.0;
    }
    if (!wins) {
      break;
    }
    pairs = all->items[i].pairs;
    i = j;
  }
  return pairs;
}

/* A name written into a key=value line: no spaces, no '=', not empty. */
static int is_token(const char *text) {
  if (*text == '\0') {
    return 0;
  }
  for (; *text != '\0'; text++) {
    if (!(*text >= 'a' && *text <= 'z') && !(*text >= 'A' && *text <= 'Z') &&
        !(*text >= '0' && *text <= '9') && strchr("._+-", *text) == NULL) {
      return 0;
    }
  }
  return 1;
}

/* "x86-64 avx2 (znver3)" or "... (znver3, LOWBIT_ISA=generic)" -> "znver3". */
static char *cpu_name(const char *description) {
  const char *open = strchr(description, '(');
  if (open == NULL) {
    return NULL;
  }
  const size_t length = strcspn(open + 1, ",)");
  char *name = must_alloc(malloc(length + 1));
  memcpy(name, open + 1, length);
  name[length] = '\0';
  return name;
}

/* The command line as a shell would take it back: arguments outside [A-Za-z0-9._/=+-] quoted. */
static void write_command(FILE *out, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const int plain = *arg != '\0' && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                                                  "VWXYZ0123456789._/=+-") == strlen(arg);
    fputs(i > 0 ? " " : "", out);
    if (plain) {
      fputs(arg, out);
      continue;
    }
    fputc('\'', out);
    for (; *arg != '\0'; arg++) {
      fputs(*arg == '\'' ? "'\\''" : (char[]){*arg, '\0'}, out);
    }
    fputc('\'', out);
  }
}

typedef struct options {
  const char *target, *cpu, *output;
  int with_default;
  char **results;
  int result_count;
} options;

/* Options and result files in any order. */
static options parse_options(int argc, char **argv) {
  options o = {0};
  o.results = must_alloc(calloc((size_t)argc, sizeof *o.results));
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg[0] != '-') {
      o.results[o.result_count++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--help") == 0) {
      fputs(usage, stdout);
      exit(0);
    }
    if (strcmp(arg, "--default") == 0) {
      o.with_default = 1;
      continue;
    }
    const char **value = strcmp(arg, "--target") == 0 ? &o.target
                         : strcmp(arg, "--cpu") == 0  ? &o.cpu
                         : strcmp(arg, "-o") == 0     ? &o.output
                                                      : NULL;
    if (value == NULL) {
      fail(EXIT_BAD_INPUT, "unknown option '%s' (--help)", arg);
    }
    if (i + 1 == argc) {
      fail(EXIT_BAD_INPUT, "%s needs a value", arg);
    }
    *value = argv[++i];
  }
  if (o.target == NULL || o.output == NULL) {
    fail(EXIT_BAD_INPUT, "%s is missing (--help)", o.target == NULL ? "--target" : "-o");
  }
  if (!is_token(o.target)) {
    fail(EXIT_BAD_INPUT, "bad --target '%s'", o.target);
  }
  if (o.cpu != NULL && (!is_token(o.cpu) || strcmp(o.cpu, "default") == 0)) {
    fail(EXIT_BAD_INPUT,
         "bad --cpu '%s' (a CPU name such as znver3; for the default row, "
         "--default)",
         o.cpu);
  }
  if (o.result_count == 0) {
    fail(EXIT_BAD_INPUT, "no result files (--help)");
  }
  return o;
}

/* The runs must be of one CPU, shape and thread count: a ratio of mixed runs means nothing. */
static void check_same_run(const lbc_result *first, const lbc_result *result) {
  const char *const what[] = {"CPU", "shape", "threads"};
  const char *const mine[] = {result->cpu, result->shape, result->threads};
  const char *const theirs[] = {first->cpu, first->shape, first->threads};
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(mine[i], theirs[i]) != 0) {
      fail(EXIT_BAD_INPUT, "%s: %s '%s', but %s has '%s'", result->path, what[i], mine[i],
           first->path, theirs[i]);
    }
  }
}

static void write_crossover(FILE *out, const options *o, int argc, char **argv,
                            const lbc_result *first, const char *cpu, const configs *all) {
  fputs("# LB_AUTO crossover: bit-serial while abits x wbits (plane pairs) <= pairs, direct "
        "beyond.\n# written by ",
        out);
  write_command(out, argc, argv);
  fprintf(out, "\n# target %s, CPU %s, shape %s (MxNxK), %s thread(s)\n", o->target, first->cpu,
          first->shape, first->threads);
  for (size_t first_of_isa = 0; first_of_isa < all->count;) {
    const char *isa = all->items[first_of_isa].isa;
    size_t end = first_of_isa;
    size_t runs = 0;
    for (; end < all->count && strcmp(all->items[end].isa, isa) == 0; end++) {
      runs = all->items[end].runs > runs ? all->items[end].runs : runs;
    }
    fprintf(out,
            "# %s, %zu run(s); config, pairs, bit-serial kernel, direct kernel, "
            "bit-serial/direct: median ratio (min..max over runs)\n",
            isa, runs);
    for (size_t i = first_of_isa; i < end; i++) {
      const config *c = &all->items[i];
      fprintf(out, "#   %-5s %2u  %-42s %-34s %.2fx (%.2f..%.2f", c->name, c->pairs,
              c->bitserial_kernel, c->direct_kernel, c->median, c->min, c->max);
      fprintf(out, c->runs < runs ? ", %zu runs)\n" : ")\n", c->runs);
    }
    const unsigned pairs = crossover(all, first_of_isa, end);
    fprintf(out, "cpu=%s isa=%s pairs=%u\n", cpu, isa, pairs);
    if (o->with_default) {
      fprintf(out, "cpu=default isa=%s pairs=%u\n", isa, pairs);
    }
    first_of_isa = end;
  }
}

/* Whether these runs write the line of (line_cpu, isa). */
static int measured(const char *line_cpu, const char *isa, const options *o, const char *cpu,
                    const configs *all) {
  int isa_measured = 0;
  for (size_t i = 0; i < all->count && !isa_measured; i++) {
    isa_measured = strcmp(all->items[i].isa, isa) == 0;
  }
  return isa_measured &&
         (strcmp(line_cpu, cpu) == 0 || (o->with_default && strcmp(line_cpu, "default") == 0));
}

/* Keeps the lines of the previous file at path that these runs do not measure (another isa of
 * the target, another CPU), so that rewriting the file after one machine's runs loses nothing. */
static void keep_unmeasured(FILE *out, const char *path, const options *o, const char *cpu,
                            const configs *all) {
  FILE *previous = fopen(path, "r");
  if (previous == NULL) {
    return;
  }
  char line[512], line_cpu[128], isa[64];
  unsigned pairs;
  int header = 0;
  while (fgets(line, sizeof line, previous) != NULL) {
    if (line[0] == '#' || sscanf(line, "cpu=%127s isa=%63s pairs=%u", line_cpu, isa, &pairs) != 3 ||
        measured(line_cpu, isa, o, cpu, all)) {
      continue;
    }
    if (!header) {
      fprintf(out, "# kept from the previous %s: not measured by these runs\n", path);
      header = 1;
    }
    fprintf(out, "cpu=%s isa=%s pairs=%u\n", line_cpu, isa, pairs);
  }
  fclose(previous);
}

static void write_file(const char *path, const options *o, int argc, char **argv,
                       const lbc_result *first, const char *cpu, const configs *all) {
  char *temporary = must_alloc(malloc(strlen(path) + sizeof ".XXXXXX"));
  sprintf(temporary, "%s.XXXXXX", path);
  const int fd = mkstemp(temporary);
  if (fd < 0) {
    fail(EXIT_WRITE, "cannot write %s: %s", path, strerror(errno));
  }
  FILE *out = fdopen(fd, "w");
  if (out == NULL) {
    const int saved = errno;
    close(fd);
    unlink(temporary);
    fail(EXIT_WRITE, "cannot write %s: %s", path, strerror(saved));
  }
  write_crossover(out, o, argc, argv, first, cpu, all);
  keep_unmeasured(out, path, o, cpu, all);
  const int written = !ferror(out);
  if (fclose(out) != 0 || !written || rename(temporary, path) != 0) {
    const int saved = errno;
    unlink(temporary);
    fail(EXIT_WRITE, "cannot write %s: %s", path, strerror(saved));
  }
  free(temporary);
}

int main(int argc, char **argv) {
  const options o = parse_options(argc, argv);
  lbc_result *results = must_alloc(calloc((size_t)o.result_count, sizeof *results));
  configs all = {0};
  for (int f = 0; f < o.result_count; f++) {
    char error[512];
    if (!lbc_read_result(o.results[f], &results[f], error, sizeof error)) {
      fail(EXIT_BAD_INPUT, "%s", error);
    }
    check_same_run(&results[0], &results[f]);
    size_t pairings = 0;
    for (size_t r = 0; r < results[f].count; r++) {
      const lbc_row *row = &results[f].rows[r];
      if (is_bitserial_row(row->name)) {
        add_pairing(&all, &results[f], row);
        pairings++;
      }
    }
    if (pairings == 0) {
      fail(EXIT_BAD_INPUT, "%s: no <config>/bitserial rows: run lowbit-bench-gemm --crossover",
           o.results[f]);
    }
  }
  char *cpu = o.cpu != NULL ? NULL : cpu_name(results[0].cpu);
  if (o.cpu == NULL && (cpu == NULL || !is_token(cpu) || strcmp(cpu, "default") == 0)) {
    fail(EXIT_BAD_INPUT, "%s: no CPU name in parentheses in lowbit_cpu '%s': give --cpu",
         results[0].path, results[0].cpu);
  }
  for (size_t i = 0; i < all.count; i++) {
    summarize(&all.items[i]);
  }
  qsort(all.items, all.count, sizeof *all.items, compare_configs);
  write_file(o.output, &o, argc, argv, &results[0], o.cpu != NULL ? o.cpu : cpu, &all);

  free(cpu);
  for (size_t i = 0; i < all.count; i++) {
    free((char *)all.items[i].name);
    free(all.items[i].ratios);
  }
  free(all.items);
  free(o.results);
  for (int f = 0; f < o.result_count; f++) {
    lbc_free_result(&results[f]);
  }
  free(results);
  return 0;
}
