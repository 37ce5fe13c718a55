/* lowbit-tune: searches the schedules of a target's gemm kernels for a CPU and writes the best per
 * operand pair and shape class into the schedule database (docs/design.md, section 33). */
#include <lowbit/lowbit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../target.h"
#include "../util.h"
#include "candidate.h"
#include "database.h"
#include "journal.h"
#include "run.h"
#include "shapes.h"
#include "space.h"

#ifndef LB_TUNE_SOURCE_ROOT
#error "build with -DLB_TUNE_SOURCE_ROOT, -DLB_TUNE_GEN, -DLB_TUNE_CC, -DLB_TUNE_BUILD_DIR, ..."
#endif

/* The LLVM whose models the database quotes: the one the build's libclang comes from. Another
 * major version schedules differently, so its scores would not compare with the file's. */
#define LLVM_MAJOR "14"

static const char usage[] =
    "usage: lowbit-tune --target T [--mcpu CPU] [options]\n"
    "\n"
    "Searches the schedules of T's gemm kernels (strategy, isa, register tile, K unroll, cache\n"
    "blocks) for CPU and writes the best per operand pair and shape class into\n"
    "targets/T.CPU.schedules. Candidates are timed on this machine (x86 targets) or modelled by\n"
    "llvm-mca over every instruction of a run under QEMU (ARM targets; armv7 on the aarch64\n"
    "model, which llvm-mca has for the Cortex-A53).\n"
    "\n"
    "  --target T        a description in targets/ (x86-avx2, aarch64-neon, armv7-neon)\n"
    "  --mcpu CPU        one of T's cpus (default: this machine's for x86, else T's first)\n"
    "  --pairs LIST      operand pairs A:W (default: 1u:1u,2u:1u,2u:2u,9s:8s, the last the\n"
    "                    16-bit baseline's)\n"
    "  --shape LIST      C2..C12 or H,W,CIN,COUT,K,S, separated by blanks (default: C2 ... C12)\n"
    "  --kmax LIST       K bounds of the shape classes (default: 256, ResNet's 1x1 layers)\n"
    "  --isa LIST        isas to search (default: the target's SIMD isas)\n"
    "  --score S         time or mca (default: time for x86, mca for ARM)\n"
    "  --budget N        schedules scored per pair and class at most (default: 48); the search is\n"
    "                    exhaustive when the space is no larger, else greedy best-first (G-BFS)\n"
    "  --jobs N          candidates built and modelled at once (default: 2); timing runs alone\n"
    "  --max-pairs N     bit-serial only for pairs of at most N plane pairs (default: 16; no\n"
    "                    CPU measured so far crosses over to direct beyond 8, and the model's\n"
    "                    traces of 72 plane pairs outgrow llvm-mca's memory)\n"
    "  --repeats N       timed runs per shape, the median kept (default: 11)\n"
    "  --rows N          output rows per modelled run, scaled to the layer (default: 1)\n"
    "  --sshlogin L      time on GNU parallel's --sshlogin L (':' is this machine)\n"
    "  --db FILE         database file (default: targets/T.CPU.schedules in the source tree)\n"
    "  --work DIR        candidates and journal (default: lowbit-tune-work/T.CPU)\n"
    "  --fresh           discard the journal instead of resuming from it\n"
    "  --replay JOURNAL  score exactly the schedules another run's journal scored (for the same\n"
    "                    pairs, shapes and classes), search nothing and write no database: the\n"
    "                    model against the timing (scripts/tune-trust.sh)\n"
    "  --core LIB        liblowbit_core.a built for the candidates' target (default: this\n"
    "                    build's, or its cross build's)\n"
    "\n"
    "Exit status: 0 done, 1 a failure or an interrupt (the journal keeps what was scored), 2 bad\n"
    "input.\n";

_Noreturn static void fail(int status, const char *message) {
  const char *prefix = "lowbit-gen: error: ";
  if (strncmp(message, prefix, strlen(prefix)) == 0) {
    message += strlen(prefix);
  }
  fprintf(stderr, "lowbit-tune: error: %s\n", message);
  exit(status);
}

static void split(lb_gen_strings *out, const char *text, char separator) {
  const char *at = text;
  for (;;) {
    const char *end = strchr(at, separator);
    const size_t n = end ? (size_t)(end - at) : strlen(at);
    if (n > 0) {
      lb_gen_strings_push(out, lb_gen_strndup(at, n));
    }
    if (!end) {
      break;
    }
    at = end + 1;
  }
}

static unsigned parse_positive(const char *flag, const char *text, unsigned hi) {
  unsigned long v;
  if (!parse_count(text, 1, hi, &v)) {
    fail(2, lb_gen_format("%s wants a whole number in 1..%u, not '%s'", flag, hi, text));
  }
  return (unsigned)v;
}

/* The tiles that kernels.spec gives a family: where a search starts. */
static int spec_tile(const char *root, const tune_family *f, unsigned *mr, unsigned *nr) {
  size_t length;
  char *text = lb_gen_read_file(lb_gen_format("%s/kernels.spec", root), &length);
  for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    lb_gen_strings words = {0};
    lb_gen_strings_split(&words, line);
    if (words.count == 0 || strcmp(words.items[0], "gemm") != 0) {
      continue;
    }
    const char *strategy = NULL, *isa = NULL, *format = NULL, *tile = NULL;
    for (size_t i = 1; i < words.count; i++) {
      const char *w = words.items[i];
      strategy = strncmp(w, "strategy=", 9) == 0 ? w + 9 : strategy;
      isa = strncmp(w, "isa=", 4) == 0 ? w + 4 : isa;
      format = strncmp(w, "format=", 7) == 0 ? w + 7 : format;
      tile = strncmp(w, "tile=", 5) == 0 ? w + 5 : tile;
    }
    if (strategy && isa && tile && strcmp(strategy, f->strategy) == 0 && strcmp(isa, f->isa) == 0 &&
        (!f->format || (format && strcmp(format, f->format) == 0)) &&
        sscanf(tile, "%ux%u", mr, nr) == 2) {
      return 1;
    }
  }
  return 0;
}

/* The schedule a family's search starts from: kernels.spec's tile when it has one that is valid,
 * else the valid tile of most outputs; K unroll 1, blocks auto. 0 when no tile is valid. */
static int family_seed(const tune_context *ctx, size_t family, tune_schedule *seed) {
  unsigned spec_mr = 0, spec_nr = 0;
  const int have_spec =
      spec_tile(ctx->source_root, &ctx->space->families[family], &spec_mr, &spec_nr);
  int found = 0;
  unsigned best = 0;
  for (size_t m = 0; m < tune_parameter_count(TUNE_MR); m++) {
    for (size_t n = 0; n < tune_parameter_count(TUNE_NR); n++) {
      tune_schedule s = {.family = family, .index = {[TUNE_MR] = m, [TUNE_NR] = n}};
      if (!tune_kernel_is_valid(ctx->space, &s)) {
        continue;
      }
      const unsigned mr = tune_parameter_value(TUNE_MR, m), nr = tune_parameter_value(TUNE_NR, n);
      const unsigned weight = have_spec && mr == spec_mr && nr == spec_nr ? ~0u : mr * nr;
      if (!found || weight > best) {
        *seed = s, best = weight, found = 1;
      }
    }
  }
  return found;
}

typedef struct scored {
  tune_schedule schedule;
  char *text;
  int refused;
  int expanded;
  double score;
} scored;

typedef struct search {
  tune_context *ctx;
  tune_journal *journal;
  const char *pair_key; /* `2u:2u kmax=256` */
  size_t jobs, budget, space_points;
  scored *seen;
  size_t seen_count;
  size_t scored_count; /* schedules with a score: the budget counts them, not refused ones */
  time_t started;
  size_t scored_here; /* this run, not the journal's */
  const char *unit;
} search;

static scored *find_seen(search *sr, const char *text) {
  for (size_t i = 0; i < sr->seen_count; i++) {
    if (strcmp(sr->seen[i].text, text) == 0) {
      return &sr->seen[i];
    }
  }
  return NULL;
}

static const scored *best_of(const search *sr) {
  const scored *best = NULL;
  for (size_t i = 0; i < sr->seen_count; i++) {
    const scored *c = &sr->seen[i];
    if (!c->refused && (!best || c->score < best->score ||
                        (c->score == best->score && strcmp(c->text, best->text) < 0))) {
      best = c;
    }
  }
  return best;
}

static void progress(const search *sr) {
  const scored *best = best_of(sr);
  const double elapsed = difftime(time(NULL), sr->started);
  const double left =
      sr->scored_here ? elapsed / (double)sr->scored_here * (double)(sr->budget - sr->scored_count)
                      : 0;
  char *best_text = best ? lb_gen_format("best %.4g %s %s", best->score, sr->unit, best->text)
                         : lb_gen_strdup("none taken yet");
  fprintf(stderr, "lowbit-tune: %s: %zu/%zu scored (%.2f%% of %zu), %s, ~%.0fs left\n",
          sr->pair_key, sr->scored_count, sr->budget,
          100.0 * (double)sr->scored_count / (double)sr->space_points, sr->space_points, best_text,
          left);
}

typedef struct build_item {
  tune_context *ctx;
  tune_schedule schedule;
} build_item;

static int build_task(void *item) {
  build_item *b = item;
  return tune_build_kernel(b->ctx, &b->schedule);
}

typedef struct score_item {
  tune_context *ctx;
  tune_schedule schedule;
  char *result; /* file the child writes its score into */
} score_item;

static int score_task(void *item) {
  score_item *s = item;
  double score;
  const int status = tune_score(s->ctx, &s->schedule, &score);
  if (status == 0) {
    FILE *f = fopen(s->result, "w");
    if (!f || fprintf(f, "%.17g\n", score) < 0 || fclose(f) != 0) {
      return 1;
    }
  }
  return status;
}

static void record(search *sr, const tune_schedule *s, const char *text, int refused,
                   double score) {
  char *key = lb_gen_format("%s %s", sr->pair_key, text);
  if (!tune_journal_add(sr->journal, key, refused, score)) {
    fail(1, lb_gen_format("%s: cannot be written", sr->journal->path));
  }
  sr->seen = lb_gen_realloc(sr->seen, (sr->seen_count + 1) * sizeof *sr->seen);
  sr->seen[sr->seen_count++] = (scored){*s, lb_gen_strdup(text), refused, 0, score};
  sr->scored_count += !refused;
  sr->scored_here += !refused;
  progress(sr);
}

/* Scores the schedules of batch not seen yet: from the journal where it has them, else their
 * kernels are built (in parallel) and the schedules scored, in parallel when modelled and one
 * at a time when timed. */
static void evaluate(search *sr, tune_schedule *batch, size_t count) {
  tune_context *ctx = sr->ctx;
  build_item *builds = lb_gen_alloc((count ? count : 1) * sizeof *builds);
  score_item *scores = lb_gen_alloc((count ? count : 1) * sizeof *scores);
  size_t build_count = 0, score_count = 0;
  for (size_t i = 0; i < count && sr->scored_count + score_count < sr->budget; i++) {
    char *text = tune_schedule_text(ctx->space, &batch[i]);
    if (find_seen(sr, text)) {
      continue;
    }
    const tune_result *r =
        tune_journal_find(sr->journal, lb_gen_format("%s %s", sr->pair_key, text));
    if (r) {
      sr->seen = lb_gen_realloc(sr->seen, (sr->seen_count + 1) * sizeof *sr->seen);
      sr->seen[sr->seen_count++] = (scored){batch[i], text, r->refused, 0, r->score};
      sr->scored_count += !r->refused;
      continue;
    }
    int duplicate = 0;
    for (size_t j = 0; j < score_count; j++) {
      duplicate |= strcmp(tune_schedule_text(ctx->space, &scores[j].schedule), text) == 0;
    }
    if (duplicate) {
      continue;
    }
    scores[score_count] =
        (score_item){ctx, batch[i], lb_gen_format("%s/score-%zu", ctx->work, score_count)};
    score_count++;
    const char *dir = tune_kernel_dir(ctx, &batch[i]);
    int have = 0;
    for (size_t j = 0; j < build_count; j++) {
      have |= strcmp(tune_kernel_dir(ctx, &builds[j].schedule), dir) == 0;
    }
    if (!have) {
      builds[build_count++] = (build_item){ctx, batch[i]};
    }
  }
  int *statuses = lb_gen_alloc((count ? count : 1) * sizeof *statuses);
  tune_pool(build_count, sr->jobs, build_task, builds, sizeof *builds, statuses);
  if (tune_interrupted) {
    return;
  }
  /* A kernel that does not build is refused for every schedule that uses it. */
  int *refused = lb_gen_alloc((score_count ? score_count : 1) * sizeof *refused);
  size_t runnable = 0;
  for (size_t i = 0; i < score_count; i++) {
    const char *dir = tune_kernel_dir(ctx, &scores[i].schedule);
    refused[i] = 0;
    for (size_t j = 0; j < build_count; j++) {
      if (strcmp(tune_kernel_dir(ctx, &builds[j].schedule), dir) == 0 && statuses[j] != 0) {
        if (statuses[j] != 3) {
          fail(1, lb_gen_format("building %s failed: see %s/log", dir, dir));
        }
        refused[i] = 1;
      }
    }
    if (!refused[i]) {
      scores[runnable] = scores[i];
      refused[runnable] = 0;
      runnable++;
    } else {
      record(sr, &scores[i].schedule, tune_schedule_text(ctx->space, &scores[i].schedule), 1, 0);
    }
  }
  int *score_statuses = lb_gen_alloc((runnable ? runnable : 1) * sizeof *score_statuses);
  if (ctx->scorer == TUNE_SCORE_MCA) {
    tune_pool(runnable, sr->jobs, score_task, scores, sizeof *scores, score_statuses);
  } else {
    /* Timing runs alone: two at once would share the machine and each would be wrong. */
    tune_pool(runnable, 1, score_task, scores, sizeof *scores, score_statuses);
  }
  if (tune_interrupted) {
    return;
  }
  for (size_t i = 0; i < runnable; i++) {
    const char *text = tune_schedule_text(ctx->space, &scores[i].schedule);
    if (score_statuses[i] == 3) {
      /* A tool's limit, not the schedule's: left out like a refused kernel, and said so. */
      fprintf(stderr, "lowbit-tune: llvm-mca cannot model %s (see %s/log): left out\n", text,
              tune_kernel_dir(ctx, &scores[i].schedule));
      record(sr, &scores[i].schedule, text, 1, 0);
      continue;
    }
    if (score_statuses[i] != 0) {
      fail(1, lb_gen_format("scoring %s failed: see %s/log", text,
                            tune_kernel_dir(ctx, &scores[i].schedule)));
    }
    size_t length;
    char *value = lb_gen_read_file(scores[i].result, &length);
    if (!value) {
      fail(1, lb_gen_format("%s: the score is missing", scores[i].result));
    }
    record(sr, &scores[i].schedule, text, 0, strtod(value, NULL));
  }
}

/* Every schedule of the space, for a space no larger than the budget. */
static void search_exhaustive(search *sr) {
  const tune_space *space = sr->ctx->space;
  tune_schedule *all = lb_gen_alloc(sr->space_points * sizeof *all);
  size_t count = 0;
  tune_schedule s = {0};
  for (s.family = 0; s.family < space->family_count; s.family++) {
    for (s.index[TUNE_MR] = 0; s.index[TUNE_MR] < tune_parameter_count(TUNE_MR);
         s.index[TUNE_MR]++) {
      for (s.index[TUNE_NR] = 0; s.index[TUNE_NR] < tune_parameter_count(TUNE_NR);
           s.index[TUNE_NR]++) {
        for (s.index[TUNE_KUNROLL] = 0; s.index[TUNE_KUNROLL] < tune_parameter_count(TUNE_KUNROLL);
             s.index[TUNE_KUNROLL]++) {
          if (!tune_kernel_is_valid(space, &s)) {
            continue;
          }
          for (size_t b = 0; b < tune_block_points(); b++) {
            tune_schedule p = s;
            p.index[TUNE_NC] = b % tune_parameter_count(TUNE_NC);
            p.index[TUNE_MC] = b / tune_parameter_count(TUNE_NC) % tune_parameter_count(TUNE_MC);
            p.index[TUNE_KC] = b / tune_parameter_count(TUNE_NC) / tune_parameter_count(TUNE_MC);
            all[count++] = p;
          }
        }
      }
    }
  }
  evaluate(sr, all, count);
}

/* Greedy best-first search (Zhang et al. 2019): start from each family's seed; then, over and
 * over, take the best schedule not yet expanded and score its neighbours (one parameter one step
 * up or down, on kernels that exist), until the budget is spent or nothing is left to expand. */
static void search_gbfs(search *sr, const tune_schedule *seeds, size_t seed_count) {
  tune_schedule *seed_copy = lb_gen_alloc((seed_count ? seed_count : 1) * sizeof *seed_copy);
  memcpy(seed_copy, seeds, seed_count * sizeof *seeds);
  evaluate(sr, seed_copy, seed_count);
  while (!tune_interrupted && sr->scored_count < sr->budget) {
    scored *next = NULL;
    for (size_t i = 0; i < sr->seen_count; i++) {
      scored *c = &sr->seen[i];
      if (!c->refused && !c->expanded &&
          (!next || c->score < next->score ||
           (c->score == next->score && strcmp(c->text, next->text) < 0))) {
        next = c;
      }
    }
    if (!next) {
      break;
    }
    next->expanded = 1;
    tune_schedule neighbours[2 * TUNE_PARAMETERS];
    size_t count = 0;
    for (int p = 0; p < TUNE_PARAMETERS; p++) {
      for (int step = -1; step <= 1; step += 2) {
        tune_schedule n = next->schedule;
        if (tune_step(&n, p, step) && tune_kernel_is_valid(sr->ctx->space, &n)) {
          neighbours[count++] = n;
        }
      }
    }
    evaluate(sr, neighbours, count);
  }
}

static const char *llvm_mca_version(void) {
  char *argv[] = {"llvm-mca", "--version", NULL}, *output = NULL;
  if (tune_run(argv, NULL, "/dev/null", &output) != 0) {
    fail(2, "llvm-mca is not installed (scripts/install-deps.sh installs Debian's llvm)");
  }
  const char *at = strstr(output, "LLVM version ");
  if (!at) {
    fail(2, "llvm-mca --version names no LLVM version");
  }
  at += strlen("LLVM version ");
  const char *end = at + strspn(at, "0123456789.");
  char *version = lb_gen_strndup(at, (size_t)(end - at));
  if (strncmp(version, LLVM_MAJOR ".", strlen(LLVM_MAJOR) + 1) != 0) {
    fail(2, lb_gen_format("llvm-mca %s found; lowbit-tune's models are pinned to LLVM " LLVM_MAJOR,
                          version));
  }
  return version;
}

/* The value of the first "key<blanks>: value" line of /proc/cpuinfo's text, or NULL. */
static char *cpuinfo_value(const char *text, const char *key) {
  const size_t length = strlen(key);
  for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    const char *colon = strchr(line, ':');
    if (colon && strncmp(line, key, length) == 0 &&
        line + length + strspn(line + length, " \t") == colon) {
      const char *value = colon + 1 + strspn(colon + 1, " \t");
      return lb_gen_strndup(value, strcspn(value, "\n"));
    }
  }
  return NULL;
}

/* The host as /proc/cpuinfo names it, with its CPUID family and model (a hypervisor may give
 * only a generic name) and the micro-architecture the runtime's probe takes it for. */
static const char *host_cpu_model(void) {
  size_t length;
  char *text = lb_gen_read_file("/proc/cpuinfo", &length);
  char *name = text ? cpuinfo_value(text, "model name") : NULL;
  char *family = text ? cpuinfo_value(text, "cpu family") : NULL;
  char *model = text ? cpuinfo_value(text, "model") : NULL;
  return lb_gen_format("%s (family %s, model %s; the probe's %s)",
                       name ? name : "an unnamed x86 CPU", family ? family : "?",
                       model ? model : "?", lb_cpu_uarch());
}

static int target_has(const lb_gen_target *t, const char *cpu) {
  return lb_gen_strings_contains(&t->cpus, cpu);
}

/* mkdir -p: path and the folders above it. */
static int make_dirs(const char *path) {
  char *copy = lb_gen_strdup(path);
  for (char *at = copy + 1; *at; at++) {
    if (*at == '/') {
      *at = '\0';
      mkdir(copy, 0755);
      *at = '/';
    }
  }
  return (mkdir(copy, 0755) == 0 || access(copy, W_OK) == 0);
}

static const char *required_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fail(2, lb_gen_format("%s wants a value", argv[*i]));
  }
  return argv[++*i];
}

int main(int argc, char **argv) {
  const char *target_name = NULL, *cpu = NULL, *pairs_text = "1u:1u,2u:1u,2u:2u,9s:8s",
             *shapes_text = "C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12", *kmax_text = "256",
             *isa_text = NULL, *score_text = NULL, *db = NULL, *work_root = NULL, *core = NULL,
             *sshlogin = NULL, *replay_path = NULL;
  unsigned budget = 48, jobs = 2, repeats = 11, rows = 1, max_pairs = 16;
  int fresh = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--target") == 0) {
      target_name = required_value(argc, argv, &i);
    } else if (strcmp(a, "--mcpu") == 0) {
      cpu = required_value(argc, argv, &i);
    } else if (strcmp(a, "--pairs") == 0) {
      pairs_text = required_value(argc, argv, &i);
    } else if (strcmp(a, "--shape") == 0) {
      shapes_text = required_value(argc, argv, &i);
    } else if (strcmp(a, "--kmax") == 0) {
      kmax_text = required_value(argc, argv, &i);
    } else if (strcmp(a, "--isa") == 0) {
      isa_text = required_value(argc, argv, &i);
    } else if (strcmp(a, "--score") == 0) {
      score_text = required_value(argc, argv, &i);
    } else if (strcmp(a, "--budget") == 0) {
      budget = parse_positive(a, required_value(argc, argv, &i), 1000000);
    } else if (strcmp(a, "--max-pairs") == 0) {
      max_pairs = parse_positive(a, required_value(argc, argv, &i), 256);
    } else if (strcmp(a, "--jobs") == 0) {
      jobs = parse_positive(a, required_value(argc, argv, &i), 256);
    } else if (strcmp(a, "--repeats") == 0) {
      repeats = parse_positive(a, required_value(argc, argv, &i), 10000);
    } else if (strcmp(a, "--rows") == 0) {
      rows = parse_positive(a, required_value(argc, argv, &i), 4096);
    } else if (strcmp(a, "--sshlogin") == 0) {
      sshlogin = required_value(argc, argv, &i);
    } else if (strcmp(a, "--db") == 0) {
      db = required_value(argc, argv, &i);
    } else if (strcmp(a, "--work") == 0) {
      work_root = required_value(argc, argv, &i);
    } else if (strcmp(a, "--core") == 0) {
      core = required_value(argc, argv, &i);
    } else if (strcmp(a, "--replay") == 0) {
      replay_path = required_value(argc, argv, &i);
    } else if (strcmp(a, "--fresh") == 0) {
      fresh = 1;
    } else {
      fail(2, lb_gen_format("unknown argument '%s' (lowbit-tune --help lists them)", a));
    }
  }
  if (!target_name) {
    fail(2, "--target is required (lowbit-tune --help)");
  }
  const char *root = LB_TUNE_SOURCE_ROOT, *targets = LB_TUNE_SOURCE_ROOT "/targets";
  lb_gen_target *target = NULL;
  char *target_path = lb_gen_format("%s/%s.target", targets, target_name);
  size_t length;
  char *target_text = lb_gen_read_file(target_path, &length);
  if (!target_text) {
    fail(2, lb_gen_format("no target '%s' (no %s)", target_name, target_path));
  }
  char *error = lb_gen_target_parse(target_path, target_name, target_text, length, &target);
  if (error) {
    fail(2, error);
  }
  const int arm = strcmp(target->arch, "x86_64") != 0;
  if (!cpu && !arm && !target_has(target, lb_cpu_uarch())) {
    fail(2, lb_gen_format("this machine's cpu (%s) is not a cpu of %s: name the one to tune for "
                          "with --mcpu (its cpus: see %s)",
                          lb_cpu_uarch(), target_name, target_path));
  }
  if (!cpu) {
    cpu = arm ? target->cpus.items[0] : lb_cpu_uarch();
  }
  if (!target_has(target, cpu)) {
    fail(2,
         lb_gen_format("%s is not a cpu of %s (its cpus: see %s)", cpu, target_name, target_path));
  }
  tune_scorer scorer = arm ? TUNE_SCORE_MCA : TUNE_SCORE_TIME;
  if (score_text) {
    if (strcmp(score_text, "time") != 0 && strcmp(score_text, "mca") != 0) {
      fail(2, lb_gen_format("--score is time or mca, not '%s'", score_text));
    }
    scorer = strcmp(score_text, "mca") == 0 ? TUNE_SCORE_MCA : TUNE_SCORE_TIME;
  }
  if (scorer == TUNE_SCORE_MCA && !arm && !replay_path) {
    fail(2, "--score mca on x86 only replays a timed run (--replay, scripts/tune-trust.sh): x86 "
            "schedules are timed");
  }
  if (scorer == TUNE_SCORE_TIME && arm && !sshlogin) {
    fail(2,
         lb_gen_format("timing %s needs a board (--sshlogin): QEMU gives no timing", target_name));
  }
  /* llvm-mca has no Cortex-A53 model for 32-bit ARM: armv7 candidates are scored as the same
   * schedules built for aarch64, and the database says so. */
  const lb_gen_target *build_target = target;
  if (scorer == TUNE_SCORE_MCA && strcmp(target->arch, "armv7") == 0) {
    lb_gen_target *aarch64 = NULL;
    char *path = lb_gen_format("%s/aarch64-neon.target", targets);
    char *text = lb_gen_read_file(path, &length);
    if (!text || (error = lb_gen_target_parse(path, "aarch64-neon", text, length, &aarch64))) {
      fail(2, error ? error : lb_gen_format("cannot read %s", path));
    }
    build_target = aarch64;
  }
  const char *mca_version = scorer == TUNE_SCORE_MCA ? llvm_mca_version() : NULL;
  if (!core) {
    core = strcmp(build_target->arch, "x86_64") == 0
               ? LB_TUNE_HOST_CORE
               : lb_gen_format("%s/cross/%s/runtime/liblowbit_core.a", LB_TUNE_BUILD_DIR,
                               build_target->name);
  }
  if (access(core, R_OK) != 0) {
    fail(2, lb_gen_format("no %s: build the %s library first (the host build's cross build, or "
                          "--core)",
                          core, build_target->name));
  }

  /* Shapes and their classes by K. */
  lb_gen_strings shape_words = {0}, kmax_words = {0}, pair_words = {0}, isa_words = {0};
  split(&shape_words, shapes_text, ' ');
  split(&kmax_words, kmax_text, ',');
  split(&pair_words, pairs_text, ',');
  split(&isa_words, isa_text ? isa_text : "", ',');
  if (shape_words.count == 0 || pair_words.count == 0) {
    fail(2, "--shape and --pairs need at least one item");
  }
  tune_operand(*pairs)[2] = lb_gen_alloc(pair_words.count * sizeof *pairs);
  for (size_t p = 0; p < pair_words.count; p++) {
    const char *colon = strchr(pair_words.items[p], ':');
    if (!colon ||
        !tune_parse_operand(
            lb_gen_strndup(pair_words.items[p], (size_t)(colon - pair_words.items[p])),
            &pairs[p][0]) ||
        !tune_parse_operand(colon + 1, &pairs[p][1])) {
      fail(2, lb_gen_format("--pairs: '%s' is not A:W such as 2u:1b", pair_words.items[p]));
    }
  }
  tune_shape *shapes = lb_gen_alloc(shape_words.count * sizeof *shapes);
  for (size_t i = 0; i < shape_words.count; i++) {
    layer_shape l;
    if (!parse_shape(shape_words.items[i], &l)) {
      fail(2, lb_gen_format("--shape: '%s' is neither C2..C12 nor H,W,CIN,COUT,K,S",
                            shape_words.items[i]));
    }
    shapes[i] = (tune_shape){shape_words.items[i], shape_out_rows(&l),
                             (size_t)l.kernel * l.kernel * l.in_c};
  }
  size_t class_count = kmax_words.count + 1;
  unsigned long *bounds = lb_gen_alloc(class_count * sizeof *bounds);
  for (size_t i = 0; i < kmax_words.count; i++) {
    if (!parse_count(kmax_words.items[i], 1, 1ul << 30, &bounds[i]) ||
        (i > 0 && bounds[i] <= bounds[i - 1])) {
      fail(2, lb_gen_format("--kmax wants increasing whole numbers, not '%s'", kmax_text));
    }
  }
  bounds[class_count - 1] = 0; /* any */
  /* A class's shapes: the first bound that holds K. The last class with shapes becomes `any`,
   * so that every K finds an entry. */
  size_t *class_of = lb_gen_alloc(shape_words.count * sizeof *class_of);
  size_t last_class = 0;
  for (size_t i = 0; i < shape_words.count; i++) {
    size_t c = 0;
    while (c + 1 < class_count && shapes[i].k > bounds[c]) {
      c++;
    }
    class_of[i] = c;
    last_class = c > last_class ? c : last_class;
  }

  char *cpu_name = lb_gen_strdup(cpu);
  if (!db) {
    db = lb_gen_format("%s/%s.%s.schedules", targets, target_name, cpu_name);
  }
  if (!work_root) {
    /* The target the candidates are built for: an armv7 run scored on the aarch64 model shares
     * the aarch64 run's kernels and journal, whose scores are the same schedules'. */
    work_root = lb_gen_format("lowbit-tune-work/%s.%s", build_target->name, cpu_name);
  }
  if (!make_dirs(work_root)) {
    fail(2, lb_gen_format("cannot make the work folder %s", work_root));
  }
  tune_catch_interrupts();

  const char *scored_by =
      scorer == TUNE_SCORE_TIME
          ? lb_gen_format("median thread CPU time in ns over %u runs on %s%s%s", repeats,
                          sshlogin ? "the --sshlogin machine" : host_cpu_model(),
                          sshlogin ? "" : ", one thread", "")
          : lb_gen_format("llvm-mca %s -mcpu=%s modelled cycles over every instruction of a run"
                          "%s (all loads hit L1)",
                          mca_version, cpu,
                          build_target != target ? ", on the aarch64 model: the schedules built "
                                                   "for aarch64-neon"
                                                 : "");

  lb_gen_buf inputs = {0};
  lb_gen_buf_printf(&inputs,
                    "target=%s cpu=%s score=%s shapes=%s kmax=%s isa=%s repeats=%u "
                    "rows=%u",
                    build_target->name, cpu, scorer == TUNE_SCORE_TIME ? "time" : "mca",
                    shapes_text, kmax_text, isa_text ? isa_text : "simd", repeats, rows);
  char *journal_path = lb_gen_format("%s/journal", work_root);
  if (fresh) {
    unlink(journal_path);
  }
  tune_journal journal;
  if ((error = tune_journal_open(&journal, journal_path, inputs.data))) {
    fail(2, error);
  }
  tune_journal replay = {0};
  if (replay_path && (error = tune_journal_open(&replay, replay_path, NULL))) {
    fail(2, error);
  }
  fprintf(stderr, "lowbit-tune: %s on %s, scored by %s\n", target_name, cpu, scored_by);
  if (journal.count) {
    fprintf(stderr, "lowbit-tune: resuming from %s (%zu schedules scored)\n", journal_path,
            journal.count);
  }

  tune_entry *entries = lb_gen_alloc(pair_words.count * class_count * sizeof *entries);
  size_t entry_count = 0;
  for (size_t p = 0; p < pair_words.count && !tune_interrupted; p++) {
    tune_space space = {0};
    space.a = pairs[p][0], space.w = pairs[p][1];
    /* The families: bit-serial on each SIMD isa (XOR too for two bipolar operands), direct on
     * each format the isa's templates take. */
    static const char *const formats[] = {"u8s8", "s8", "s16"};
    space.families = lb_gen_alloc(target->isas.count * 5 * sizeof *space.families);
    for (size_t i = 0; i < build_target->isas.count; i++) {
      const char *isa = build_target->isas.items[i];
      if (strcmp(isa, "generic") == 0 ||
          (isa_words.count && !lb_gen_strings_contains(&isa_words, isa)) ||
          (build_target != target && !lb_gen_strings_contains(&target->isas, isa))) {
        continue;
      }
      if (space.a.bits * space.w.bits <= max_pairs) {
        space.families[space.family_count++] = (tune_family){"bitserial", isa, NULL};
      }
      if (space.a.encoding == 'b' && space.w.encoding == 'b') {
        space.families[space.family_count++] = (tune_family){"bitserial-xor", isa, NULL};
      }
      for (size_t f = 0; f < 3; f++) {
        if (f < 2 && (space.a.bits > 8 || space.w.bits > 8)) {
          continue;
        }
        space.families[space.family_count++] = (tune_family){"direct", isa, formats[f]};
      }
    }
    char *pair_dir = lb_gen_format("%s/%u%c-%u%c", work_root, space.a.bits, space.a.encoding,
                                   space.w.bits, space.w.encoding);
    mkdir(pair_dir, 0755);
    tune_context ctx = {target,     build_target, cpu,
                        scorer,     root,         LB_TUNE_GEN,
                        LB_TUNE_CC, core,         LB_TUNE_HOST_LIBS,
                        pair_dir,   sshlogin,     repeats,
                        rows,       &space,       NULL,
                        0};
    tune_check_kernels(&ctx, &space, jobs);
    if (build_target != target) {
      /* A schedule of the database must exist on the target itself (armv7 has 16 NEON
       * registers, aarch64 32), not only on the aarch64 build that scores it. */
      tune_space own = space;
      tune_context own_ctx = ctx;
      own_ctx.build_target = target;
      own_ctx.space = &own;
      tune_check_kernels(&own_ctx, &own, jobs);
      const size_t kernels = space.family_count * tune_parameter_count(TUNE_MR) *
                             tune_parameter_count(TUNE_NR) * tune_parameter_count(TUNE_KUNROLL);
      for (size_t k = 0; k < kernels; k++) {
        space.valid[k] &= own.valid[k];
      }
    }
    if (tune_interrupted) {
      break;
    }
    const size_t points = tune_valid_kernels(&space) * tune_block_points();
    if (points == 0) {
      fail(2, lb_gen_format("no kernel of %s takes %s", target_name, pair_words.items[p]));
    }
    for (size_t c = 0; c <= last_class && !tune_interrupted; c++) {
      tune_shape *class_shapes = lb_gen_alloc(shape_words.count * sizeof *class_shapes);
      size_t n = 0;
      lb_gen_buf names = {0};
      for (size_t i = 0; i < shape_words.count; i++) {
        if (class_of[i] == c) {
          class_shapes[n++] = shapes[i];
          lb_gen_buf_printf(&names, "%s%s", n > 1 ? " " : "", shapes[i].name);
        }
      }
      if (n == 0) {
        continue;
      }
      ctx.shapes = class_shapes, ctx.shape_count = n;
      char *kmax = c == last_class ? lb_gen_strdup("any") : lb_gen_format("%lu", bounds[c]);
      search sr = {&ctx,
                   &journal,
                   lb_gen_format("%s kmax=%s", pair_words.items[p], kmax),
                   jobs,
                   budget < points ? budget : points,
                   points,
                   NULL,
                   0,
                   0,
                   time(NULL),
                   0,
                   scorer == TUNE_SCORE_TIME ? "ns" : "cycles"};
      const int exhaustive = points <= budget;
      if (replay_path) {
        char *prefix = lb_gen_format("%s ", sr.pair_key);
        tune_schedule *replayed = lb_gen_alloc((replay.count + 1) * sizeof *replayed);
        size_t count = 0;
        for (size_t r = 0; r < replay.count; r++) {
          const char *key = replay.results[r].key;
          if (replay.results[r].refused || strncmp(key, prefix, strlen(prefix)) != 0) {
            continue;
          }
          if (!tune_parse_schedule(&space, key + strlen(prefix), &replayed[count]) ||
              !tune_kernel_is_valid(&space, &replayed[count])) {
            fail(2, lb_gen_format("%s: '%s' is not a schedule of this space", replay_path, key));
          }
          count++;
        }
        sr.budget = count;
        evaluate(&sr, replayed, count);
        continue;
      }
      if (exhaustive) {
        search_exhaustive(&sr);
      } else {
        tune_schedule *seeds = lb_gen_alloc(space.family_count * sizeof *seeds);
        size_t seed_count = 0;
        for (size_t f = 0; f < space.family_count; f++) {
          seed_count += family_seed(&ctx, f, &seeds[seed_count]);
        }
        search_gbfs(&sr, seeds, seed_count);
      }
      if (tune_interrupted) {
        break;
      }
      const scored *best = best_of(&sr);
      if (!best) {
        fail(1, lb_gen_format("%s: the runtime took no candidate", sr.pair_key));
      }
      lb_gen_buf line = {0}, comment = {0};
      lb_gen_buf_printf(&line, "cpu=%s a=%u%c w=%u%c kmax=%s %s score=%.0f unit=%s", cpu,
                        space.a.bits, space.a.encoding, space.w.bits, space.w.encoding, kmax,
                        best->text, best->score, sr.unit);
      lb_gen_buf_printf(
          &comment, "# %s: %s; the best of %zu schedules scored (%.2f%% of %zu, %s)\n", sr.pair_key,
          names.data, sr.scored_count, 100.0 * (double)sr.scored_count / (double)points, points,
          exhaustive ? "exhaustive" : "greedy best-first");
      entries[entry_count++] =
          (tune_entry){lb_gen_format("a=%u%c w=%u%c", space.a.bits, space.a.encoding, space.w.bits,
                                     space.w.encoding),
                       comment.data, line.data};
      fprintf(stderr, "lowbit-tune: %s: %s\n", sr.pair_key, best->text);
    }
  }
  if (tune_interrupted) {
    fprintf(stderr,
            "lowbit-tune: interrupted; %s keeps what was scored: rerun the same command "
            "to resume\n",
            journal_path);
    return 1;
  }
  if (replay_path) {
    fprintf(stderr, "lowbit-tune: replayed %s into %s\n", replay_path, journal_path);
    return 0;
  }
  lb_gen_buf header = {0};
  lb_gen_buf_printf(&header,
                    "# Schedules of %s on %s (docs/design.md, section 32), written by lowbit-tune\n"
                    "# (docs/design.md, section 33). Scored by:\n# %s.\n",
                    target_name, cpu, scored_by);
  if ((error = tune_database_merge(db, header.data, entries, entry_count))) {
    fail(1, error);
  }
  fprintf(stderr, "lowbit-tune: wrote %s\n", db);
  return 0;
}
