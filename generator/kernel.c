#include "kernel.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

lb_gen_kernel *lb_gen_kernel_new(const lb_gen_op *op) {
  lb_gen_kernel *kernel = lb_gen_alloc(sizeof *kernel);
  memset(kernel, 0, sizeof *kernel);
  kernel->op = op;
  return kernel;
}

lb_gen_key_status lb_gen_kernel_set(lb_gen_kernel *kernel, const char *key, const char *value,
                                    const char **reason) {
  *reason = NULL;
  if (lb_gen_strings_contains(&kernel->given, key)) {
    return LB_GEN_KEY_TWICE;
  }
  if (strcmp(key, "isa") == 0) {
    if (!*value) {
      *reason = "an isa name, e.g. avx2";
      return LB_GEN_KEY_BAD;
    }
    kernel->isa = lb_gen_strdup(value);
    lb_gen_strings_push(&kernel->given, key);
    return LB_GEN_KEY_SET;
  }
  const lb_gen_key *spec_key = lb_gen_op_key(kernel->op, key);
  if (!spec_key) {
    return LB_GEN_KEY_UNKNOWN;
  }
  *reason = spec_key->parse(spec_key, value, &kernel->vars);
  if (*reason) {
    return LB_GEN_KEY_BAD;
  }
  lb_gen_strings_push(&kernel->given, key);
  /* The suffix spells the parsed value, so that kunroll=02 and kunroll=2 name one kernel. */
  char *parsed = spec_key->suffix
                     ? lb_gen_value_text(*lb_gen_env_get(&kernel->vars, spec_key->variable))
                     : NULL;
  if (parsed && strcmp(parsed, spec_key->fallback) != 0) {
    const lb_gen_value *schedule = lb_gen_env_get(&kernel->vars, "SCHEDULE");
    char *suffix =
        lb_gen_format("%s_%s%s", schedule ? schedule->string : "", spec_key->suffix, parsed);
    lb_gen_env_set_string(&kernel->vars, "SCHEDULE", suffix);
    lb_gen_free(suffix);
  }
  lb_gen_free(parsed);
  return LB_GEN_KEY_SET;
}

char *lb_gen_kernel_finish(lb_gen_kernel *kernel, int flag_style) {
  const lb_gen_op *op = kernel->op;
  for (const lb_gen_key *key = op->keys; key->name; key++) {
    if (lb_gen_strings_contains(&kernel->given, key->name)) {
      continue;
    }
    if (!key->fallback) {
      return lb_gen_format(flag_style ? "--op %s needs --%s (%s)" : "%s needs %s= (%s)", op->name,
                           key->name, key->help);
    }
    const char *reason = key->parse(key, key->fallback, &kernel->vars);
    if (reason) {
      lb_gen_fail(LB_GEN_EXIT_CHECK, "op %s: the fallback of %s is refused: %s", op->name,
                  key->name, reason);
    }
  }
  if (!lb_gen_env_get(&kernel->vars, "SCHEDULE")) {
    lb_gen_env_set_string(&kernel->vars, "SCHEDULE", "");
  }
  const char *problem = op->check ? op->check(&kernel->vars, &kernel->given) : NULL;
  return problem ? lb_gen_strdup(problem) : NULL;
}

lb_gen_kernel *lb_gen_kernel_parse(const char *line, const char *default_isa, char **message) {
  char *text = lb_gen_strdup(line);
  char *save;
  char *word = strtok_r(text, " \t\r", &save);
  *message = NULL;
  const lb_gen_op *op = word ? lb_gen_op_find(word) : NULL;
  if (!op) {
    char *names = lb_gen_op_names();
    *message = lb_gen_format("unknown op '%s' (%s)", word ? word : "", names);
    lb_gen_free(names);
    lb_gen_free(text);
    return NULL;
  }
  lb_gen_kernel *kernel = lb_gen_kernel_new(op);
  if (default_isa) {
    kernel->isa = lb_gen_strdup(default_isa);
  }
  while (!*message && (word = strtok_r(NULL, " \t\r", &save))) {
    char *equals = strchr(word, '=');
    if (!equals || equals == word) {
      *message = lb_gen_format("expected key=value, got: %s", word);
      break;
    }
    *equals = '\0';
    const char *reason;
    switch (lb_gen_kernel_set(kernel, word, equals + 1, &reason)) {
    case LB_GEN_KEY_SET: break;
    case LB_GEN_KEY_UNKNOWN: *message = lb_gen_format("unknown key: %s", word); break;
    case LB_GEN_KEY_TWICE: *message = lb_gen_format("key given twice: %s", word); break;
    case LB_GEN_KEY_BAD: *message = lb_gen_format("%s=%s: %s", word, equals + 1, reason); break;
    }
  }
  if (!*message) {
    *message = lb_gen_kernel_finish(kernel, 0);
  }
  lb_gen_free(text);
  return *message ? NULL : kernel;
}

lb_gen_kernel *lb_gen_kernels_find(const lb_gen_kernels *list, const char *name) {
  for (size_t i = 0; i < list->count; i++) {
    if (strcmp(list->items[i]->name, name) == 0) {
      return list->items[i];
    }
  }
  return NULL;
}

void lb_gen_kernels_push(lb_gen_kernels *list, lb_gen_kernel *kernel) {
  list->items = lb_gen_realloc(list->items, (list->count + 1) * sizeof *list->items);
  list->items[list->count++] = kernel;
}

/* Where the op's own ${}-texts are evaluated, for error messages. */
#define OP_TABLE "generator/ops.c"

static void set_target_variables(lb_gen_kernel *kernel, const lb_gen_context *context) {
  lb_gen_env *vars = &kernel->vars;
  lb_gen_env_set_string(vars, "ISA", kernel->isa);
  lb_gen_env_set_string(vars, "TARGET", context->target->name);
  lb_gen_env_set_string(vars, "ARCH", context->target->arch);
  lb_gen_env_set_string(vars, "CPU", context->cpu);
  lb_gen_env_set_number(vars, "VREGS", lb_gen_target_vregs(context->target, kernel->isa));
}

static void evaluate_defaults(lb_gen_kernel *kernel) {
  for (const char *const *line = kernel->op->defaults; line && *line; line++) {
    const char *equals = strchr(*line, '=');
    char *name = lb_gen_strndup(*line, (size_t)(equals - *line));
    for (size_t length = strlen(name); length > 0 && isspace((unsigned char)name[length - 1]);) {
      name[--length] = '\0';
    }
    lb_gen_value value = lb_gen_eval(equals + 1, &kernel->vars, OP_TABLE, 0);
    lb_gen_env_set(&kernel->vars, name, value);
    if (value.is_string) {
      lb_gen_free((char *)value.string);
    }
    lb_gen_free(name);
  }
}

static void check_metadata(lb_gen_kernel *kernel) {
  const char *path = lb_gen_template_path(kernel->tmpl);
  for (const char *const *variable = kernel->op->required_metadata; variable && *variable;
       variable++) {
    const lb_gen_value *value = lb_gen_env_get(&kernel->vars, *variable);
    if (!value) {
      lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, 1, "the template's header $let lines must define %s",
                     *variable);
    }
    if (value->is_string || value->number < 1) {
      lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, 1, "%s must be a positive number", *variable);
    }
  }
  const char *problem =
      kernel->op->check_metadata ? kernel->op->check_metadata(&kernel->vars) : NULL;
  if (problem) {
    lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, 1, "%s", problem);
  }
  for (const char *const *variable = kernel->op->code_variables; variable && *variable;
       variable++) {
    if (!lb_gen_code_variables(&kernel->vars, *variable)) {
      lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, 1, "%s is not a code format", *variable);
    }
  }
}

static void resolve_derived(lb_gen_kernel *kernel, const lb_gen_context *context,
                            const char *needed_by, lb_gen_kernels *all) {
  for (const lb_gen_derived *derived = kernel->op->derives; derived && derived->variable;
       derived++) {
    char *line = lb_gen_substitute(derived->line, &kernel->vars, OP_TABLE, 0);
    char *message;
    lb_gen_kernel *child = lb_gen_kernel_parse(line, kernel->isa, &message);
    if (!child) {
      lb_gen_fail(LB_GEN_EXIT_CHECK, "%s derives '%s': %s", kernel->name, line, message);
    }
    child = lb_gen_kernel_resolve(child, context, needed_by, all);
    lb_gen_env_set_string(&kernel->vars, derived->variable, child->name);
    lb_gen_free(line);
  }
}

lb_gen_kernel *lb_gen_kernel_resolve(lb_gen_kernel *kernel, const lb_gen_context *context,
                                     const char *needed_by, lb_gen_kernels *all) {
  const char *outer = lb_gen_set_needed_by(needed_by);
  set_target_variables(kernel, context);
  evaluate_defaults(kernel);
  /* Code variables known before the metadata (from the keys or the defaults) serve its $assert
   * lines too; the metadata may still redefine a code, so they are derived again after it. */
  for (const char *const *variable = kernel->op->code_variables; variable && *variable;
       variable++) {
    lb_gen_code_variables(&kernel->vars, *variable);
  }
  char *relative = lb_gen_substitute(kernel->op->source_template, &kernel->vars, OP_TABLE, 0);
  char *path = lb_gen_format("%s/%s", context->templates_dir, relative);
  kernel->tmpl = lb_gen_template_load(path);
  if (!kernel->tmpl) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "template not found: %s", path);
  }
  lb_gen_free(relative);
  lb_gen_free(path);
  lb_gen_template_metadata(kernel->tmpl, &kernel->vars);
  check_metadata(kernel);
  kernel->name = lb_gen_substitute(kernel->op->name_format, &kernel->vars, OP_TABLE, 0);
  lb_gen_env_set_string(&kernel->vars, "NAME", kernel->name);
  char *header = lb_gen_format("%s.h", kernel->name);
  lb_gen_env_set_string(&kernel->vars, "HEADER", header);
  lb_gen_free(header);
  resolve_derived(kernel, context, needed_by, all);
  lb_gen_set_needed_by(outer);
  lb_gen_kernel *known = lb_gen_kernels_find(all, kernel->name);
  if (known) {
    return known;
  }
  lb_gen_kernels_push(all, kernel);
  return kernel;
}
