/* Values, variables and expressions of the template language (templates/README.md). */
#ifndef LB_GEN_EXPR_H
#define LB_GEN_EXPR_H

#include <stddef.h>
#include <stdint.h>

typedef struct lb_gen_value {
  int is_string;
  int64_t number;
  const char *string; /* owned by whoever holds the value: an environment or an evaluation */
} lb_gen_value;

/* Variables by name; a later definition replaces an earlier one. */
typedef struct lb_gen_env {
  struct lb_gen_binding *bindings;
  size_t count;
} lb_gen_env;

void lb_gen_env_set_number(lb_gen_env *env, const char *name, int64_t number);
void lb_gen_env_set_string(lb_gen_env *env, const char *name, const char *string);
void lb_gen_env_set(lb_gen_env *env, const char *name, lb_gen_value value);
/* NULL when name is not defined. */
const lb_gen_value *lb_gen_env_get(const lb_gen_env *env, const char *name);
void lb_gen_env_remove(lb_gen_env *env, const char *name);
void lb_gen_env_copy(lb_gen_env *to, const lb_gen_env *from);

/* Evaluates text (the whole of it) as an expression. Errors name file:line and end the program. */
lb_gen_value lb_gen_eval(const char *text, const lb_gen_env *env, const char *file, int line);
/* Evaluates the expression at *cursor up to the first unmatched `}`, `)` or `,` (or the end) and
 * moves *cursor there; `${...}` substitutions use this. */
lb_gen_value lb_gen_eval_prefix(const char **cursor, const lb_gen_env *env, const char *file,
                                int line);
/* The value as output text. */
char *lb_gen_value_text(lb_gen_value value);

#endif
