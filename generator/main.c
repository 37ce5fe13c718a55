/* lowbit-gen: expands kernel templates into C for a target (docs/design.md, sections 6 to 9). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "clang_check.h"
#include "emit.h"
#include "kernel.h"
#include "output.h"
#include "registry.h"
#include "spec.h"
#include "target.h"
#include "tuning.h"
#include "util.h"

#ifndef LB_GEN_DEFAULT_TEMPLATES
#error "build with -DLB_GEN_DEFAULT_TEMPLATES=\"<source>/templates\""
#endif
#ifndef LB_GEN_DEFAULT_TARGETS
#error "build with -DLB_GEN_DEFAULT_TARGETS=\"<source>/targets\""
#endif
#ifndef LB_GEN_DEFAULT_INCLUDE
#error "build with -DLB_GEN_DEFAULT_INCLUDE=\"<source>/runtime/include\""
#endif

static const char usage[] =
    "usage: lowbit-gen --spec FILE --target T [--mcpu CPU] (-o DIR | --list-outputs)\n"
    "       lowbit-gen --target T [--mcpu CPU] [--isa ISA] --op gemm --strategy S --tile MRxNR\n"
    "                  [--a OPERAND --w OPERAND] [--format F] -o DIR\n"
    "       lowbit-gen --target T [--isa ISA] --op pack-bitplanes|pack-s8|pack-u8|pack-s16\n"
    "                  --rows R --kblock KB -o DIR\n"
    "       lowbit-gen --list-targets | --help | --version\n"
    "\n"
    "Writes generated kernels (NAME.c and NAME.h) into DIR after libclang has parsed each one\n"
    "for the target without a warning. Spec mode also writes lb_registry.c; one-kernel mode\n"
    "prints the kernel's name.\n"
    "\n"
    "  --spec FILE        kernels.spec: every kernel whose isa the target lists\n"
    "  --list-outputs     print '<file.c><TAB><isa>' for each .c spec mode writes; write nothing\n"
    "  --target T         a description in the targets folder (default: generic)\n"
    "  --mcpu CPU         one of the target's cpus (default: its first)\n"
    "  -o DIR             output folder, created if needed\n"
    "  --isa ISA          one of the target's isas (default: its last, the most specific)\n"
    "  --op OP            gemm, pack-bitplanes, pack-s8, pack-u8, pack-s16\n"
    "  --strategy S       bitserial, bitserial-xor, direct\n"
    "  --a, --w OPERAND   any (planes at run time) or <bits><u|s|b>: 1..16 bits, unsigned,\n"
    "                     signed or bipolar (1 bit); optional for direct\n"
    "  --format F         direct: s8, u8s8 (A u8, W s8), s16\n"
    "  --tile MRxNR       register tile, e.g. 4x4\n"
    "  --rows R           pack: rows of the panel\n"
    "  --kblock KB        pack: K elements (bits for bit planes) per block\n"
    "  --templates DIR    templates folder (default: " LB_GEN_DEFAULT_TEMPLATES ")\n"
    "  --targets DIR      targets folder (default: " LB_GEN_DEFAULT_TARGETS ")\n"
    "  --include DIR      folder holding lowbit/ukernel.h (default: " LB_GEN_DEFAULT_INCLUDE ")\n"
    "\n"
    "Exit status: 0 done, 1 a generated file does not check clean, 2 bad input.\n";

typedef struct options {
  const char *spec, *target, *mcpu, *out, *isa, *op, *strategy, *a, *w, *format, *tile, *rows,
      *kblock;
  const char *templates, *targets, *include;
  int list_outputs, list_targets, help, version;
} options;

typedef struct value_option {
  const char *flag;
  size_t offset;
} value_option;

#define VALUE_OPTION(flag, field) {flag, offsetof(options, field)}

static const value_option value_options[] = {
    VALUE_OPTION("--spec", spec),         VALUE_OPTION("--target", target),
    VALUE_OPTION("--mcpu", mcpu),         VALUE_OPTION("-o", out),
    VALUE_OPTION("--isa", isa),           VALUE_OPTION("--op", op),
    VALUE_OPTION("--strategy", strategy), VALUE_OPTION("--a", a),
    VALUE_OPTION("--w", w),               VALUE_OPTION("--format", format),
    VALUE_OPTION("--tile", tile),         VALUE_OPTION("--rows", rows),
    VALUE_OPTION("--kblock", kblock),     VALUE_OPTION("--templates", templates),
    VALUE_OPTION("--targets", targets),   VALUE_OPTION("--include", include),
};

static int take_value(options *opts, int argc, char **argv, int *i)
{
  const char *arg = argv[*i];
  for (size_t o = 0; o < sizeof value_options / sizeof value_options[0]; o++) {
    const char *flag = value_options[o].flag;
    size_t length = strlen(flag);
    if (strncmp(arg, flag, length) != 0)
      continue;
    const char *value;
    if (arg[length] == '\0') {
      if (*i + 1 >= argc)
        lb_gen_fail(LB_GEN_EXIT_INPUT, "%s needs a value (see --help)", flag);
      value = argv[++*i];
    } else if (arg[length] == '=' || (flag[1] != '-')) {
      value = arg + length + (arg[length] == '=');
    } else {
      continue;
    }
    *(const char **)((char *)opts + value_options[o].offset) = value;
    return 1;
  }
  return 0;
}

static options parse_options(int argc, char **argv)
{
  options opts;
  memset(&opts, 0, sizeof opts);
  opts.target = "generic";
  opts.templates = LB_GEN_DEFAULT_TEMPLATES;
  opts.targets = LB_GEN_DEFAULT_TARGETS;
  opts.include = LB_GEN_DEFAULT_INCLUDE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
      opts.help = 1;
    else if (strcmp(arg, "--version") == 0)
      opts.version = 1;
    else if (strcmp(arg, "--list-targets") == 0)
      opts.list_targets = 1;
    else if (strcmp(arg, "--list-outputs") == 0)
      opts.list_outputs = 1;
    else if (!take_value(&opts, argc, argv, &i))
      lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown argument '%s' (see --help)", arg);
  }
  return opts;
}

static const char *check_cpu(const lb_gen_target *target, const char *mcpu)
{
  if (!mcpu)
    return target->cpus.items[0];
  if (!lb_gen_strings_contains(&target->cpus, mcpu)) {
    lb_gen_buf known = {0};
    for (size_t i = 0; i < target->cpus.count; i++)
      lb_gen_buf_printf(&known, "%s%s", i ? " " : "", target->cpus.items[i]);
    lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown --mcpu '%s' for target %s (cpus: %s)", mcpu,
                target->name, known.data);
  }
  return mcpu;
}

static void reject_options(const char *mode, const char *const *flags, const char *const *values)
{
  for (size_t i = 0; flags[i]; i++)
    if (values[i])
      lb_gen_fail(LB_GEN_EXIT_INPUT, "%s does not apply to %s", flags[i], mode);
}

/* Checks every generated file with libclang, then writes them all. */
static void check_and_write(const lb_gen_files *files, const lb_gen_target *target,
                            const char *cpu, const options *opts)
{
  size_t problems = lb_gen_check_files(files, target, cpu, opts->include);
  if (problems)
    lb_gen_fail(LB_GEN_EXIT_CHECK, "%zu problem%s in generated code for %s: nothing written",
                problems, problems == 1 ? "" : "s", target->name);
  lb_gen_write_files(files, opts->out);
}

static int add_unique(lb_gen_kernel ***list, size_t *count, lb_gen_kernel *kernel)
{
  for (size_t i = 0; i < *count; i++)
    if (strcmp((*list)[i]->name, kernel->name) == 0)
      return 0;
  *list = lb_gen_realloc(*list, (*count + 1) * sizeof **list);
  (*list)[(*count)++] = kernel;
  return 1;
}

static int run_spec(const options *opts, const lb_gen_target *target, const char *cpu)
{
  const char *const flags[] = {"--isa", "--strategy", "--a", "--w", "--format", "--tile",
                               "--rows", "--kblock", NULL};
  const char *const values[] = {opts->isa,  opts->strategy, opts->a,      opts->w,
                                opts->format, opts->tile,   opts->rows, opts->kblock};
  reject_options("--spec", flags, values);
  if (!opts->out && !opts->list_outputs)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "--spec needs -o DIR or --list-outputs");
  lb_gen_spec spec = lb_gen_spec_load(opts->spec);
  lb_gen_kernel **gemms = NULL, **all = NULL;
  size_t gemm_count = 0, all_count = 0;
  for (size_t i = 0; i < spec.count; i++) {
    lb_gen_kernel *kernel = &spec.kernels[i].kernel;
    if (!lb_gen_strings_contains(&target->isas, kernel->isa))
      continue;
    char *needed_by = lb_gen_format("%s:%d", opts->spec, spec.kernels[i].line);
    lb_gen_kernel_resolve(kernel, opts->templates, needed_by);
    if (!add_unique(&gemms, &gemm_count, kernel))
      lb_gen_fail_at(LB_GEN_EXIT_INPUT, opts->spec, spec.kernels[i].line,
                     "kernel %s is listed twice", kernel->name);
    add_unique(&all, &all_count, kernel);
    for (int side = 0; side < 2; side++) {
      lb_gen_kernel *pack = lb_gen_alloc(sizeof *pack);
      *pack = lb_gen_kernel_pack_of(kernel, side ? 'w' : 'a');
      lb_gen_kernel_resolve(pack, opts->templates, needed_by);
      add_unique(&all, &all_count, pack);
    }
    lb_gen_free(needed_by);
  }
  if (opts->list_outputs) {
    for (size_t i = 0; i < all_count; i++)
      printf("%s.c\t%s\n", all[i]->name, all[i]->isa);
    printf("%s\tgeneric\n", LB_GEN_REGISTRY_FILE);
    printf("%s\tgeneric\n", LB_GEN_TUNING_FILE);
    return 0;
  }
  lb_gen_files files = {NULL, 0};
  for (size_t i = 0; i < all_count; i++)
    lb_gen_emit_kernel(&files, all[i], opts->templates);
  lb_gen_emit_registry(&files, (const lb_gen_kernel *const *)gemms, gemm_count, opts->spec);
  lb_gen_emit_tuning(&files, opts->targets, target);
  check_and_write(&files, target, cpu, opts);
  return 0;
}

static const char *required(const char *value, const char *flag, const char *op)
{
  if (!value)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "--op %s needs %s", op, flag);
  return value;
}

static void parse_operand(const char *flag, const char *text, lb_gen_operand *operand)
{
  const char *problem = lb_gen_operand_parse(text, operand);
  if (problem)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "%s %s: %s", flag, text, problem);
}

static lb_gen_kernel single_kernel(const options *opts, const lb_gen_target *target)
{
  lb_gen_kernel kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.isa = lb_gen_strdup(opts->isa ? opts->isa : target->isas.items[target->isas.count - 1]);
  if (!lb_gen_strings_contains(&target->isas, kernel.isa))
    lb_gen_fail(LB_GEN_EXIT_INPUT, "target %s has no isa '%s'", target->name, kernel.isa);
  const char *op = opts->op;
  if (strcmp(op, "gemm") == 0) {
    const char *const flags[] = {"--rows", "--kblock", NULL};
    const char *const values[] = {opts->rows, opts->kblock};
    reject_options("--op gemm", flags, values);
    if (!lb_gen_strategy_parse(required(opts->strategy, "--strategy", op), &kernel.strategy))
      lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown --strategy '%s' (bitserial, bitserial-xor, direct)",
                  opts->strategy);
    const char *problem = lb_gen_tile_parse(required(opts->tile, "--tile", op), &kernel.mr,
                                            &kernel.nr);
    if (problem)
      lb_gen_fail(LB_GEN_EXIT_INPUT, "--tile %s: %s", opts->tile, problem);
    if (kernel.strategy != LB_GEN_DIRECT) {
      required(opts->a, "--a", op);
      required(opts->w, "--w", op);
    }
    if (opts->a)
      parse_operand("--a", opts->a, &kernel.a);
    if (opts->w)
      parse_operand("--w", opts->w, &kernel.w);
    if (opts->format)
      kernel.format = lb_gen_strdup(opts->format);
    problem = lb_gen_kernel_check(&kernel);
    if (problem)
      lb_gen_fail(LB_GEN_EXIT_INPUT, "%s", problem);
    return kernel;
  }
  static const char *const codes[] = {"bitplanes", "s8", "u8", "s16"};
  for (size_t i = 0; i < 4; i++) {
    if (strncmp(op, "pack-", 5) != 0 || strcmp(op + 5, codes[i]) != 0)
      continue;
    const char *const flags[] = {"--strategy", "--a", "--w", "--format", "--tile", NULL};
    const char *const values[] = {opts->strategy, opts->a, opts->w, opts->format, opts->tile};
    reject_options(op, flags, values);
    kernel.is_pack = 1;
    kernel.code = codes[i];
    if (!lb_gen_count_parse(required(opts->rows, "--rows", op), 64, &kernel.rows))
      lb_gen_fail(LB_GEN_EXIT_INPUT, "--rows %s: expected 1..64", opts->rows);
    if (!lb_gen_count_parse(required(opts->kblock, "--kblock", op), 4096, &kernel.kblock) ||
        (i == 0 && kernel.kblock % 64 != 0))
      lb_gen_fail(LB_GEN_EXIT_INPUT, "--kblock %s: expected %s", opts->kblock,
                  i == 0 ? "a multiple of 64 up to 4096" : "1..4096");
    return kernel;
  }
  lb_gen_fail(LB_GEN_EXIT_INPUT,
              "unknown --op '%s' (gemm, pack-bitplanes, pack-s8, pack-u8, pack-s16)", op);
}

static int run_single(const options *opts, const lb_gen_target *target, const char *cpu)
{
  if (opts->list_outputs)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "--list-outputs applies to --spec");
  if (!opts->out)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "-o DIR is missing");
  lb_gen_kernel kernel = single_kernel(opts, target);
  lb_gen_kernel_resolve(&kernel, opts->templates, NULL);
  lb_gen_files files = {NULL, 0};
  lb_gen_emit_kernel(&files, &kernel, opts->templates);
  check_and_write(&files, target, cpu, opts);
  printf("%s\n", kernel.name);
  return 0;
}

int main(int argc, char **argv)
{
  lb_gen_set_command_line(argc, argv);
  options opts = parse_options(argc, argv);
  if (opts.help) {
    fputs(usage, stdout);
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
  if (opts.spec && opts.op)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "give either --spec or --op, not both");
  if (!opts.spec && !opts.op)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "nothing to do: give --spec FILE or --op OP (see --help)");
  const lb_gen_target *target = lb_gen_target_load(opts.targets, opts.target);
  const char *cpu = check_cpu(target, opts.mcpu);
  return opts.spec ? run_spec(&opts, target, cpu) : run_single(&opts, target, cpu);
}
