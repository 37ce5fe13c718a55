/* Kernel choice against the per-CPU data. The test reads targets/<target>.tuning and .crossover
 * itself and derives from them the kernel that LB_BITSERIAL, LB_DIRECT and LB_AUTO must pick on
 * the CPU the runtime takes (LOWBIT_CPU, else the detected one); then it runs lb_gemm on each
 * strategy. Which kernels accept a configuration comes from lb_gemm_kernel_supports (each of them
 * computes it exactly: gemm_exact_test); the ranking and the crossover come from the files and
 * docs/design.md alone, not from the runtime's selection code.
 * Usage: lowbit-test-gemm-select TUNING CROSSOVER [--differs-from CPU]
 * With --differs-from, the data of CPU must give at least one other pick, so that a run under
 * LOWBIT_CPU shows that the override reaches the choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))
#define MAX_ROWS 64
#define MAX_WORDS 16
#define NAME_BYTES 64

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

typedef struct data {
  rank_row ranks[MAX_ROWS];
  size_t rank_rows;
  crossover_row crossovers[MAX_ROWS];
  size_t crossover_rows;
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
  long crossover; /* of the bit-serial kernel's isa; -1 if the data lack it */
} picks;

static unsigned planes(lb_operand op) { return op.encoding == LB_BIPOLAR ? 1 : op.bits; }

static picks expected_picks(const data *d, const char *cpu, lb_operand a, lb_operand w) {
  rank_row merged;
  const rank_row *row = rank_row_for(d, cpu, &merged);
  picks p = {NULL, NULL, NULL, planes(a) * planes(w), -1};
  if (row == NULL) {
    return p;
  }
  p.bitserial = expected_kernel(a, w, 1, row);
  p.direct = expected_kernel(a, w, 0, row);
  if (p.bitserial == NULL || p.direct == NULL) {
    p.automatic = p.bitserial != NULL ? p.bitserial : p.direct;
    return p;
  }
  p.crossover = crossover_for(d, cpu, p.bitserial->isa);
  p.automatic = p.crossover >= (long)p.pairs ? p.bitserial : p.direct;
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
    {"A16W16 signed", {16, LB_SIGNED}, {16, LB_SIGNED}},
};

/* One strategy's pick: the expected kernel, of the right family, and lb_gemm exact with it. */
static int check_pick(const selection_case *c, const char *strategy_name,
                      lb_strategy_choice strategy, const lb_gemm_kernel_info *expected,
                      int family_bitplanes, uint64_t *rng) {
  const lb_gemm_kernel_info *got = lb_gemm_select(c->a, c->w, strategy);
  int ok = 1;
  if (got == NULL || got != expected) {
    fprintf(stderr, "FAIL %s %s: picked %s, the data say %s\n", c->label, strategy_name,
            name_of(got), name_of(expected));
    ok = 0;
  } else if (family_bitplanes >= 0 && uses_bitplanes(got) != family_bitplanes) {
    fprintf(stderr, "FAIL %s %s: %s is not a %s kernel\n", c->label, strategy_name, got->name,
            family_bitplanes ? "bit-plane" : "direct");
    ok = 0;
  }
  const lb_test_case tc = {NULL, strategy, c->a,           c->w,           5,
                           9,    130,      LB_FILL_RANDOM, LB_FILL_RANDOM, 1};
  return lb_test_check(&tc, rng) && ok;
}

static int same_picks(const picks *x, const picks *y) {
  return x->bitserial == y->bitserial && x->direct == y->direct && x->automatic == y->automatic;
}

int main(int argc, char **argv) {
  const int compare = argc == 5 && strcmp(argv[3], "--differs-from") == 0;
  if (argc != 3 && !compare) {
    fprintf(stderr, "usage: %s TUNING CROSSOVER [--differs-from CPU]\n", argv[0]);
    return 2;
  }
  static data d;
  read_lines(argv[1], &d, take_tuning);
  read_lines(argv[2], &d, take_crossover);

  const char *cpu = lb_cpu_uarch();
  printf("cpu: %s; per-CPU data of %s\n", lb_cpu_description(), cpu);
  size_t failed = 0, passed = 0;
  const char *override = getenv("LOWBIT_CPU");
  if (override != NULL && *override != '\0' && strcmp(override, cpu) != 0) {
    fprintf(stderr, "FAIL LOWBIT_CPU=%s, but the runtime takes the data of %s\n", override, cpu);
    failed++;
  }
  rank_row merged;
  if (rank_row_for(&d, cpu, &merged) == NULL) {
    bad_data(argv[1], 0, "no cpu=default line");
  }

  uint64_t rng = 0x5eed5e1ec7u;
  size_t differing = 0;
  for (size_t i = 0; i < COUNT(cases); i++) {
    const selection_case *c = &cases[i];
    const picks p = expected_picks(&d, cpu, c->a, c->w);
    if (p.bitserial != NULL && p.direct != NULL && p.crossover < 0) {
      fprintf(stderr, "FAIL %s: the data give no crossover for %s\n", c->label, p.bitserial->isa);
      failed++;
      continue;
    }
    printf("%-15s bitserial %s, direct %s, auto %s (%u pairs, crossover %ld)\n", c->label,
           name_of(p.bitserial), name_of(p.direct),
           p.automatic == p.bitserial ? "bitserial" : "direct", p.pairs, p.crossover);
    const int results[] = {
        check_pick(c, "LB_BITSERIAL", LB_BITSERIAL, p.bitserial, 1, &rng),
        check_pick(c, "LB_DIRECT", LB_DIRECT, p.direct, 0, &rng),
        check_pick(c, "LB_AUTO", LB_AUTO, p.automatic, -1, &rng),
    };
    for (size_t r = 0; r < COUNT(results); r++) {
      if (results[r]) {
        passed++;
      } else {
        failed++;
      }
    }
    if (compare) {
      const picks other = expected_picks(&d, argv[4], c->a, c->w);
      if (!same_picks(&p, &other)) {
        printf("%-15s differs on %s: bitserial %s, direct %s, auto %s\n", c->label, argv[4],
               name_of(other.bitserial), name_of(other.direct), name_of(other.automatic));
        differing++;
      }
    }
  }
  if (compare && differing == 0) {
    fprintf(stderr, "FAIL the data of %s and %s give the same picks: the override checks nothing\n",
            cpu, argv[4]);
    failed++;
  }
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
