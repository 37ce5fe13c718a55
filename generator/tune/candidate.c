#include "candidate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* Exit status of a task for a kernel that the generator or the runtime refuses. */
#define REFUSED 3

static int make_dir(const char *path) { return mkdir(path, 0755) == 0 || errno == EEXIST; }

static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    return 0;
  }
  const int ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok;
}

static int copy_file(const char *from, const char *to) {
  size_t length;
  char *text = lb_gen_read_file(from, &length);
  return text && write_text(to, text);
}

static void log_line(const char *log, const char *text) {
  FILE *f = fopen(log, "a");
  if (f) {
    fprintf(f, "%s\n", text);
    fclose(f);
  }
}

char *tune_kernel_dir(const tune_context *ctx, const tune_schedule *s) {
  const tune_family *f = &ctx->space->families[s->family];
  return lb_gen_format("%s/%s-%s-%s-%ux%u-u%u", ctx->work, f->strategy, f->isa,
                       f->format ? f->format : "planes",
                       tune_parameter_value(TUNE_MR, s->index[TUNE_MR]),
                       tune_parameter_value(TUNE_NR, s->index[TUNE_NR]),
                       tune_parameter_value(TUNE_KUNROLL, s->index[TUNE_KUNROLL]));
}

/* The candidate's .tuning: the target's cpu=default line as it is, then one row per block point
 * of the space, which LOWBIT_CPU selects at run time. */
static int write_tuning(const tune_context *ctx, const char *path) {
  char *source = lb_gen_format("%s/targets/%s.tuning", ctx->source_root, ctx->build_target->name);
  size_t length;
  char *text = lb_gen_read_file(source, &length);
  if (!text) {
    return 0;
  }
  lb_gen_buf out = {0};
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "cpu=default ", 12) == 0) {
      lb_gen_buf_printf(&out, "%s\n", line);
    }
  }
  tune_schedule s = {0};
  for (s.index[TUNE_KC] = 0; s.index[TUNE_KC] < tune_parameter_count(TUNE_KC); s.index[TUNE_KC]++) {
    for (s.index[TUNE_MC] = 0; s.index[TUNE_MC] < tune_parameter_count(TUNE_MC);
         s.index[TUNE_MC]++) {
      for (s.index[TUNE_NC] = 0; s.index[TUNE_NC] < tune_parameter_count(TUNE_NC);
           s.index[TUNE_NC]++) {
        lb_gen_buf_printf(&out, "cpu=%s", tune_block_row(&s));
        static const char *const names[] = {"kc", "mc", "nc"};
        for (int p = TUNE_KC; p <= TUNE_NC; p++) {
          const unsigned v = tune_parameter_value(p, s.index[p]);
          lb_gen_buf_printf(&out, v ? " %s=%u" : " %s=auto", names[p - TUNE_KC], v);
        }
        lb_gen_buf_puts(&out, "\n");
      }
    }
  }
  return out.data && write_text(path, out.data);
}

static int is_arm(const lb_gen_target *t) { return strcmp(t->arch, "x86_64") != 0; }

/* lowbit-gen's --mcpu: the CPU on ARM, where the kernels are compiled for it; on x86 the target's
 * default, as the build has it (the kernels take no -mtune there, and clang 14 knows no
 * -mtune=emeraldrapids). */
static const char *gen_cpu(const tune_context *ctx) {
  return is_arm(ctx->build_target) ? ctx->cpu : ctx->build_target->cpus.items[0];
}

/* The compiler's target flags: the board's triple and CPU (as the cross builds' toolchain files
 * give them) and the target's cflags. */
static void push_target_flags(const tune_context *ctx, lb_gen_strings *argv) {
  const lb_gen_target *t = ctx->build_target;
  if (is_arm(t)) {
    lb_gen_strings_push(argv, lb_gen_format("--target=%s", t->triple));
    lb_gen_strings_push(argv, lb_gen_format("-mcpu=%s", ctx->cpu));
  }
  for (size_t i = 0; i < t->cflags.count; i++) {
    lb_gen_strings_push(argv, t->cflags.items[i]);
  }
}

/* argv as execvp takes it: NULL after the last word. */
static char **argv_of(lb_gen_strings *words) {
  words->items = lb_gen_realloc(words->items, (words->count + 1) * sizeof *words->items);
  words->items[words->count] = NULL;
  return words->items;
}

static int run_words(lb_gen_strings *argv, const char *log) {
  return tune_run(argv_of(argv), NULL, log, NULL);
}

int tune_build_kernel(const tune_context *ctx, const tune_schedule *s) {
  const char *dir = tune_kernel_dir(ctx, s), *name = ctx->build_target->name;
  char *program = lb_gen_format("%s/harness", dir), *built = lb_gen_format("%s/built", dir);
  if (access(built, F_OK) == 0) {
    return 0;
  }
  char *targets = lb_gen_format("%s/targets", dir), *gen = lb_gen_format("%s/gen", dir),
       *spec = lb_gen_format("%s/spec", dir), *log = lb_gen_format("%s/log", dir);
  if (!make_dir(dir) || !make_dir(targets) ||
      !write_text(spec, lb_gen_format("%s\n", tune_kernel_spec(ctx->space, s))) ||
      !write_tuning(ctx, lb_gen_format("%s/%s.tuning", targets, name))) {
    return 1;
  }
  static const char *const copied[] = {"target", "crossover"};
  for (size_t i = 0; i < 2; i++) {
    if (!copy_file(lb_gen_format("%s/targets/%s.%s", ctx->source_root, name, copied[i]),
                   lb_gen_format("%s/%s.%s", targets, name, copied[i]))) {
      return 1;
    }
  }
  /* The candidate's kernel alone: no committed schedule database adds kernels to it. */
  char *gen_argv[] = {(char *)ctx->gen,     "--spec",    spec,    "--target", (char *)name,
                      "--mcpu",             (char *)gen_cpu(ctx), "--targets", targets,
                      "--schedule=none",    "-o",        gen,     NULL,       NULL};
  int status = tune_run(gen_argv, NULL, log, NULL);
  if (status != 0) {
    return status == 2 ? REFUSED : 1;
  }
  char *outputs = NULL;
  gen_argv[10] = "--list-outputs";
  gen_argv[11] = NULL;
  if (tune_run(gen_argv, NULL, log, &outputs) != 0) {
    return 1;
  }
  lb_gen_strings objects = {0};
  for (char *line = strtok(outputs, "\n"); line; line = strtok(NULL, "\n")) {
    char *tab = strchr(line, '\t');
    if (!tab) {
      return 1;
    }
    *tab = '\0';
    lb_gen_strings cc = {0};
    lb_gen_strings_push(&cc, ctx->cc);
    push_target_flags(ctx, &cc);
    const lb_gen_strings *isa_flags = lb_gen_target_isa_flags(ctx->build_target, tab + 1);
    for (size_t i = 0; i < isa_flags->count; i++) {
      lb_gen_strings_push(&cc, isa_flags->items[i]);
    }
    char *object = lb_gen_format("%s/%s.o", gen, line);
    const char *tail[] = {"-O3", "-DNDEBUG", "-std=c11", "-I",
                          lb_gen_format("%s/runtime/include", ctx->source_root), "-I",
                          lb_gen_format("%s/runtime/src", ctx->source_root), "-I", gen, "-c",
                          lb_gen_format("%s/%s", gen, line), "-o", object};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
      lb_gen_strings_push(&cc, tail[i]);
    }
    if (run_words(&cc, log) != 0) {
      return 1;
    }
    lb_gen_strings_push(&objects, object);
  }
  lb_gen_strings link = {0};
  lb_gen_strings_push(&link, ctx->cc);
  push_target_flags(ctx, &link);
  const char *head[] = {"-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-I",
                        lb_gen_format("%s/runtime/include", ctx->source_root),
                        lb_gen_format("%s/generator/tune/harness.c", ctx->source_root)};
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
    lb_gen_strings_push(&link, head[i]);
  }
  for (size_t i = 0; i < objects.count; i++) {
    lb_gen_strings_push(&link, objects.items[i]);
  }
  lb_gen_strings_push(&link, ctx->core);
  if (is_arm(ctx->build_target)) {
    lb_gen_strings_push(&link, "-static");
  } else {
    /* Not position-independent: the addresses QEMU logs for a modelled run are then those of the
     * disassembly (scripts/mca-trace.sh). */
    lb_gen_strings_push(&link, "-no-pie");
    lb_gen_strings words = {0};
    lb_gen_strings_split(&words, ctx->host_libs);
    for (size_t i = 0; i < words.count; i++) {
      lb_gen_strings_push(&link, words.items[i]);
    }
  }
  const char *libs[] = {"-lm", "-lpthread", "-o", program};
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    lb_gen_strings_push(&link, libs[i]);
  }
  if (run_words(&link, log) != 0) {
    return 1;
  }
  /* Does the runtime take this kernel for the operands on this CPU? One output row of the first
   * shape, where the scores will run: on this machine when timed, else under QEMU's model of the
   * CPU, which faults on an instruction the CPU lacks (neondot on a Cortex-A53); QEMU's x86 max
   * has AVX2 and no AVX-512, whose kernels the runtime then does not take. */
  const tune_space *sp = ctx->space;
  char abits[8], wbits[8], aenc[2] = {sp->a.encoding, 0}, wenc[2] = {sp->w.encoding, 0};
  snprintf(abits, sizeof abits, "%u", sp->a.bits);
  snprintf(wbits, sizeof wbits, "%u", sp->w.bits);
  lb_gen_strings probe = {0};
  if (is_arm(ctx->build_target)) {
    lb_gen_strings qemu = {0};
    lb_gen_strings_split(&qemu, ctx->build_target->qemu);
    lb_gen_strings_push(&probe, qemu.items[0]);
    lb_gen_strings_push(&probe, "-cpu");
    lb_gen_strings_push(&probe, ctx->cpu);
  } else if (ctx->scorer == TUNE_SCORE_MCA) {
    lb_gen_strings_push(&probe, "qemu-x86_64");
    lb_gen_strings_push(&probe, "-cpu");
    lb_gen_strings_push(&probe, "max");
  }
  const char *strategy = strcmp(sp->families[s->family].strategy, "direct") == 0 ? "direct"
                                                                                  : "bitserial";
  const char *args[] = {program, ctx->shapes[0].name, abits, aenc, wbits, wenc, strategy, "1", "0"};
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
    lb_gen_strings_push(&probe, args[i]);
  }
  if (run_words(&probe, log) != 0) {
    log_line(log, "lowbit-tune: the runtime refuses this kernel for the operands on this CPU");
    return REFUSED;
  }
  return write_text(built, "") ? 0 : 1;
}

/* The word-th word after `label` on its line of text, as a number (`median_ns 1234`: word 1; the
 * trace's `all N instructions M cycles`: word 3), or a negative value. */
static double find_number(const char *text, const char *label, int word) {
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1
                                                                          : NULL) {
    if (strncmp(line, label, strlen(label)) == 0 && line[strlen(label)] == ' ') {
      const char *at = line + strlen(label);
      for (int i = 1; i <= word; i++) {
        at += strspn(at, " \t");
        if (i < word) {
          at += strcspn(at, " \t\n");
        }
      }
      char *end;
      const double value = strtod(at, &end);
      if (end == at) {
        return -1;
      }
      return value;
    }
  }
  return -1;
}

int tune_score(const tune_context *ctx, const tune_schedule *s, double *score) {
  const char *dir = tune_kernel_dir(ctx, s);
  char *program = lb_gen_format("%s/harness", dir), *log = lb_gen_format("%s/log", dir);
  char *env[] = {lb_gen_format("LOWBIT_CPU=%s", tune_block_row(s)), NULL};
  const tune_space *sp = ctx->space;
  char abits[8], wbits[8], aenc[2] = {sp->a.encoding, 0}, wenc[2] = {sp->w.encoding, 0};
  snprintf(abits, sizeof abits, "%u", sp->a.bits);
  snprintf(wbits, sizeof wbits, "%u", sp->w.bits);
  const char *strategy = strcmp(sp->families[s->family].strategy, "direct") == 0 ? "direct"
                                                                                  : "bitserial";
  double total = 0;
  for (size_t i = 0; i < ctx->shape_count; i++) {
    const tune_shape *shape = &ctx->shapes[i];
    const unsigned rows =
        ctx->scorer == TUNE_SCORE_MCA && ctx->rows < shape->out_rows ? ctx->rows : 0;
    char rows_text[16], repeats_text[16];
    snprintf(rows_text, sizeof rows_text, "%u", rows);
    snprintf(repeats_text, sizeof repeats_text, "%u",
             ctx->scorer == TUNE_SCORE_TIME ? ctx->repeats : 0);
    lb_gen_strings argv = {0};
    if (ctx->scorer == TUNE_SCORE_MCA) {
      const char *head[] = {"bash", lb_gen_format("%s/scripts/mca-trace.sh", ctx->source_root),
                            "--cpu", ctx->cpu, "--region", "lb_mca_begin,lb_mca_end", ".*"};
      for (size_t j = 0; j < sizeof head / sizeof head[0]; j++) {
        lb_gen_strings_push(&argv, head[j]);
      }
    } else if (ctx->sshlogin) {
      /* GNU parallel copies the program to the login's machine (nothing for ':', this one),
       * runs it there with LOWBIT_CPU, and removes the copy. */
      const char *head[] = {"parallel", "--will-cite", "--no-notice", "-j1", "--sshlogin",
                            ctx->sshlogin, "--env", "LOWBIT_CPU", "--transferfile", "{}",
                            "--cleanup"};
      for (size_t j = 0; j < sizeof head / sizeof head[0]; j++) {
        lb_gen_strings_push(&argv, head[j]);
      }
      program = "{}";
    }
    const char *args[] = {program, shape->name, abits, aenc, wbits, wenc, strategy, rows_text,
                          repeats_text};
    for (size_t j = 0; j < sizeof args / sizeof args[0]; j++) {
      lb_gen_strings_push(&argv, args[j]);
    }
    if (ctx->scorer == TUNE_SCORE_TIME && ctx->sshlogin) {
      lb_gen_strings_push(&argv, ":::");
      lb_gen_strings_push(&argv, lb_gen_format("%s/harness", dir));
    }
    char *output = NULL;
    const int status = tune_run(argv_of(&argv), env, log, &output);
    if (status != 0) {
      return ctx->scorer == TUNE_SCORE_MCA && status == 3 ? 3 : 1;
    }
    if (ctx->scorer == TUNE_SCORE_MCA) {
      const double cycles = find_number(output, "all", 3);
      if (cycles < 0) {
        return 1;
      }
      total += rows ? cycles * (double)shape->out_rows / rows : cycles;
    } else {
      const double ns = find_number(output, "median_ns", 1);
      if (ns < 0) {
        return 1;
      }
      total += ns;
    }
  }
  *score = total;
  return 0;
}

typedef struct check_item {
  const tune_context *ctx;
  tune_schedule schedule;
} check_item;

static int check_task(void *item) {
  const check_item *c = item;
  const tune_context *ctx = c->ctx;
  const tune_family *f = &ctx->space->families[c->schedule.family];
  char tile[32], unroll[8], a[8], w[8];
  snprintf(tile, sizeof tile, "%ux%u", tune_parameter_value(TUNE_MR, c->schedule.index[TUNE_MR]),
           tune_parameter_value(TUNE_NR, c->schedule.index[TUNE_NR]));
  snprintf(unroll, sizeof unroll, "%u",
           tune_parameter_value(TUNE_KUNROLL, c->schedule.index[TUNE_KUNROLL]));
  snprintf(a, sizeof a, "%u%c", ctx->space->a.bits, ctx->space->a.encoding);
  snprintf(w, sizeof w, "%u%c", ctx->space->w.bits, ctx->space->w.encoding);
  const char *words[] = {ctx->gen, "--target", ctx->build_target->name, "--mcpu", gen_cpu(ctx),
                         "--isa", f->isa, "--op", "gemm", "--strategy", f->strategy, "--tile",
                         tile, "--kunroll", unroll, "-o",
                         lb_gen_format("%s/check-%d", ctx->work, (int)getpid())};
  lb_gen_strings argv = {0};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    lb_gen_strings_push(&argv, words[i]);
  }
  const char *operands[] = {"--format", f->format, "--a", a, "--w", w};
  for (size_t i = f->format ? 0 : 2; i < (f->format ? 2 : 6); i++) {
    lb_gen_strings_push(&argv, operands[i]);
  }
  char *output = NULL;
  return tune_run(argv_of(&argv), NULL, "/dev/null", &output);
}

void tune_check_kernels(const tune_context *ctx, tune_space *space, size_t jobs) {
  const size_t mrs = tune_parameter_count(TUNE_MR), nrs = tune_parameter_count(TUNE_NR),
               unrolls = tune_parameter_count(TUNE_KUNROLL);
  const size_t count = space->family_count * mrs * nrs * unrolls;
  check_item *items = lb_gen_alloc(count * sizeof *items);
  int *statuses = lb_gen_alloc(count * sizeof *statuses);
  for (size_t i = 0; i < count; i++) {
    tune_schedule s = {0};
    size_t rest = i;
    s.index[TUNE_KUNROLL] = rest % unrolls, rest /= unrolls;
    s.index[TUNE_NR] = rest % nrs, rest /= nrs;
    s.index[TUNE_MR] = rest % mrs, rest /= mrs;
    s.family = rest;
    items[i] = (check_item){ctx, s};
  }
  tune_pool(count, jobs, check_task, items, sizeof *items, statuses);
  space->valid = lb_gen_alloc(count);
  for (size_t i = 0; i < count; i++) {
    space->valid[tune_kernel_index(space, &items[i].schedule)] = statuses[i] == 0;
  }
}
