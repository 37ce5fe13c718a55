#include "schedules.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SUFFIX ".schedules"

/* The keys of an entry after cpu=, in the order lowbit-tune writes them. */
enum { A, W, KMAX, STRATEGY, ISA, TILE, FORMAT, KUNROLL, KC, MC, NC, SCORE, UNIT, KEYS };
static const char *const key_names[KEYS] = {"a",    "w",      "kmax",    "strategy", "isa",
                                            "tile", "format", "kunroll", "kc",       "mc",
                                            "nc",   "score",  "unit"};

/* The bits of each side of a direct kernel's code format: an operand wider than its side does
 * not fit its codes. */
static const struct {
  const char *name;
  unsigned a_bits, w_bits;
} formats[] = {{"u8s8", 8, 8}, {"s8", 8, 8}, {"s16", 16, 16}};

static const char entry_format[] =
    "an entry is cpu=C a=<bits><u|s|b> w=.. kmax=<N|any> strategy=S isa=I tile=MxN "
    "[format=F] kunroll=U kc=.. mc=.. nc=.. score=N unit=ns|cycles";

/* <bits><encoding>: 1..16 bits unsigned (u) or signed (s), or 1-bit bipolar (b). */
static int parse_operand(const char *text, unsigned *bits, char *encoding) {
  unsigned long long value;
  size_t digits = strspn(text, "0123456789");
  if (digits == 0 || digits > 2 || text[digits] == '\0' || !strchr("usb", text[digits]) ||
      text[digits + 1] != '\0') {
    return 0;
  }
  char number[3] = {0};
  memcpy(number, text, digits);
  if (!lb_gen_data_number(number, 0, &value) || value < 1 || value > 16 ||
      (text[digits] == 'b' && value != 1)) {
    return 0;
  }
  *bits = (unsigned)value;
  *encoding = text[digits];
  return 1;
}

/* A score: a whole number of at most 18 digits (a sum of nanoseconds or cycles). */
static int is_score(const char *text) {
  size_t digits = strspn(text, "0123456789");
  return digits > 0 && digits <= 18 && text[digits] == '\0';
}

static char *block_of(const lb_gen_data_file *file, int line, const char *key, const char *value,
                      unsigned long long *count) {
  if (strcmp(value, "auto") == 0) {
    *count = 0;
    return NULL;
  }
  if (!lb_gen_data_number(value, 0, count) || *count == 0) {
    return lb_gen_error_at(file->path, line, "%s=%s: expected auto or a count from 1 to below 2^30",
                           key, value);
  }
  return NULL;
}

/* The kernel an entry names, as a spec line: bit-serial kernels are made for the entry's
 * operands, direct ones for their code format. */
static char *kernel_of(const lb_gen_data_file *file, int line, const char *const *value,
                       const lb_gen_schedule *entry, lb_gen_kernel **kernel) {
  const int direct = strcmp(value[STRATEGY], "direct") == 0;
  if (direct != (value[FORMAT] != NULL)) {
    return lb_gen_error_at(file->path, line, "format= is %s",
                           direct ? "required by strategy=direct" : "for strategy=direct only");
  }
  lb_gen_buf spec = {0};
  lb_gen_buf_printf(&spec, "gemm strategy=%s isa=%s tile=%s kunroll=%s", value[STRATEGY],
                    value[ISA], value[TILE], value[KUNROLL]);
  if (direct) {
    size_t f = 0;
    while (f < sizeof formats / sizeof formats[0] && strcmp(formats[f].name, value[FORMAT]) != 0) {
      f++;
    }
    if (f == sizeof formats / sizeof formats[0]) {
      return lb_gen_error_at(file->path, line, "format=%s: expected u8s8, s8 or s16",
                             value[FORMAT]);
    }
    if (entry->abits > formats[f].a_bits || entry->wbits > formats[f].w_bits) {
      return lb_gen_error_at(file->path, line, "format=%s cannot hold a=%s w=%s", value[FORMAT],
                             value[A], value[W]);
    }
    lb_gen_buf_printf(&spec, " format=%s", value[FORMAT]);
  } else {
    lb_gen_buf_printf(&spec, " a=%s w=%s", value[A], value[W]);
  }
  char *message = NULL;
  *kernel = lb_gen_kernel_parse(spec.data, NULL, &message);
  lb_gen_free(spec.data);
  return *kernel ? NULL : lb_gen_error_at(file->path, line, "%s", message);
}

static char *parse_entry(const lb_gen_data_file *file, const lb_gen_data_line *line,
                         const lb_gen_target *target, const char *file_cpu,
                         lb_gen_schedule *entry) {
  const char *cpu = NULL, *value[KEYS] = {0};
  char *error = lb_gen_data_cpu_of(file, line, &cpu);
  if (error) {
    return error;
  }
  if (file_cpu && strcmp(cpu, file_cpu) != 0) {
    return lb_gen_error_at(file->path, line->number, "cpu=%s: the file's name gives cpu %s", cpu,
                           file_cpu);
  }
  error = lb_gen_data_keys(file, line, key_names, KEYS, entry_format, value);
  if (error) {
    return error;
  }
  for (size_t k = 0; k < KEYS; k++) {
    if (!value[k] && k != FORMAT) {
      return lb_gen_error_at(file->path, line->number, "%s= is missing (%s)", key_names[k],
                             entry_format);
    }
  }
  *entry = (lb_gen_schedule){.where = lb_gen_format("%s:%d", file->path, line->number),
                             .cpu = lb_gen_strdup(cpu)};
  if (!parse_operand(value[A], &entry->abits, &entry->aenc) ||
      !parse_operand(value[W], &entry->wbits, &entry->wenc)) {
    return lb_gen_error_at(file->path, line->number,
                           "a=%s w=%s: expected <bits><u|s|b> with 1..16 bits (b: 1 bit only)",
                           value[A], value[W]);
  }
  if (strcmp(value[KMAX], "any") == 0) {
    entry->kmax = 0;
  } else if (!lb_gen_data_number(value[KMAX], 0, &entry->kmax) || entry->kmax == 0) {
    return lb_gen_error_at(file->path, line->number,
                           "kmax=%s: expected any or a count from 1 to below 2^30", value[KMAX]);
  }
  if (!lb_gen_strings_contains(&target->isas, value[ISA])) {
    return lb_gen_error_at(file->path, line->number, "isa=%s: not an isa of target %s", value[ISA],
                           target->name);
  }
  if ((error = block_of(file, line->number, "kc", value[KC], &entry->kc)) ||
      (error = block_of(file, line->number, "mc", value[MC], &entry->mc)) ||
      (error = block_of(file, line->number, "nc", value[NC], &entry->nc))) {
    return error;
  }
  if (!is_score(value[SCORE])) {
    return lb_gen_error_at(file->path, line->number, "score=%s: expected a whole number",
                           value[SCORE]);
  }
  if (strcmp(value[UNIT], "ns") != 0 && strcmp(value[UNIT], "cycles") != 0) {
    return lb_gen_error_at(file->path, line->number, "unit=%s: expected ns or cycles", value[UNIT]);
  }
  return kernel_of(file, line->number, value, entry, &entry->kernel);
}

static int same_class(const lb_gen_schedule *x, const lb_gen_schedule *y) {
  return strcmp(x->cpu, y->cpu) == 0 && x->abits == y->abits && x->aenc == y->aenc &&
         x->wbits == y->wbits && x->wenc == y->wenc && x->kmax == y->kmax;
}

char *lb_gen_schedules_parse(const lb_gen_text_file *text, const lb_gen_target *target,
                             const char *file_cpu, lb_gen_schedules *schedules) {
  lb_gen_data_file file;
  char *error = lb_gen_data_file_parse(text, &file);
  for (size_t i = 0; !error && i < file.count; i++) {
    lb_gen_schedule entry;
    error = parse_entry(&file, &file.lines[i], target, file_cpu, &entry);
    for (size_t j = 0; !error && j < schedules->count; j++) {
      if (same_class(&entry, &schedules->items[j])) {
        error = lb_gen_error_at(file.path, file.lines[i].number,
                                "a second entry for cpu=%s a=%u%c w=%u%c and this kmax (first at "
                                "%s)",
                                entry.cpu, entry.abits, entry.aenc, entry.wbits, entry.wenc,
                                schedules->items[j].where);
      }
    }
    if (!error) {
      schedules->items =
          lb_gen_realloc(schedules->items, (schedules->count + 1) * sizeof *schedules->items);
      schedules->items[schedules->count++] = entry;
    }
  }
  if (!error) {
    lb_gen_strings_push(&schedules->paths, text->path);
  }
  return error;
}

static int compare_names(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The cpu a database's name gives: <target>.<cpu>.schedules; NULL for another name. */
static char *cpu_of_name(const char *path, const lb_gen_target *target) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  const size_t length = strlen(name), prefix = strlen(target->name) + 1;
  if (length <= prefix + strlen(SUFFIX) || strncmp(name, target->name, prefix - 1) != 0 ||
      name[prefix - 1] != '.' || strcmp(name + length - strlen(SUFFIX), SUFFIX) != 0) {
    return NULL;
  }
  return lb_gen_strndup(name + prefix, length - prefix - strlen(SUFFIX));
}

static void load_file(const char *path, const lb_gen_target *target, lb_gen_schedules *schedules) {
  lb_gen_text_file text = {path, NULL, 0};
  text.text = lb_gen_read_file(path, &text.length);
  if (!text.text) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read the schedule database %s", path);
  }
  char *error = lb_gen_schedules_parse(&text, target, cpu_of_name(path, target), schedules);
  if (error) {
    lb_gen_exit_with(LB_GEN_EXIT_INPUT, error);
  }
}

void lb_gen_schedules_load(const char *choice, const char *targets_dir, const lb_gen_target *target,
                           lb_gen_schedules *schedules) {
  *schedules = (lb_gen_schedules){0};
  if (strcmp(choice, "none") == 0) {
    return;
  }
  if (strcmp(choice, "auto") != 0) {
    load_file(choice, target, schedules);
    return;
  }
  DIR *dir = opendir(targets_dir);
  if (!dir) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot list the targets folder %s", targets_dir);
  }
  lb_gen_strings paths = {0};
  for (struct dirent *item; (item = readdir(dir));) {
    char *path = lb_gen_format("%s/%s", targets_dir, item->d_name);
    if (cpu_of_name(path, target)) {
      lb_gen_strings_push(&paths, path);
    }
    lb_gen_free(path);
  }
  closedir(dir);
  if (paths.count > 1) {
    qsort(paths.items, paths.count, sizeof *paths.items, compare_names);
  }
  for (size_t i = 0; i < paths.count; i++) {
    load_file(paths.items[i], target, schedules);
  }
}

static const char *encoding_enumerator(char encoding) {
  return encoding == 'u' ? "LB_UNSIGNED" : encoding == 's' ? "LB_SIGNED" : "LB_BIPOLAR";
}

/* Rows by cpu, then operands, then kmax with any (0) last: the runtime takes the first row of
 * its cpu and operands whose kmax holds K. */
static int compare_entries(const void *x, const void *y) {
  const lb_gen_schedule *p = *(const lb_gen_schedule *const *)x,
                        *q = *(const lb_gen_schedule *const *)y;
  int order = strcmp(p->cpu, q->cpu);
  if (!order) {
    order = p->aenc != q->aenc ? p->aenc - q->aenc : (int)p->abits - (int)q->abits;
  }
  if (!order) {
    order = p->wenc != q->wenc ? p->wenc - q->wenc : (int)p->wbits - (int)q->wbits;
  }
  if (!order) {
    const unsigned long long pk = p->kmax ? p->kmax : ~0ull, qk = q->kmax ? q->kmax : ~0ull;
    order = pk < qk ? -1 : pk > qk;
  }
  return order;
}

static char *block_literal(unsigned long long count) {
  return count ? lb_gen_format("%llu", count) : lb_gen_strdup("LB_TUNING_AUTO");
}

static void add(lb_gen_file *file, char *line) {
  lb_gen_text_add_line(&file->content, line, NULL, 0);
  lb_gen_free(line);
}

void lb_gen_emit_schedules(lb_gen_files *files, const lb_gen_schedules *schedules) {
  lb_gen_buf source = {0};
  for (size_t i = 0; i < schedules->paths.count; i++) {
    lb_gen_buf_printf(&source, "%s%s", i ? " " : "",
                      lb_gen_source_relative(schedules->paths.items[i]));
  }
  lb_gen_file *file = lb_gen_files_add(files, LB_GEN_SCHEDULES_FILE, "generic",
                                       source.length ? source.data : "no schedule database");
  static const char *const head[] = {"#include <stddef.h>", "", "#include \"tuning.h\"", ""};
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
    add(file, lb_gen_strdup(head[i]));
  }
  if (schedules->count == 0) {
    /* C has no empty arrays: one zero row that the count excludes. */
    add(file, lb_gen_strdup("const lb_schedule_row lb_schedule_rows[] = {{0}};"));
    add(file, lb_gen_strdup("const size_t lb_schedule_row_count = 0;"));
    return;
  }
  const lb_gen_schedule **sorted = lb_gen_alloc(schedules->count * sizeof *sorted);
  for (size_t i = 0; i < schedules->count; i++) {
    sorted[i] = &schedules->items[i];
  }
  qsort(sorted, schedules->count, sizeof *sorted, compare_entries);
  add(file, lb_gen_strdup("/* By cpu, operands and K class, any K (kmax 0) last. */"));
  add(file, lb_gen_strdup("const lb_schedule_row lb_schedule_rows[] = {"));
  for (size_t i = 0; i < schedules->count; i++) {
    const lb_gen_schedule *s = sorted[i];
    char *kc = block_literal(s->kc), *mc = block_literal(s->mc), *nc = block_literal(s->nc);
    add(file, lb_gen_format("    /* %s */", lb_gen_source_relative(s->where)));
    add(file, lb_gen_format("    {.cpu = \"%s\", .a = {%u, %s}, .w = {%u, %s}, .kmax = %llu,",
                            s->cpu, s->abits, encoding_enumerator(s->aenc), s->wbits,
                            encoding_enumerator(s->wenc), s->kmax));
    add(file, lb_gen_format("     .kernel = \"%s\", .kc = %s, .mc = %s, .nc = %s},",
                            s->kernel->name, kc, mc, nc));
    lb_gen_free(kc);
    lb_gen_free(mc);
    lb_gen_free(nc);
  }
  add(file, lb_gen_strdup("};"));
  add(file, lb_gen_strdup("const size_t lb_schedule_row_count ="));
  add(file, lb_gen_strdup("    sizeof lb_schedule_rows / sizeof lb_schedule_rows[0];"));
  lb_gen_free(sorted);
}
