/* Kernel choice against the per-CPU data. The test reads targets/<target>.tuning, .crossover and
 * the schedule databases itself and derives from them the kernel that LB_BITSERIAL, LB_DIRECT and
 * LB_AUTO must pick on the CPU the runtime takes (LOWBIT_CPU, else the detected one) for a K;
 * then it runs lb_gemm on each strategy. Which kernels accept a configuration comes from
 * lb_gemm_kernel_supports (each of them computes it exactly: gemm_exact_test); the ranking, the
 * crossover and the schedules come from the files and docs/design.md alone, not from the
 * runtime's selection code.
 * Usage: lowbit-test-gemm-select TUNING CROSSOVER [SCHEDULES ...] [--differs-from CPU]
 * Every schedule entry of the CPU is checked at both ends of its K class, and a database that
 * has none for it fails: a run under LOWBIT_CPU=<its cpu> must reach it. With --differs-from,
 * the data of CPU must give at least one other pick, so that a run under LOWBIT_CPU shows that
 * the override reaches the choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))
#define MAX_ROWS 64
#define MAX_WORDS 16
#define NAME_BYTES 64
/* K of the fixed cases. */
#define CASE_K 130

static const char *const criterion_names[] = {"simd", "xor", "specialized", "narrow"};
#define CRITERIA COUNT(criterion_names)

typedef struct rank_row {
  char cpu[NAME_BYTES];
  size_t rank[CRITERIA]; /* indices into criterion_names, most important first */
  size_t rank_count;     /* 0: the row gives no rank= and takes the default's */
} rank_row;

typedef struct crossover_row {
  char cpu[NAME_BYTES], isa[NAME_BYTES];
  unsigned pairs;
} crossover_row;

/* A schedule entry (docs/design.md, section 32) with the registered kernel it names, or NULL. */
typedef struct schedule_row {
  char cpu[NAME_BYTES];
  lb_operand a, w;
  unsigned long kmax; /* 0: any K */
  const lb_gemm_kernel_info *kernel;
  char where[NAME_BYTES * 4];
} schedule_row;

typedef struct data {
  rank_row ranks[MAX_ROWS];
  size_t rank_rows;
  crossover_row crossovers[MAX_ROWS];
  size_t crossover_rows;
  schedule_row schedules[MAX_ROWS];
  size_t schedule_rows;
} data;

static _Noreturn void bad_data(const char *path, int line, const char *why) {
  fprintf(stderr, "%s:%d: error: %s\n", path, line, why);
  exit(2);
}

/* The key=value words of each line of a data file, without comments, to `take`. */
static void read_lines(const char *path, data *d,
                       void (*take)(data *, const char *, int, char **, size_t)) {
  FILE *file = fopen(path, "r");
  if (file == NULL) {
    bad_data(path, 0, "cannot open the file");
  }
  char text[512];
  for (int line = 1; fgets(text, sizeof text, file) != NULL; line++) {
    char *hash = strchr(text, '#');
    if (hash != NULL) {
      *hash = '\0';
    }
    char *words[MAX_WORDS];
    size_t count = 0;
    for (char *word = strtok(text, " \t\r\n"); word != NULL; word = strtok(NULL, " \t\r\n")) {
      if (count == MAX_WORDS) {
        bad_data(path, line, "too many words");
      }
      words[count++] = word;
    }
    if (count > 0) {
      take(d, path, line, words, count);
    }
  }
  fclose(file);
}

/* The value of key= among the words, or NULL. */
static const char *value_of(char **words, size_t count, const char *key) {
  const size_t length = strlen(key);
  for (size_t i = 0; i < count; i++) {
    if (strncmp(words[i], key, length) == 0 && words[i][length] == '=') {
      return words[i] + length + 1;
    }
  }
  return NULL;
}

static void copy_name(char *to, const char *from, const char *path, int line) {
  if (from == NULL || strlen(from) >= NAME_BYTES) {
    bad_data(path, line, "a name is missing or too long");
  }
  strcpy(to, from);
}

static void take_tuning(data *d, const char *path, int line, char **words, size_t count) {
  if (d->rank_rows == MAX_ROWS) {
    bad_data(path, line, "too many rows for this test");
  }
  rank_row *row = &d->ranks[d->rank_rows++];
  copy_name(row->cpu, value_of(words, count, "cpu"), path, line);
  const char *rank = value_of(words, count, "rank");
  row->rank_count = 0;
  while (rank != NULL && *rank != '\0') {
    const size_t length = strcspn(rank, ",");
    size_t c = 0;
    while (c < CRITERIA && (strlen(criterion_names[c]) != length ||
                            strncmp(criterion_names[c], rank, length) != 0)) {
      c++;
    }
    if (c == CRITERIA || row->rank_count == CRITERIA) {
      bad_data(path, line, "rank= lists an unknown criterion or too many");
    }
    row->rank[row->rank_count++] = c;
    rank += length + (rank[length] == ',');
  }
}

static void take_crossover(data *d, const char *path, int line, char **words, size_t count) {
  if (d->crossover_rows == MAX_ROWS) {
    bad_data(path, line, "too many rows for this test");
  }
  crossover_row *row = &d->crossovers[d->crossover_rows++];
  copy_name(row->cpu, value_of(words, count, "cpu"), path, line);
  copy_name(row->isa, value_of(words, count, "isa"), path, line);
  const char *pairs = value_of(words, count, "pairs");
  char *end = NULL;
  row->pairs = pairs != NULL ? (unsigned)strtoul(pairs, &end, 10) : 0;
  if (pairs == NULL || *end != '\0') {
    bad_data(path, line, "pairs= is missing or not a number");
  }
}

static int parse_operand(const char *text, lb_operand *op) {
  char *end = NULL;
  const unsigned long bits = text != NULL ? strtoul(text, &end, 10) : 0;
  if (bits < 1 || bits > 16 || end[0] == '\0' || end[1] != '\0' || !strchr("usb", end[0])) {
    return 0;
  }
  *op = (lb_operand){(unsigned)bits, end[0] == 'u'   ? LB_UNSIGNED
                                     : end[0] == 's' ? LB_SIGNED
                                                     : LB_BIPOLAR};
  return 1;
}

/* The registered kernel of an entry's strategy, isa, tile and K unroll: a direct one of its code
 * format, a bit-serial one made for its operands. NULL when there is none; two are an error. */
static const lb_gemm_kernel_info *entry_kernel(char **words, size_t count, lb_operand a,
                                               lb_operand w, const char *path, int line) {
  static const struct {
    const char *name;
    int strategy;
  } strategies[] = {{"bitserial", LB_STRATEGY_BITSERIAL},
                    {"bitserial-xor", LB_STRATEGY_BITSERIAL_XOR},
                    {"direct", LB_STRATEGY_DIRECT}};
  static const struct {
    const char *name;
    int a_format, w_format;
  } formats[] = {{"u8s8", LB_CODE_U8, LB_CODE_S8},
                 {"s8", LB_CODE_S8, LB_CODE_S8},
                 {"s16", LB_CODE_S16, LB_CODE_S16}};
  const char *strategy = value_of(words, count, "strategy"), *isa = value_of(words, count, "isa");
  const char *tile = value_of(words, count, "tile"), *unroll = value_of(words, count, "kunroll");
  const char *format = value_of(words, count, "format");
  unsigned mr = 0, nr = 0, kunroll = 0;
  size_t s = 0, f = 0;
  while (s < COUNT(strategies) && strategy != NULL && strcmp(strategies[s].name, strategy) != 0) {
    s++;
  }
  while (f < COUNT(formats) && format != NULL && strcmp(formats[f].name, format) != 0) {
    f++;
  }
  if (strategy == NULL || s == COUNT(strategies) || isa == NULL || tile == NULL ||
      sscanf(tile, "%ux%u", &mr, &nr) != 2 || unroll == NULL ||
      sscanf(unroll, "%u", &kunroll) != 1 ||
      (strategies[s].strategy == LB_STRATEGY_DIRECT) != (format != NULL) || f == COUNT(formats)) {
    bad_data(path, line, "an entry without a known strategy, isa, tile, kunroll or format");
  }
  const lb_gemm_kernel_info *found = NULL;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *k = lb_gemm_kernel_at(i);
    if (k->strategy != strategies[s].strategy || strcmp(k->isa, isa) != 0 || k->mr != mr ||
        k->nr != nr || k->kunroll != kunroll) {
      continue;
    }
    if (format != NULL ? k->a_format != formats[f].a_format || k->w_format != formats[f].w_format
                       : k->abits != a.bits || k->aenc != (int)a.encoding || k->wbits != w.bits ||
                             k->wenc != (int)w.encoding) {
      continue;
    }
    if (found != NULL) {
      bad_data(path, line, "two registered kernels fit the entry");
    }
    found = k;
  }
  return found;
}

static void take_schedule(data *d, const char *path, int line, char **words, size_t count) {
  if (d->schedule_rows == MAX_ROWS) {
    bad_data(path, line, "too many rows for this test");
  }
  schedule_row *row = &d->schedules[d->schedule_rows++];
  copy_name(row->cpu, value_of(words, count, "cpu"), path, line);
  const char *kmax = value_of(words, count, "kmax");
  char *end = NULL;
  row->kmax = kmax != NULL && strcmp(kmax, "any") != 0 ? strtoul(kmax, &end, 10) : 0;
  if (!parse_operand(value_of(words, count, "a"), &row->a) ||
      !parse_operand(value_of(words, count, "w"), &row->w) || kmax == NULL ||
      (end != NULL && (*end != '\0' || row->kmax == 0))) {
    bad_data(path, line, "an entry without a=, w= or kmax=");
  }
  row->kernel = entry_kernel(words, count, row->a, row->w, path, line);
  snprintf(row->where, sizeof row->where, "%s:%d", path, line);
}

static int same_operand(lb_operand x, lb_operand y) {
  return x.bits == y.bits && x.encoding == y.encoding;
}

/* The entry of cpu whose K class holds k: the classes of a pair, by increasing kmax, any last. */
static const schedule_row *schedule_for(const data *d, const char *cpu, lb_operand a, lb_operand w,
                                        unsigned long k) {
  const schedule_row *best = NULL;
  for (size_t i = 0; i < d->schedule_rows; i++) {
    const schedule_row *row = &d->schedules[i];
    if (strcmp(row->cpu, cpu) != 0 || !same_operand(row->a, a) || !same_operand(row->w, w) ||
        (row->kmax != 0 && k > row->kmax)) {
      continue;
    }
    if (best == NULL || (best->kmax == 0 && row->kmax != 0) ||
        (row->kmax != 0 && row->kmax < best->kmax)) {
      best = row;
    }
  }
  return best;
}

/* The largest kmax of cpu's classes for the pair below kmax (0 for any), or 0: where the class
 * starts. */
static unsigned long class_start(const data *d, const schedule_row *entry) {
  unsigned long start = 0;
  for (size_t i = 0; i < d->schedule_rows; i++) {
    const schedule_row *row = &d->schedules[i];
    if (strcmp(row->cpu, entry->cpu) == 0 && same_operand(row->a, entry->a) &&
        same_operand(row->w, entry->w) && row->kmax != 0 &&
        (entry->kmax == 0 || row->kmax < entry->kmax) && row->kmax > start) {
      start = row->kmax;
    }
  }
  return start + 1;
}

/* Whether a kernel of isa runs on this CPU: the bit-serial kernels of any width take A1W1. */
static int isa_runs_here(const char *isa) {
  const lb_operand one = {1, LB_UNSIGNED};
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *k = lb_gemm_kernel_at(i);
    if (strcmp(k->isa, isa) == 0 && lb_gemm_kernel_supports(k, one, one)) {
      return 1;
    }
  }
  return 0;
}

/* The rank row of cpu (what it leaves out from the default row), or NULL without a default. */
static const rank_row *rank_row_for(const data *d, const char *cpu, rank_row *merged) {
  const rank_row *own = NULL, *fallback = NULL;
  for (size_t i = 0; i < d->rank_rows; i++) {
    if (strcmp(d->ranks[i].cpu, cpu) == 0) {
      own = &d->ranks[i];
    }
    if (strcmp(d->ranks[i].cpu, "default") == 0) {
      fallback = &d->ranks[i];
    }
  }
  if (fallback == NULL) {
    return NULL;
  }
  *merged = own != NULL && own->rank_count > 0 ? *own : *fallback;
  return merged;
}

/* -1 when the data give no crossover for isa. */
static long crossover_for(const data *d, const char *cpu, const char *isa) {
  long fallback = -1;
  for (size_t i = 0; i < d->crossover_rows; i++) {
    const crossover_row *row = &d->crossovers[i];
    if (strcmp(row->isa, isa) != 0) {
      continue;
    }
    if (strcmp(row->cpu, cpu) == 0) {
      return row->pairs;
    }
    if (strcmp(row->cpu, "default") == 0) {
      fallback = row->pairs;
    }
  }
  return fallback;
}

static int uses_bitplanes(const lb_gemm_kernel_info *kernel) {
  return kernel->strategy == LB_STRATEGY_BITSERIAL || kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
}

/* The criteria of docs/design.md, "Per-CPU data". */
static int meets(const lb_gemm_kernel_info *kernel, size_t criterion) {
  const char *name = criterion_names[criterion];
  if (strcmp(name, "simd") == 0) {
    return strcmp(kernel->isa, "generic") != 0;
  }
  if (strcmp(name, "xor") == 0) {
    return kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
  }
  if (strcmp(name, "specialized") == 0) {
    return kernel->strategy == LB_STRATEGY_BITSERIAL && kernel->abits != 0 && kernel->wbits != 0;
  }
  return kernel->strategy == LB_STRATEGY_DIRECT && kernel->a_format != LB_CODE_S16 &&
         kernel->w_format != LB_CODE_S16;
}

/* Whether x ranks above y: the first criterion of the row on which they differ decides. */
static int ranks_above(const lb_gemm_kernel_info *x, const lb_gemm_kernel_info *y,
                       const rank_row *row) {
  for (size_t i = 0; i < row->rank_count; i++) {
    const int mx = meets(x, row->rank[i]), my = meets(y, row->rank[i]);
    if (mx != my) {
      return mx;
    }
  }
  return 0;
}

/* The best accepting kernel of a family, the first in registry order among equals. */
static const lb_gemm_kernel_info *expected_kernel(lb_operand a, lb_operand w, int bitplanes,
                                                  const rank_row *row) {
  const lb_gemm_kernel_info *best = NULL;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (uses_bitplanes(kernel) == bitplanes && lb_gemm_kernel_supports(kernel, a, w) &&
        (best == NULL || ranks_above(kernel, best, row))) {
      best = kernel;
    }
  }
  return best;
}

typedef struct picks {
  const lb_gemm_kernel_info *bitserial, *direct, *automatic;
  unsigned pairs;
  long crossover;               /* of the bit-serial kernel's isa; -1 if the data lack it */
  const schedule_row *schedule; /* whose kernel the picks follow, or NULL */
} picks;

static unsigned planes(lb_operand op) { return op.encoding == LB_BIPOLAR ? 1 : op.bits; }

/* The ranked picks, then the schedule's kernel, where it runs here, for LB_AUTO and its family. */
static picks expected_picks(const data *d, const char *cpu, lb_operand a, lb_operand w,
                            unsigned long k) {
  rank_row merged;
  const rank_row *row = rank_row_for(d, cpu, &merged);
  picks p = {NULL, NULL, NULL, planes(a) * planes(w), -1, NULL};
  if (row == NULL) {
    return p;
  }
  p.bitserial = expected_kernel(a, w, 1, row);
  p.direct = expected_kernel(a, w, 0, row);
  if (p.bitserial == NULL || p.direct == NULL) {
    p.automatic = p.bitserial != NULL ? p.bitserial : p.direct;
  } else {
    p.crossover = crossover_for(d, cpu, p.bitserial->isa);
    p.automatic = p.crossover >= (long)p.pairs ? p.bitserial : p.direct;
  }
  const schedule_row *schedule = schedule_for(d, cpu, a, w, k);
  if (schedule != NULL && schedule->kernel != NULL &&
      lb_gemm_kernel_supports(schedule->kernel, a, w)) {
    p.schedule = schedule;
    p.automatic = schedule->kernel;
    *(uses_bitplanes(schedule->kernel) ? &p.bitserial : &p.direct) = schedule->kernel;
  }
  return p;
}

static const char *name_of(const lb_gemm_kernel_info *kernel) {
  return kernel != NULL ? kernel->name : "(none)";
}

typedef struct selection_case {
  const char *label;
  lb_operand a, w;
} selection_case;

static const selection_case cases[] = {
    {"A1W1 unsigned", {1, LB_UNSIGNED}, {1, LB_UNSIGNED}},
    {"A1W1 bipolar", {1, LB_BIPOLAR}, {1, LB_BIPOLAR}},
    {"A1W1 bipolar A", {1, LB_BIPOLAR}, {1, LB_UNSIGNED}},
    {"A2W1 unsigned", {2, LB_UNSIGNED}, {1, LB_UNSIGNED}},
    {"A2W1 bipolar W", {2, LB_UNSIGNED}, {1, LB_BIPOLAR}},
    {"A2W2 unsigned", {2, LB_UNSIGNED}, {2, LB_UNSIGNED}},
    {"A3W1 unsigned", {3, LB_UNSIGNED}, {1, LB_UNSIGNED}},
    {"A4W4 unsigned", {4, LB_UNSIGNED}, {4, LB_UNSIGNED}},
    {"A8W8 signed", {8, LB_SIGNED}, {8, LB_SIGNED}},
    {"A9W8 signed", {9, LB_SIGNED}, {8, LB_SIGNED}},
    {"A16W16 signed", {16, LB_SIGNED}, {16, LB_SIGNED}},
};

/* One strategy's pick: the expected kernel, of the right family, and lb_gemm exact with it. */
static int check_pick(const selection_case *c, size_t k, const char *strategy_name,
                      lb_strategy_choice strategy, const lb_gemm_kernel_info *expected,
                      int family_bitplanes, uint64_t *rng) {
  const lb_gemm_kernel_info *got = lb_gemm_select(c->a, c->w, strategy, k);
  int ok = 1;
  if (got == NULL || got != expected) {
    fprintf(stderr, "FAIL %s K=%zu %s: picked %s, the data say %s\n", c->label, k, strategy_name,
            name_of(got), name_of(expected));
    ok = 0;
  } else if (family_bitplanes >= 0 && uses_bitplanes(got) != family_bitplanes) {
    fprintf(stderr, "FAIL %s %s: %s is not a %s kernel\n", c->label, strategy_name, got->name,
            family_bitplanes ? "bit-plane" : "direct");
    ok = 0;
  }
  const lb_test_case tc = {NULL, strategy, c->a, c->w, 5, 9, k, LB_FILL_RANDOM, LB_FILL_RANDOM, 1};
  return lb_test_check(&tc, rng) && ok;
}

static int same_picks(const picks *x, const picks *y) {
  return x->bitserial == y->bitserial && x->direct == y->direct && x->automatic == y->automatic;
}

typedef struct tally {
  size_t passed, failed, differing;
} tally;

/* The three strategies' picks for a case at K = k, and, with other_cpu, whether that CPU's data
 * pick otherwise. */
static void check_case(const data *d, const char *cpu, const selection_case *c, size_t k,
                       const char *other_cpu, tally *t, uint64_t *rng) {
  const picks p = expected_picks(d, cpu, c->a, c->w, k);
  if (p.bitserial != NULL && p.direct != NULL && p.crossover < 0 && p.schedule == NULL) {
    fprintf(stderr, "FAIL %s: the data give no crossover for %s\n", c->label, p.bitserial->isa);
    t->failed++;
    return;
  }
  printf("%-15s K=%-5zu bitserial %s, direct %s, auto %s (%u pairs, crossover %ld%s%s)\n", c->label,
         k, name_of(p.bitserial), name_of(p.direct),
         p.automatic == p.bitserial ? "bitserial" : "direct", p.pairs, p.crossover,
         p.schedule != NULL ? ", schedule " : "", p.schedule != NULL ? p.schedule->where : "");
  const int results[] = {
      check_pick(c, k, "LB_BITSERIAL", LB_BITSERIAL, p.bitserial, 1, rng),
      check_pick(c, k, "LB_DIRECT", LB_DIRECT, p.direct, 0, rng),
      check_pick(c, k, "LB_AUTO", LB_AUTO, p.automatic, -1, rng),
  };
  for (size_t r = 0; r < COUNT(results); r++) {
    *(results[r] ? &t->passed : &t->failed) += 1;
  }
  if (other_cpu != NULL) {
    const picks other = expected_picks(d, other_cpu, c->a, c->w, k);
    if (!same_picks(&p, &other)) {
      printf("%-15s differs on %s: bitserial %s, direct %s, auto %s\n", c->label, other_cpu,
             name_of(other.bitserial), name_of(other.direct), name_of(other.automatic));
      t->differing++;
    }
  }
}

/* Every entry of cpu at both ends of its K class; the number of entries. */
static size_t check_schedules(const data *d, const char *cpu, tally *t, uint64_t *rng) {
  size_t entries = 0;
  for (size_t i = 0; i < d->schedule_rows; i++) {
    const schedule_row *row = &d->schedules[i];
    if (strcmp(row->cpu, cpu) != 0) {
      continue;
    }
    entries++;
    if (row->kernel == NULL) {
      fprintf(stderr, "FAIL %s: no registered kernel is the entry's\n", row->where);
      t->failed++;
      continue;
    }
    if (!lb_gemm_kernel_supports(row->kernel, row->a, row->w) && isa_runs_here(row->kernel->isa)) {
      fprintf(stderr, "FAIL %s: %s does not take the entry's operands\n", row->where,
              row->kernel->name);
      t->failed++;
      continue;
    }
    const selection_case c = {row->where, row->a, row->w};
    const unsigned long start = class_start(d, row);
    check_case(d, cpu, &c, start, NULL, t, rng);
    if (row->kmax != 0 && row->kmax != start) {
      check_case(d, cpu, &c, row->kmax, NULL, t, rng);
    }
  }
  return entries;
}

int main(int argc, char **argv) {
  int expect_schedules = 0;
  const char *other_cpu = NULL;
  static data d;
  int files = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--differs-from") == 0 && i + 1 < argc) {
      other_cpu = argv[++i];
    } else if (strcmp(argv[i], "--expect-schedules") == 0) {
      expect_schedules = 1;
    } else {
      read_lines(argv[i], &d,
                 files == 0   ? take_tuning
                 : files == 1 ? take_crossover
                              : take_schedule);
      files++;
    }
  }
  if (files < 2) {
    fprintf(stderr,
            "usage: %s TUNING CROSSOVER [SCHEDULES ...] [--expect-schedules] [--differs-from "
            "CPU]\n",
            argv[0]);
    return 2;
  }

  const char *cpu = lb_cpu_uarch();
  printf("cpu: %s; per-CPU data of %s\n", lb_cpu_description(), cpu);
  tally t = {0, 0, 0};
  const char *override = getenv("LOWBIT_CPU");
  if (override != NULL && *override != '\0' && strcmp(override, cpu) != 0) {
    fprintf(stderr, "FAIL LOWBIT_CPU=%s, but the runtime takes the data of %s\n", override, cpu);
    t.failed++;
  }
  rank_row merged;
  if (rank_row_for(&d, cpu, &merged) == NULL) {
    bad_data(argv[1], 0, "no cpu=default line");
  }

  uint64_t rng = 0x5eed5e1ec7u;
  for (size_t i = 0; i < COUNT(cases); i++) {
    check_case(&d, cpu, &cases[i], CASE_K, other_cpu, &t, &rng);
  }
  const size_t entries = check_schedules(&d, cpu, &t, &rng);
  if (expect_schedules && entries == 0) {
    fprintf(stderr, "FAIL the schedule databases have no entry for %s\n", cpu);
    t.failed++;
  }
  if (other_cpu != NULL && t.differing == 0) {
    fprintf(stderr, "FAIL the data of %s and %s give the same picks: the override checks nothing\n",
            cpu, other_cpu);
    t.failed++;
  }
  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}
