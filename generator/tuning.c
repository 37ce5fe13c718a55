#include "tuning.h"

#include <string.h>

#include "data_file.h"
#include "util.h"

#define DEFAULT_CPU "default"
/* Plane pairs of the widest operands, 16 x 16 bits. */
#define MAX_PAIRS 256ull

/* The ranking criteria, as the data files and as the runtime (runtime/src/tuning.h) name them. */
static const struct {
  const char *name, *enumerator;
} criteria[] = {
    {"simd", "LB_RANK_SIMD"},
    {"xor", "LB_RANK_XOR"},
    {"specialized", "LB_RANK_SPECIALIZED"},
    {"narrow", "LB_RANK_NARROW"},
};
#define CRITERIA (sizeof criteria / sizeof criteria[0])

/* The keys of a .tuning line after cpu=; the counts come first. */
enum { L1D, L2, KC, MC, NC, RANK, KEYS };
static const char *const key_names[KEYS] = {"l1d", "l2", "kc", "mc", "nc", "rank"};

typedef struct tuning_row {
  const char *cpu;
  int line;
  int given[KEYS];
  unsigned long long count[RANK]; /* l1d .. nc; 0 for auto */
  size_t rank[CRITERIA];          /* indices into criteria, most important first */
  size_t rank_count;
} tuning_row;

typedef struct crossover_row {
  const char *cpu, *isa;
  unsigned long long pairs;
  int line;
} crossover_row;

static char *parse_rank(const lb_gen_data_file *file, int line, const char *value,
                        tuning_row *row) {
  for (const char *start = value;; start++) {
    size_t length = strcspn(start, ",");
    size_t c = 0;
    while (c < CRITERIA &&
           (strlen(criteria[c].name) != length || strncmp(criteria[c].name, start, length) != 0)) {
      c++;
    }
    if (c == CRITERIA) {
      return lb_gen_error_at(file->path, line,
                             "rank: unknown criterion '%.*s' (simd, xor, specialized, narrow)",
                             (int)length, start);
    }
    for (size_t i = 0; i < row->rank_count; i++) {
      if (row->rank[i] == c) {
        return lb_gen_error_at(file->path, line, "rank: %s is listed twice", criteria[c].name);
      }
    }
    row->rank[row->rank_count++] = c;
    start += length;
    if (!*start) {
      return NULL;
    }
  }
}

static char *parse_tuning_line(const lb_gen_data_file *file, const lb_gen_data_line *line,
                               tuning_row *row) {
  const char *values[KEYS];
  char *error = lb_gen_data_keys(file, line, key_names, KEYS, "l1d, l2, kc, mc, nc, rank", values);
  for (size_t k = 0; !error && k < KEYS; k++) {
    const char *key = key_names[k], *value = values[k];
    row->given[k] = value != NULL;
    if (!value) {
      continue;
    }
    if (k == RANK) {
      error = parse_rank(file, line->number, value, row);
      if (error) {
        return error;
      }
    } else if (k >= KC && strcmp(value, "auto") == 0) {
      row->count[k] = 0;
    } else if (!lb_gen_data_number(value, k <= L2, &row->count[k]) || row->count[k] == 0) {
      return lb_gen_error_at(file->path, line->number, "%s=%s: expected %s", key, value,
                             k <= L2 ? "bytes from 1 to below 1G, with an optional K or M"
                                     : "auto or a count from 1 to below 2^30");
    }
  }
  return error;
}

static char *load_tuning(const lb_gen_data_file *file, tuning_row **out) {
  tuning_row *rows = lb_gen_alloc(file->count * sizeof *rows);
  *out = rows;
  const tuning_row *fallback = NULL;
  for (size_t i = 0; i < file->count; i++) {
    tuning_row *row = &rows[i];
    char *error = lb_gen_data_cpu_of(file, &file->lines[i], &row->cpu);
    if (error) {
      return error;
    }
    row->line = file->lines[i].number;
    for (size_t j = 0; j < i; j++) {
      if (strcmp(rows[j].cpu, row->cpu) == 0) {
        return lb_gen_error_at(file->path, row->line, "cpu=%s is given twice (first on line %d)",
                               row->cpu, rows[j].line);
      }
    }
    error = parse_tuning_line(file, &file->lines[i], row);
    if (error) {
      return error;
    }
    if (strcmp(row->cpu, DEFAULT_CPU) == 0) {
      fallback = row;
    }
  }
  if (!fallback) {
    return lb_gen_error_at(file->path, file->end_line, "no cpu=" DEFAULT_CPU " line");
  }
  for (size_t k = 0; k < KEYS; k++) {
    if (!fallback->given[k]) {
      return lb_gen_error_at(file->path, fallback->line,
                             "cpu=" DEFAULT_CPU " must give %s=", key_names[k]);
    }
  }
  for (size_t i = 0; i < file->count; i++) {
    for (size_t k = 0; k < RANK; k++) {
      if (!rows[i].given[k]) {
        rows[i].count[k] = fallback->count[k];
      }
    }
    if (!rows[i].given[RANK]) {
      memcpy(rows[i].rank, fallback->rank, sizeof rows[i].rank);
      rows[i].rank_count = fallback->rank_count;
    }
  }
  return NULL;
}

static const char crossover_format[] =
    "expected cpu=<micro-architecture|default> isa=<isa> pairs=<N>";

static char *load_crossover(const lb_gen_data_file *file, const lb_gen_target *target,
                            crossover_row **out) {
  crossover_row *rows = lb_gen_alloc(file->count * sizeof *rows);
  *out = rows;
  for (size_t i = 0; i < file->count; i++) {
    const lb_gen_data_line *line = &file->lines[i];
    crossover_row *row = &rows[i];
    row->line = line->number;
    char *error = lb_gen_data_cpu_of(file, line, &row->cpu);
    if (error) {
      return error;
    }
    if (line->words.count != 3) {
      return lb_gen_error_at(file->path, line->number, "%s", crossover_format);
    }
    char *isa_key = line->words.items[1], *pairs_key = line->words.items[2];
    const char *pairs = NULL;
    error = lb_gen_data_value_of(file, line->number, isa_key, &row->isa);
    if (!error) {
      error = lb_gen_data_value_of(file, line->number, pairs_key, &pairs);
    }
    if (error) {
      return error;
    }
    if (strcmp(isa_key, "isa") != 0 || strcmp(pairs_key, "pairs") != 0) {
      return lb_gen_error_at(file->path, line->number, "%s", crossover_format);
    }
    if (!lb_gen_data_number(pairs, 0, &row->pairs) || row->pairs > MAX_PAIRS) {
      return lb_gen_error_at(file->path, line->number, "pairs=%s: expected 0..%llu", pairs,
                             MAX_PAIRS);
    }
    if (!lb_gen_strings_contains(&target->isas, row->isa)) {
      return lb_gen_error_at(file->path, line->number, "isa=%s: not an isa of target %s", row->isa,
                             target->name);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(rows[j].cpu, row->cpu) == 0 && strcmp(rows[j].isa, row->isa) == 0) {
        return lb_gen_error_at(file->path, row->line,
                               "cpu=%s isa=%s is given twice (first on line %d)", row->cpu,
                               row->isa, rows[j].line);
      }
    }
  }
  for (size_t t = 0; t < target->isas.count; t++) {
    size_t i = 0;
    while (i < file->count && (strcmp(rows[i].cpu, DEFAULT_CPU) != 0 ||
                               strcmp(rows[i].isa, target->isas.items[t]) != 0)) {
      i++;
    }
    if (i == file->count) {
      return lb_gen_error_at(file->path, file->end_line, "no 'cpu=" DEFAULT_CPU " isa=%s' line",
                             target->isas.items[t]);
    }
  }
  return NULL;
}

static void add(lb_gen_file *file, const char *line) {
  lb_gen_text_add_line(&file->content, line, NULL, 0);
}

static void add_owned(lb_gen_file *file, char *line) {
  add(file, line);
  lb_gen_free(line);
}

static char *count_literal(unsigned long long count) {
  return count ? lb_gen_format("%llu", count) : lb_gen_strdup("LB_TUNING_AUTO");
}

static void add_tuning_row(lb_gen_file *file, const tuning_row *row) {
  add_owned(file, lb_gen_format("    {.cpu = \"%s\", .l1d_bytes = %llu, .l2_bytes = %llu,",
                                row->cpu, row->count[L1D], row->count[L2]));
  char *kc = count_literal(row->count[KC]), *mc = count_literal(row->count[MC]),
       *nc = count_literal(row->count[NC]);
  add_owned(file, lb_gen_format("     .kc = %s, .mc = %s, .nc = %s,", kc, mc, nc));
  lb_gen_free(kc);
  lb_gen_free(mc);
  lb_gen_free(nc);
  lb_gen_buf rank = {0};
  for (size_t i = 0; i < row->rank_count; i++) {
    lb_gen_buf_printf(&rank, "%s%s", i ? ", " : "", criteria[row->rank[i]].enumerator);
  }
  add_owned(file,
            lb_gen_format("     .rank_count = %zu, .rank = {%s}},", row->rank_count, rank.data));
  lb_gen_free(rank.data);
}

char *lb_gen_tuning_parse(lb_gen_files *files, const lb_gen_target *target,
                          const lb_gen_text_file *tuning_text,
                          const lb_gen_text_file *crossover_text) {
  lb_gen_data_file tuning_file, crossover_file;
  tuning_row *tuning = NULL;
  crossover_row *crossover = NULL;
  char *error = lb_gen_data_file_parse(tuning_text, &tuning_file);
  if (!error) {
    error = lb_gen_data_file_parse(crossover_text, &crossover_file);
  }
  if (!error) {
    error = load_tuning(&tuning_file, &tuning);
  }
  if (!error) {
    error = load_crossover(&crossover_file, target, &crossover);
  }
  if (error) {
    return error;
  }
  size_t tuning_count = tuning_file.count, crossover_count = crossover_file.count;

  char *source = lb_gen_format("%s and %s", lb_gen_source_relative(tuning_file.path),
                               lb_gen_source_relative(crossover_file.path));
  lb_gen_file *file = lb_gen_files_add(files, LB_GEN_TUNING_FILE, "generic", source);
  lb_gen_free(source);
  add(file, "#include <stddef.h>");
  add(file, "");
  add(file, "#include \"tuning.h\"");
  add(file, "");
  add(file, "/* One row per cpu= line; what a line leaves out comes from cpu=" DEFAULT_CPU ". */");
  add(file, "const lb_tuning_row lb_tuning_rows[] = {");
  for (size_t i = 0; i < tuning_count; i++) {
    add_tuning_row(file, &tuning[i]);
  }
  add(file, "};");
  add(file, "const size_t lb_tuning_row_count = sizeof lb_tuning_rows / sizeof lb_tuning_rows[0];");
  add(file, "");
  /* Never empty (C has no empty arrays): load_crossover wants a default row per isa. */
  add(file, "const lb_crossover_row lb_crossover_rows[] = {");
  for (size_t i = 0; i < crossover_count; i++) {
    add_owned(file, lb_gen_format("    {.cpu = \"%s\", .isa = \"%s\", .pairs = %llu},",
                                  crossover[i].cpu, crossover[i].isa, crossover[i].pairs));
  }
  add(file, "};");
  add(file, "const size_t lb_crossover_row_count =");
  add(file, "    sizeof lb_crossover_rows / sizeof lb_crossover_rows[0];");
  return NULL;
}

static lb_gen_text_file read_text_file(const char *dir, const char *name, const char *suffix) {
  lb_gen_text_file file = {lb_gen_format("%s/%s%s", dir, name, suffix), NULL, 0};
  file.text = lb_gen_read_file(file.path, &file.length);
  if (!file.text) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read %s (every target has one)", file.path);
  }
  return file;
}

void lb_gen_emit_tuning(lb_gen_files *files, const char *targets_dir, const lb_gen_target *target) {
  lb_gen_text_file tuning = read_text_file(targets_dir, target->name, ".tuning");
  lb_gen_text_file crossover = read_text_file(targets_dir, target->name, ".crossover");
  char *error = lb_gen_tuning_parse(files, target, &tuning, &crossover);
  if (error) {
    lb_gen_exit_with(LB_GEN_EXIT_INPUT, error);
  }
}
