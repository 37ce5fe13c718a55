/* A recursive-descent evaluator with C's precedence. Branches that are not taken (the right of a
 * decided && or ||, the other arm of ?:) are parsed but not evaluated, so they may name variables
 * that do not exist, as in `$if ABITS == 0 || PLANES > 1`. */
#include "expr.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct lb_gen_binding {
  char *name;
  lb_gen_value value;
};

static struct lb_gen_binding *find(const lb_gen_env *env, const char *name) {
  for (size_t i = 0; i < env->count; i++) {
    if (strcmp(env->bindings[i].name, name) == 0) {
      return &env->bindings[i];
    }
  }
  return NULL;
}

void lb_gen_env_set(lb_gen_env *env, const char *name, lb_gen_value value) {
  struct lb_gen_binding *binding = find(env, name);
  if (!binding) {
    env->bindings = lb_gen_realloc(env->bindings, (env->count + 1) * sizeof *env->bindings);
    binding = &env->bindings[env->count++];
    binding->name = lb_gen_strdup(name);
  } else if (binding->value.is_string) {
    lb_gen_free((char *)binding->value.string);
  }
  binding->value = value;
  if (value.is_string) {
    binding->value.string = lb_gen_strdup(value.string);
  }
}

void lb_gen_env_set_number(lb_gen_env *env, const char *name, int64_t number) {
  lb_gen_value value = {0, number, NULL};
  lb_gen_env_set(env, name, value);
}

void lb_gen_env_set_string(lb_gen_env *env, const char *name, const char *string) {
  lb_gen_value value = {1, 0, string};
  lb_gen_env_set(env, name, value);
}

const lb_gen_value *lb_gen_env_get(const lb_gen_env *env, const char *name) {
  struct lb_gen_binding *binding = find(env, name);
  return binding ? &binding->value : NULL;
}

void lb_gen_env_remove(lb_gen_env *env, const char *name) {
  struct lb_gen_binding *binding = find(env, name);
  if (!binding) {
    return;
  }
  lb_gen_free(binding->name);
  if (binding->value.is_string) {
    lb_gen_free((char *)binding->value.string);
  }
  *binding = env->bindings[--env->count];
}

void lb_gen_env_copy(lb_gen_env *to, const lb_gen_env *from) {
  for (size_t i = 0; i < from->count; i++) {
    lb_gen_env_set(to, from->bindings[i].name, from->bindings[i].value);
  }
}

char *lb_gen_value_text(lb_gen_value value) {
  if (value.is_string) {
    return lb_gen_strdup(value.string);
  }
  return lb_gen_format("%" PRId64, value.number);
}

typedef struct parser {
  const char *at;
  const lb_gen_env *env;
  const char *file;
  int line;
} parser;

static _Noreturn void fail(const parser *p, const char *message, const char *detail) {
  lb_gen_fail_at(LB_GEN_EXIT_CHECK, p->file, p->line, "%s%s", message, detail);
}

static void skip_blanks(parser *p) {
  while (*p->at == ' ' || *p->at == '\t') {
    p->at++;
  }
}

/* Consumes the operator op if it comes next and is not the prefix of a longer one. */
static int accept(parser *p, const char *op) {
  skip_blanks(p);
  size_t length = strlen(op);
  if (strncmp(p->at, op, length) != 0) {
    return 0;
  }
  char next = p->at[length];
  /* `!!x` is two negations, but `<<`, `&&`, `==` and `!=` are operators of their own. */
  if (length == 1 && strchr("<>&|=", op[0]) && (next == op[0] || next == '=')) {
    return 0;
  }
  if (length == 1 && op[0] == '!' && next == '=') {
    return 0;
  }
  if (length == 2 && (op[0] == '<' || op[0] == '>') && op[1] == op[0] && next == '=') {
    return 0;
  }
  p->at += length;
  return 1;
}

static lb_gen_value number(int64_t n) {
  lb_gen_value value = {0, n, NULL};
  return value;
}

static int64_t need_number(const parser *p, lb_gen_value value, const char *op) {
  if (value.is_string) {
    fail(p, "type mismatch: a string operand of ", op);
  }
  return value.number;
}

static int truth(const parser *p, lb_gen_value value) {
  if (value.is_string) {
    fail(p, "type mismatch: a string used as a condition", "");
  }
  return value.number != 0;
}

static lb_gen_value parse_conditional(parser *p, int live);

static lb_gen_value parse_primary(parser *p, int live) {
  skip_blanks(p);
  char c = *p->at;
  if (c == '(') {
    p->at++;
    lb_gen_value value = parse_conditional(p, live);
    if (!accept(p, ")")) {
      fail(p, "expected ')' in expression", "");
    }
    return value;
  }
  if (c == '"') {
    lb_gen_buf text = {0};
    lb_gen_buf_append(&text, "", 0);
    p->at++;
    while (*p->at && *p->at != '"') {
      if (*p->at == '\\' && (p->at[1] == '"' || p->at[1] == '\\')) {
        p->at++;
      }
      lb_gen_buf_append(&text, p->at, 1);
      p->at++;
    }
    if (*p->at != '"') {
      fail(p, "unterminated string literal", "");
    }
    p->at++;
    lb_gen_value value = {1, 0, text.data};
    return value;
  }
  if (isdigit((unsigned char)c)) {
    char *end;
    int base = (c == '0' && (p->at[1] == 'x' || p->at[1] == 'X')) ? 16 : 10;
    unsigned long long n = strtoull(p->at, &end, base);
    if (n > INT64_MAX || isalnum((unsigned char)*end) || *end == '_') {
      fail(p, "bad integer literal", "");
    }
    p->at = end;
    return number((int64_t)n);
  }
  if (isalpha((unsigned char)c) || c == '_') {
    const char *start = p->at;
    while (isalnum((unsigned char)*p->at) || *p->at == '_') {
      p->at++;
    }
    char *name = lb_gen_strndup(start, (size_t)(p->at - start));
    lb_gen_value value = number(0);
    if (live) {
      const lb_gen_value *bound = lb_gen_env_get(p->env, name);
      if (!bound) {
        fail(p, "unknown variable ", name);
      }
      value = *bound;
      if (value.is_string) {
        value.string = lb_gen_strdup(value.string);
      }
    }
    lb_gen_free(name);
    return value;
  }
  fail(p, "expected a value in expression at: ", *p->at ? p->at : "end of line");
}

static lb_gen_value parse_unary(parser *p, int live) {
  if (accept(p, "-")) {
    return number((int64_t)(0 - (uint64_t)need_number(p, parse_unary(p, live), "-")));
  }
  if (accept(p, "!")) {
    return number(!need_number(p, parse_unary(p, live), "!"));
  }
  if (accept(p, "~")) {
    return number(~need_number(p, parse_unary(p, live), "~"));
  }
  return parse_primary(p, live);
}

/* Binary operators by precedence level, loosest first (C's table). */
static const char *const levels[][4] = {
    {"|", NULL},
    {"^", NULL},
    {"&", NULL},
    {"==", "!=", NULL},
    {"<=", ">=", "<", ">"},
    {"<<", ">>", NULL},
    {"+", "-", NULL},
    {"*", "/", "%", NULL},
};
enum { LEVEL_COUNT = sizeof levels / sizeof levels[0] };

static int values_equal(const parser *p, lb_gen_value left, lb_gen_value right) {
  if (left.is_string != right.is_string) {
    fail(p, "type mismatch: comparing a string with a number", "");
  }
  if (left.is_string) {
    return strcmp(left.string, right.string) == 0;
  }
  return left.number == right.number;
}

static lb_gen_value apply(const parser *p, const char *op, lb_gen_value left, lb_gen_value right,
                          int live) {
  if (op[0] == '=' || op[0] == '!') {
    int equal = live ? values_equal(p, left, right) : 1;
    return number(op[0] == '=' ? equal : !equal);
  }
  if (op[0] == '+' && (left.is_string || right.is_string)) {
    if (!live) {
      return number(0);
    }
    char *l = lb_gen_value_text(left), *r = lb_gen_value_text(right);
    lb_gen_value joined = {1, 0, lb_gen_format("%s%s", l, r)};
    lb_gen_free(l);
    lb_gen_free(r);
    return joined;
  }
  int64_t a = need_number(p, left, op), b = need_number(p, right, op);
  if (!live) {
    return number(0);
  }
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op[0]) {
  case '|': return number(a | b);
  case '^': return number(a ^ b);
  case '&': return number(a & b);
  case '+': return number((int64_t)(ua + ub));
  case '-': return number((int64_t)(ua - ub));
  case '*': return number((int64_t)(ua * ub));
  case '/':
  case '%':
    if (b == 0) {
      fail(p, "division by zero", "");
    }
    if (a == INT64_MIN && b == -1) {
      fail(p, "integer overflow in ", op);
    }
    return number(op[0] == '/' ? a / b : a % b);
  case '<':
  case '>':
    if (op[1] == op[0]) {
      if (b < 0 || b > 63) {
        fail(p, "shift count out of 0..63 in ", op);
      }
      return number(op[0] == '<' ? (int64_t)(ua << b) : a >> b);
    }
    if (op[0] == '<') {
      return number(op[1] == '=' ? a <= b : a < b);
    }
    return number(op[1] == '=' ? a >= b : a > b);
  default: fail(p, "unknown operator ", op);
  }
}

static void release(lb_gen_value value) {
  if (value.is_string) {
    lb_gen_free((char *)value.string);
  }
}

static lb_gen_value parse_level(parser *p, size_t level, int live) {
  if (level == LEVEL_COUNT) {
    return parse_unary(p, live);
  }
  lb_gen_value left = parse_level(p, level + 1, live);
  for (;;) {
    const char *op = NULL;
    for (size_t i = 0; i < 4 && levels[level][i]; i++) {
      if (accept(p, levels[level][i])) {
        op = levels[level][i];
        break;
      }
    }
    if (!op) {
      return left;
    }
    lb_gen_value right = parse_level(p, level + 1, live);
    lb_gen_value result = apply(p, op, left, right, live);
    release(left);
    release(right);
    left = result;
  }
}

static lb_gen_value parse_and(parser *p, int live) {
  lb_gen_value left = parse_level(p, 0, live);
  while (accept(p, "&&")) {
    int decided = live && !truth(p, left);
    lb_gen_value right = parse_level(p, 0, live && !decided);
    int result = live && !decided && truth(p, right);
    release(left);
    release(right);
    left = number(result);
  }
  return left;
}

static lb_gen_value parse_or(parser *p, int live) {
  lb_gen_value left = parse_and(p, live);
  while (accept(p, "||")) {
    int decided = live && truth(p, left);
    lb_gen_value right = parse_and(p, live && !decided);
    int result = decided || (live && truth(p, right));
    release(left);
    release(right);
    left = number(result);
  }
  return left;
}

static lb_gen_value parse_conditional(parser *p, int live) {
  lb_gen_value condition = parse_or(p, live);
  if (!accept(p, "?")) {
    return condition;
  }
  int chosen = live && truth(p, condition);
  release(condition);
  lb_gen_value yes = parse_conditional(p, live && chosen);
  if (!accept(p, ":")) {
    fail(p, "expected ':' in conditional expression", "");
  }
  lb_gen_value no = parse_conditional(p, live && !chosen);
  if (chosen) {
    release(no);
    return yes;
  }
  release(yes);
  return no;
}

lb_gen_value lb_gen_eval_prefix(const char **cursor, const lb_gen_env *env, const char *file,
                                int line) {
  parser p = {*cursor, env, file, line};
  lb_gen_value value = parse_conditional(&p, 1);
  skip_blanks(&p);
  *cursor = p.at;
  return value;
}

lb_gen_value lb_gen_eval(const char *text, const lb_gen_env *env, const char *file, int line) {
  parser p = {text, env, file, line};
  lb_gen_value value = parse_conditional(&p, 1);
  skip_blanks(&p);
  if (*p.at) {
    fail(&p, "unexpected text after expression: ", p.at);
  }
  return value;
}
