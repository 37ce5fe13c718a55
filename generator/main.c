/* lowbit-gen: expands kernel templates into C for a target (docs/design.md, sections 6 to 9). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "clang_check.h"
#include "emit.h"
#include "kernel.h"
#include "ops.h"
#include "output.h"
#include "paths.h"
#include "registry.h"
#include "schedules.h"
#include "spec.h"
#include "target.h"
#include "tuning.h"
#include "util.h"

#ifndef LB_GEN_SOURCE_ROOT
#error "build with -DLB_GEN_SOURCE_ROOT=\"<source>\""
#endif
#ifndef LB_GEN_DEFAULT_TEMPLATES
#error "build with -DLB_GEN_DEFAULT_TEMPLATES=\"<source>/templates\""
#endif
#ifndef LB_GEN_DEFAULT_TARGETS
#error "build with -DLB_GEN_DEFAULT_TARGETS=\"<source>/targets\""
#endif
#ifndef LB_GEN_DEFAULT_INCLUDE
#error "build with -DLB_GEN_DEFAULT_INCLUDE=\"<source>/runtime/include\""
#endif

static const char usage_head[] =
    "usage: lowbit-gen --spec FILE --target T [--mcpu CPU] [--schedule S]\n"
    "                  (-o DIR | --list-outputs)\n"
    "       lowbit-gen --target T [--mcpu CPU] [--isa ISA] --op OP [--KEY VALUE ...] -o DIR\n"
    "       lowbit-gen --list-targets | --help | --version\n"
    "\n"
    "Writes generated kernels (NAME.c and NAME.h) into DIR after libclang has parsed each one\n"
    "for the target without a warning. Spec mode also writes lb_registry.c; one-kernel mode\n"
    "prints the kernel's name.\n"
    "\n"
    "  --spec FILE        kernels.spec: every kernel whose isa the target lists\n"
    "  --list-outputs     print '<file.c><TAB><isa>' for each .c spec mode writes; write nothing\n"
    "  --schedule S       the schedule databases whose kernels and choices spec mode adds: auto,\n"
    "                     every TARGETS/<T>.<cpu>.schedules (default); none; or a FILE\n"
    "  --target T         a description in the targets folder (default: generic)\n"
    "  --mcpu CPU         one of the target's cpus (default: its first)\n"
    "  -o DIR             output folder, created if needed\n"
    "  --op OP            the kernel's op; its keys follow as --KEY VALUE (spec lines: KEY=VALUE)\n"
    "  --isa ISA          one of the target's isas (default: its last, the most specific)\n";

static const char usage_ops[] =
    "\n"
    "Ops and their keys (schedule keys add a suffix to the kernel name):\n";

static const char usage_tail[] =
    "\nExit status: 0 done, 1 a generated file does not check clean, 2 bad input.\n";

static void print_usage(void) {
  fputs(usage_head, stdout);
  printf("  --templates DIR    templates folder (default: %s)\n",
         lb_gen_default_path(LB_GEN_DEFAULT_TEMPLATES));
  printf("  --targets DIR      targets folder (default: %s)\n",
         lb_gen_default_path(LB_GEN_DEFAULT_TARGETS));
  printf("  --include DIR      folder holding lowbit/ukernel.h (default: %s)\n",
         lb_gen_default_path(LB_GEN_DEFAULT_INCLUDE));
  fputs(usage_ops, stdout);
  size_t count;
  const lb_gen_op *ops = lb_gen_ops(&count);
  for (size_t i = 0; i < count; i++) {
    printf("  %s: %s\n", ops[i].name, ops[i].summary);
    for (const lb_gen_key *key = ops[i].keys; key->name; key++) {
      char *flag = lb_gen_format("--%s", key->name);
      printf("    %-16s %s%s%s%s\n", flag, key->help, key->fallback ? " (default: '" : "",
             key->fallback ? key->fallback : "", key->fallback ? "')" : "");
      lb_gen_free(flag);
    }
  }
  fputs(usage_tail, stdout);
}

/* A --KEY VALUE pair that is not an option of lowbit-gen itself: a key of the op. */
typedef struct key_flag {
  const char *key, *value;
} key_flag;

typedef struct options {
  const char *spec, *target, *mcpu, *out, *op, *schedule;
  const char *templates, *targets, *include;
  int list_outputs, list_targets, help, version;
  key_flag *keys;
  size_t key_count;
} options;

typedef struct value_option {
  const char *flag;
  size_t offset;
} value_option;

#define VALUE_OPTION(flag, field)                                                                  \
  { flag, offsetof(options, field) }

static const value_option value_options[] = {
    VALUE_OPTION("--spec", spec),
    VALUE_OPTION("--target", target),
    VALUE_OPTION("--mcpu", mcpu),
    VALUE_OPTION("-o", out),
    VALUE_OPTION("--op", op),
    VALUE_OPTION("--templates", templates),
    VALUE_OPTION("--targets", targets),
    VALUE_OPTION("--include", include),
    VALUE_OPTION("--schedule", schedule),
};

/* The value of the flag at argv[*i] (`--flag value`, `--flag=value`, `-oDIR`), or NULL when
 * argv[*i] is not that flag. */
static const char *flag_value(const char *flag, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  size_t length = strlen(flag);
  if (strncmp(arg, flag, length) != 0) {
    return NULL;
  }
  if (arg[length] == '\0') {
    if (*i + 1 >= argc) {
      lb_gen_fail(LB_GEN_EXIT_INPUT, "%s needs a value (see --help)", flag);
    }
    return argv[++*i];
  }
  if (arg[length] == '=' || flag[1] != '-') {
    return arg + length + (arg[length] == '=');
  }
  return NULL;
}

static int take_value(options *opts, int argc, char **argv, int *i) {
  for (size_t o = 0; o < sizeof value_options / sizeof value_options[0]; o++) {
    const char *value = flag_value(value_options[o].flag, argc, argv, i);
    if (value) {
      *(const char **)((char *)opts + value_options[o].offset) = value;
      return 1;
    }
  }
  return 0;
}

/* --KEY VALUE or --KEY=VALUE, kept for the op. */
static void take_key(options *opts, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  if (strncmp(arg, "--", 2) != 0 || !arg[2] || arg[2] == '=') {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown argument '%s' (see --help)", arg);
  }
  const char *equals = strchr(arg, '=');
  key_flag flag;
  if (equals) {
    flag.key = lb_gen_strndup(arg + 2, (size_t)(equals - arg - 2));
    flag.value = equals + 1;
  } else {
    flag.key = arg + 2;
    flag.value = *i + 1 < argc ? argv[++*i] : NULL;
  }
  opts->keys = lb_gen_realloc(opts->keys, (opts->key_count + 1) * sizeof *opts->keys);
  opts->keys[opts->key_count++] = flag;
}

static options parse_options(int argc, char **argv) {
  options opts;
  memset(&opts, 0, sizeof opts);
  opts.target = "generic";
  opts.templates = lb_gen_default_path(LB_GEN_DEFAULT_TEMPLATES);
  opts.targets = lb_gen_default_path(LB_GEN_DEFAULT_TARGETS);
  opts.include = lb_gen_default_path(LB_GEN_DEFAULT_INCLUDE);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      opts.help = 1;
    } else if (strcmp(arg, "--version") == 0) {
      opts.version = 1;
    } else if (strcmp(arg, "--list-targets") == 0) {
      opts.list_targets = 1;
    } else if (strcmp(arg, "--list-outputs") == 0) {
      opts.list_outputs = 1;
    } else if (!take_value(&opts, argc, argv, &i)) {
      take_key(&opts, argc, argv, &i);
    }
  }
  return opts;
}

static const char *check_cpu(const lb_gen_target *target, const char *mcpu) {
  if (!mcpu) {
    return target->cpus.items[0];
  }
  if (!lb_gen_strings_contains(&target->cpus, mcpu)) {
    lb_gen_buf known = {0};
    for (size_t i = 0; i < target->cpus.count; i++) {
      lb_gen_buf_printf(&known, "%s%s", i ? " " : "", target->cpus.items[i]);
    }
    lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown --mcpu '%s' for target %s (cpus: %s)", mcpu,
                target->name, known.data);
  }
  return mcpu;
}

/* Checks every generated file with libclang, then writes them all. */
static void check_and_write(const lb_gen_files *files, const lb_gen_target *target, const char *cpu,
                            const options *opts) {
  size_t problems = lb_gen_check_files(files, target, cpu, opts->include);
  if (problems) {
    lb_gen_fail(LB_GEN_EXIT_CHECK, "%zu problem%s in generated code for %s: nothing written",
                problems, problems == 1 ? "" : "s", target->name);
  }
  lb_gen_write_files(files, opts->out);
}

static int run_spec(const options *opts, const lb_gen_target *target, const char *cpu) {
  if (opts->key_count) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "--%s does not apply to --spec", opts->keys[0].key);
  }
  if (!opts->out && !opts->list_outputs) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "--spec needs -o DIR or --list-outputs");
  }
  lb_gen_spec spec = lb_gen_spec_load(opts->spec);
  const lb_gen_context context = {opts->templates, target, cpu};
  lb_gen_kernels listed = {NULL, 0}, all = {NULL, 0};
  for (size_t i = 0; i < spec.count; i++) {
    lb_gen_kernel *kernel = spec.kernels[i].kernel;
    if (!lb_gen_strings_contains(&target->isas, kernel->isa)) {
      continue;
    }
    char *needed_by = lb_gen_format("%s:%d", opts->spec, spec.kernels[i].line);
    lb_gen_kernel_resolve(kernel, &context, needed_by, &all);
    if (lb_gen_kernels_find(&listed, kernel->name)) {
      lb_gen_fail_at(LB_GEN_EXIT_INPUT, opts->spec, spec.kernels[i].line,
                     "kernel %s is listed twice", kernel->name);
    }
    lb_gen_kernels_push(&listed, kernel);
    lb_gen_free(needed_by);
  }
  lb_gen_schedules schedules;
  lb_gen_schedules_load(opts->schedule ? opts->schedule : "auto", opts->targets, target,
                        &schedules);
  for (size_t i = 0; i < schedules.count; i++) {
    lb_gen_schedule *entry = &schedules.items[i];
    entry->kernel = lb_gen_kernel_resolve(entry->kernel, &context, entry->where, &all);
  }
  if (opts->list_outputs) {
    for (size_t i = 0; i < all.count; i++) {
      printf("%s.c\t%s\n", all.items[i]->name, all.items[i]->isa);
    }
    printf("%s\tgeneric\n", LB_GEN_REGISTRY_FILE);
    printf("%s\tgeneric\n", LB_GEN_TUNING_FILE);
    printf("%s\tgeneric\n", LB_GEN_SCHEDULES_FILE);
    return 0;
  }
  lb_gen_files files = {NULL, 0};
  for (size_t i = 0; i < all.count; i++) {
    lb_gen_emit_kernel(&files, all.items[i], opts->templates);
  }
  lb_gen_emit_registry(&files, &all, opts->spec);
  lb_gen_emit_tuning(&files, opts->targets, target);
  lb_gen_emit_schedules(&files, &schedules);
  check_and_write(&files, target, cpu, opts);
  return 0;
}

static lb_gen_kernel *single_kernel(const options *opts, const lb_gen_target *target) {
  const lb_gen_op *op = lb_gen_op_find(opts->op);
  if (!op) {
    char *names = lb_gen_op_names();
    lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown --op '%s' (%s)", opts->op, names);
  }
  lb_gen_kernel *kernel = lb_gen_kernel_new(op);
  for (size_t i = 0; i < opts->key_count; i++) {
    const key_flag *flag = &opts->keys[i];
    const char *reason;
    if (!flag->value) {
      lb_gen_fail(LB_GEN_EXIT_INPUT, "--%s needs a value (see --help)", flag->key);
    }
    switch (lb_gen_kernel_set(kernel, flag->key, flag->value, &reason)) {
    case LB_GEN_KEY_SET: break;
    case LB_GEN_KEY_UNKNOWN:
      lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown argument '--%s' for --op %s (see --help)", flag->key,
                  op->name);
    case LB_GEN_KEY_TWICE: lb_gen_fail(LB_GEN_EXIT_INPUT, "--%s given twice", flag->key);
    case LB_GEN_KEY_BAD:
      lb_gen_fail(LB_GEN_EXIT_INPUT, "--%s %s: %s", flag->key, flag->value, reason);
    }
  }
  if (!kernel->isa) {
    kernel->isa = lb_gen_strdup(target->isas.items[target->isas.count - 1]);
  }
  if (!lb_gen_strings_contains(&target->isas, kernel->isa)) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "target %s has no isa '%s'", target->name, kernel->isa);
  }
  char *problem = lb_gen_kernel_finish(kernel, 1);
  if (problem) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "%s", problem);
  }
  return kernel;
}

static int run_single(const options *opts, const lb_gen_target *target, const char *cpu) {
  if (opts->list_outputs || opts->schedule) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "%s applies to --spec",
                opts->list_outputs ? "--list-outputs" : "--schedule");
  }
  if (!opts->out) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "-o DIR is missing");
  }
  lb_gen_kernel *kernel = single_kernel(opts, target);
  const lb_gen_context context = {opts->templates, target, cpu};
  lb_gen_kernels all = {NULL, 0};
  kernel = lb_gen_kernel_resolve(kernel, &context, NULL, &all);
  lb_gen_files files = {NULL, 0};
  lb_gen_emit_kernel(&files, kernel, opts->templates);
  check_and_write(&files, target, cpu, opts);
  printf("%s\n", kernel->name);
  return 0;
}

int main(int argc, char **argv) {
  lb_gen_set_command_line(argc, argv, lb_gen_default_path(LB_GEN_SOURCE_ROOT));
  options opts = parse_options(argc, argv);
  if (opts.help) {
    print_usage();
    return 0;
  }
  if (opts.version) {
    printf("lowbit-gen " LB_GEN_VERSION "\n");
    return 0;
  }
  if (opts.list_targets) {
    lb_gen_target_list(opts.targets);
    return 0;
  }
  if (opts.spec && opts.op) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "give either --spec or --op, not both");
  }
  if (!opts.spec && !opts.op) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "nothing to do: give --spec FILE or --op OP (see --help)");
  }
  const lb_gen_target *target = lb_gen_target_load(opts.targets, opts.target);
  const char *cpu = check_cpu(target, opts.mcpu);
  return opts.spec ? run_spec(&opts, target, cpu) : run_single(&opts, target, cpu);
}
