#include "spec.h"

#include <string.h>

#include "util.h"

typedef struct line_context {
  const char *path;
  int line;
} line_context;

static _Noreturn void bad_line(const line_context *at, const char *message, const char *detail)
{
  lb_gen_fail_at(LB_GEN_EXIT_INPUT, at->path, at->line, "%s%s", message, detail);
}

static void set_key(const line_context *at, lb_gen_kernel *kernel, const char *key,
                    const char *value, unsigned *seen)
{
  static const char *const keys[] = {"strategy", "isa", "tile", "a", "w", "format"};
  size_t index = 0;
  while (index < 6 && strcmp(keys[index], key) != 0)
    index++;
  if (index == 6)
    bad_line(at, "unknown key: ", key);
  if (*seen & (1u << index))
    bad_line(at, "key given twice: ", key);
  *seen |= 1u << index;
  const char *problem = NULL;
  switch (index) {
  case 0:
    if (!lb_gen_strategy_parse(value, &kernel->strategy))
      problem = "strategy is bitserial, bitserial-xor or direct";
    break;
  case 1: kernel->isa = lb_gen_strdup(value); break;
  case 2: problem = lb_gen_tile_parse(value, &kernel->mr, &kernel->nr); break;
  case 3: problem = lb_gen_operand_parse(value, &kernel->a); break;
  case 4: problem = lb_gen_operand_parse(value, &kernel->w); break;
  default: kernel->format = lb_gen_strdup(value); break;
  }
  if (problem)
    lb_gen_fail_at(LB_GEN_EXIT_INPUT, at->path, at->line, "%s=%s: %s", key, value, problem);
}

enum { SEEN_STRATEGY = 1, SEEN_ISA = 2, SEEN_TILE = 4, SEEN_A = 8, SEEN_W = 16 };

static void parse_line(const line_context *at, char *text, lb_gen_spec *spec)
{
  char *save;
  char *word = strtok_r(text, " \t\r", &save);
  if (!word)
    return;
  if (strcmp(word, "gemm") != 0)
    bad_line(at, "unknown op (expected gemm): ", word);
  lb_gen_kernel kernel;
  memset(&kernel, 0, sizeof kernel);
  unsigned seen = 0;
  while ((word = strtok_r(NULL, " \t\r", &save))) {
    char *equals = strchr(word, '=');
    if (!equals || equals == word)
      bad_line(at, "expected key=value, got: ", word);
    *equals = '\0';
    set_key(at, &kernel, word, equals + 1, &seen);
  }
  if (!(seen & SEEN_STRATEGY) || !(seen & SEEN_ISA) || !(seen & SEEN_TILE))
    bad_line(at, "a gemm line needs strategy=, isa= and tile=", "");
  if (kernel.strategy != LB_GEN_DIRECT && (!(seen & SEEN_A) || !(seen & SEEN_W)))
    bad_line(at, "a bit-serial line needs a= and w=", "");
  const char *problem = lb_gen_kernel_check(&kernel);
  if (problem)
    bad_line(at, problem, "");
  spec->kernels = lb_gen_realloc(spec->kernels, (spec->count + 1) * sizeof *spec->kernels);
  spec->kernels[spec->count].kernel = kernel;
  spec->kernels[spec->count].line = at->line;
  spec->count++;
}

lb_gen_spec lb_gen_spec_load(const char *path)
{
  char *content = lb_gen_read_file(path, NULL);
  if (!content)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read the spec %s", path);
  lb_gen_spec spec = {NULL, 0};
  line_context at = {path, 0};
  for (char *text = content; text;) {
    char *end = strchr(text, '\n');
    if (end)
      *end = '\0';
    at.line++;
    char *hash = strchr(text, '#');
    if (hash)
      *hash = '\0';
    parse_line(&at, text, &spec);
    text = end ? end + 1 : NULL;
  }
  lb_gen_free(content);
  return spec;
}
