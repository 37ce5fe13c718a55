/* A template is parsed once into a tree of nodes (C lines, $for, $if chains, $let, $assert) and
 * expanded by walking the tree; expressions are kept as text and evaluated at each use. An
 * `$include` splices the nodes of another file in place, each node keeping the file it came from,
 * so that errors and libclang diagnostics point at the included file. */
#include "template.h"

#include <ctype.h>
#include <string.h>

typedef enum node_kind { NODE_TEXT, NODE_FOR, NODE_IF, NODE_LET, NODE_ASSERT } node_kind;

typedef struct node node;

typedef struct node_list {
  node **items;
  size_t count;
} node_list;

struct node {
  node_kind kind;
  const char *path; /* the template file of the line */
  int line;
  char *text;     /* C line; $let expression; $assert condition */
  char *name;     /* $for variable; $let variable */
  char *first;    /* $for range start (NULL: 0) */
  char *last;     /* $for range end; $assert message */
  node_list body; /* $for body */
  /* $if: conditions[i] guards branches[i]; a NULL condition is the $else branch */
  char **conditions;
  int *branch_lines;
  node_list *branches;
  size_t branch_count;
};

struct lb_gen_template {
  char *path;
  node_list nodes;
};

typedef struct reader {
  const char *path;
  char **lines;
  size_t count;
  size_t next;
  int depth; /* of $include nesting */
} reader;

/* Deeper than this, an $include is a cycle. */
enum { MAX_INCLUDE_DEPTH = 16 };

static void push(node_list *list, node *item) {
  list->items = lb_gen_realloc(list->items, (list->count + 1) * sizeof *list->items);
  list->items[list->count++] = item;
}

static _Noreturn void syntax_error(const reader *r, int line, const char *message,
                                   const char *detail) {
  lb_gen_fail_at(LB_GEN_EXIT_CHECK, r->path, line, "%s%s", message, detail);
}

static const char *skip_blanks(const char *text) {
  while (*text == ' ' || *text == '\t') {
    text++;
  }
  return text;
}

/* The directive of a template line (the text after `$`), or NULL for a C line. A line that
 * starts with a `${...}` substitution is C. */
static const char *directive_of(const char *line) {
  const char *text = skip_blanks(line);
  if (text[0] != '$' || text[1] == '{') {
    return NULL;
  }
  return text + 1;
}

/* Whether directive starts with the keyword word followed by a blank, ':' or the end. */
static const char *keyword(const char *directive, const char *word) {
  size_t length = strlen(word);
  if (strncmp(directive, word, length) != 0) {
    return NULL;
  }
  char next = directive[length];
  if (next != '\0' && next != ' ' && next != '\t' && next != ':') {
    return NULL;
  }
  return skip_blanks(directive + length);
}

static char *trimmed(const char *start, const char *end) {
  start = skip_blanks(start);
  while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
    end--;
  }
  return lb_gen_strndup(start, (size_t)(end - start));
}

/* The expression before the final ':' of `$if e:`, `$elif e:` and the range of `$for`. */
static char *condition_before_colon(const reader *r, int line, const char *text) {
  char *whole = trimmed(text, text + strlen(text));
  size_t length = strlen(whole);
  if (length < 2 || whole[length - 1] != ':') {
    syntax_error(r, line, "expected an expression and ':' in ", whole);
  }
  whole[length - 1] = '\0';
  return whole;
}

/* The position of the first ',' outside parentheses and string literals, or NULL. */
static const char *top_level_comma(const char *text) {
  int depth = 0, in_string = 0;
  for (const char *c = text; *c; c++) {
    if (in_string) {
      if (*c == '\\' && c[1]) {
        c++;
      } else if (*c == '"') {
        in_string = 0;
      }
    } else if (*c == '"') {
      in_string = 1;
    } else if (*c == '(') {
      depth++;
    } else if (*c == ')') {
      depth--;
    } else if (*c == ',' && depth == 0) {
      return c;
    }
  }
  return NULL;
}

static const char *identifier_end(const char *text) {
  if (!isalpha((unsigned char)*text) && *text != '_') {
    return text;
  }
  while (isalnum((unsigned char)*text) || *text == '_') {
    text++;
  }
  return text;
}

static void parse_block(reader *r, node_list *into, const char *const *terminators,
                        const char **found, int opening_line);

static node *new_node(const reader *r, node_kind kind, int line) {
  node *n = lb_gen_alloc(sizeof *n);
  n->kind = kind;
  n->path = r->path;
  n->line = line;
  return n;
}

/* The variable that opens a $for or $let line: stores it in n->name, returns what follows it. */
static const char *parse_variable(reader *r, int line, const char *rest, node *n,
                                  const char *directive) {
  const char *name_end = identifier_end(rest);
  if (name_end == rest) {
    syntax_error(r, line, "expected a variable after ", directive);
  }
  n->name = lb_gen_strndup(rest, (size_t)(name_end - rest));
  return name_end;
}

static node *parse_for(reader *r, int line, const char *rest) {
  node *n = new_node(r, NODE_FOR, line);
  const char *name_end = parse_variable(r, line, rest, n, "$for");
  const char *after = skip_blanks(name_end);
  if (!keyword(after, "in")) {
    syntax_error(r, line, "expected 'in range(...)' after $for ", n->name);
  }
  after = skip_blanks(after + 2);
  if (strncmp(after, "range", 5) != 0 || *skip_blanks(after + 5) != '(') {
    syntax_error(r, line, "expected 'range(...)' in $for ", n->name);
  }
  char *range = condition_before_colon(r, line, strchr(after, '(') + 1);
  size_t length = strlen(range);
  if (length == 0 || range[length - 1] != ')') {
    syntax_error(r, line, "expected ')' closing range(...) in $for ", n->name);
  }
  range[length - 1] = '\0';
  const char *comma = top_level_comma(range);
  if (comma) {
    n->first = trimmed(range, comma);
    n->last = trimmed(comma + 1, range + strlen(range));
  } else {
    n->last = trimmed(range, range + strlen(range));
  }
  static const char *const terminators[] = {"endfor", NULL};
  const char *found;
  parse_block(r, &n->body, terminators, &found, line);
  return n;
}

static node *parse_if(reader *r, int line, const char *rest) {
  node *n = new_node(r, NODE_IF, line);
  char *condition = condition_before_colon(r, line, rest);
  int condition_line = line;
  static const char *const terminators[] = {"elif", "else", "endif", NULL};
  for (;;) {
    n->conditions = lb_gen_realloc(n->conditions, (n->branch_count + 1) * sizeof *n->conditions);
    n->branches = lb_gen_realloc(n->branches, (n->branch_count + 1) * sizeof *n->branches);
    n->branch_lines =
        lb_gen_realloc(n->branch_lines, (n->branch_count + 1) * sizeof *n->branch_lines);
    n->conditions[n->branch_count] = condition;
    n->branch_lines[n->branch_count] = condition_line;
    node_list *branch = &n->branches[n->branch_count++];
    memset(branch, 0, sizeof *branch);
    const char *found;
    if (condition) {
      parse_block(r, branch, terminators, &found, line);
    } else {
      parse_block(r, branch, terminators + 2, &found, line);
    }
    if (strcmp(found, "endif") == 0) {
      return n;
    }
    const char *directive = directive_of(r->lines[r->next - 1]);
    if (strcmp(found, "elif") == 0) {
      condition = condition_before_colon(r, (int)r->next, keyword(directive, "elif"));
    } else {
      const char *colon = keyword(directive, "else");
      if (strcmp(colon, ":") != 0) {
        syntax_error(r, (int)r->next, "expected '$else:'", "");
      }
      condition = NULL;
    }
    condition_line = (int)r->next;
  }
}

static node *parse_let(reader *r, int line, const char *rest) {
  node *n = new_node(r, NODE_LET, line);
  const char *name_end = parse_variable(r, line, rest, n, "$let");
  const char *equals = skip_blanks(name_end);
  if (*equals != '=' || equals[1] == '=') {
    syntax_error(r, line, "expected '=' in $let ", n->name);
  }
  n->text = trimmed(equals + 1, equals + strlen(equals));
  if (!*n->text) {
    syntax_error(r, line, "expected an expression in $let ", n->name);
  }
  return n;
}

static node *parse_assert(reader *r, int line, const char *rest) {
  node *n = new_node(r, NODE_ASSERT, line);
  const char *comma = top_level_comma(rest);
  n->text = trimmed(rest, comma ? comma : rest + strlen(rest));
  if (!*n->text) {
    syntax_error(r, line, "expected a condition in $assert", "");
  }
  n->last = comma ? trimmed(comma + 1, comma + strlen(comma)) : NULL;
  return n;
}

static int read_lines(reader *r, const char *path);

/* `$include "file"`: the file (relative to the including template's folder) is parsed into the
 * current block. */
static void parse_include(reader *r, int line, const char *rest, node_list *into) {
  char *quoted = trimmed(rest, rest + strlen(rest));
  size_t length = strlen(quoted);
  if (length < 3 || quoted[0] != '"' || quoted[length - 1] != '"') {
    syntax_error(r, line, "expected $include \"file\", got: ", quoted);
  }
  if (r->depth >= MAX_INCLUDE_DEPTH) {
    syntax_error(r, line, "$include nested too deeply (a cycle?): ", quoted);
  }
  quoted[length - 1] = '\0';
  const char *slash = strrchr(r->path, '/');
  char *path = slash ? lb_gen_format("%.*s/%s", (int)(slash - r->path), r->path, quoted + 1)
                     : lb_gen_strdup(quoted + 1);
  reader included = {NULL, NULL, 0, 0, r->depth + 1};
  if (!read_lines(&included, path)) {
    syntax_error(r, line, "cannot read the included file ", path);
  }
  const char *found;
  parse_block(&included, into, NULL, &found, 0);
  lb_gen_free(path);
  lb_gen_free(quoted);
}

/* Parses lines into `into` until one of terminators (a directive keyword) or, with no
 * terminators, the end of the file. */
static void parse_block(reader *r, node_list *into, const char *const *terminators,
                        const char **found, int opening_line) {
  while (r->next < r->count) {
    int line = (int)r->next + 1;
    const char *text = r->lines[r->next++];
    const char *directive = directive_of(text);
    if (!directive) {
      node *n = new_node(r, NODE_TEXT, line);
      n->text = lb_gen_strdup(text);
      push(into, n);
      continue;
    }
    if (directive[0] == '#') {
      continue;
    }
    for (size_t i = 0; terminators && terminators[i]; i++) {
      if (keyword(directive, terminators[i])) {
        *found = terminators[i];
        return;
      }
    }
    const char *rest;
    if ((rest = keyword(directive, "for"))) {
      push(into, parse_for(r, line, rest));
    } else if ((rest = keyword(directive, "if"))) {
      push(into, parse_if(r, line, rest));
    } else if ((rest = keyword(directive, "let"))) {
      push(into, parse_let(r, line, rest));
    } else if ((rest = keyword(directive, "assert"))) {
      push(into, parse_assert(r, line, rest));
    } else if ((rest = keyword(directive, "include"))) {
      parse_include(r, line, rest, into);
    } else {
      syntax_error(r, line, "unknown or misplaced template line: $", directive);
    }
  }
  if (terminators) {
    syntax_error(r, opening_line, "block is not closed: expected $", terminators[0]);
  }
}

/* Reads the lines of path into r; 0 when the file cannot be read. The reader keeps the path for
 * the nodes, which outlive it. */
static int read_lines(reader *r, const char *path) {
  char *content = lb_gen_read_file(path, NULL);
  if (!content) {
    return 0;
  }
  r->path = lb_gen_strdup(path);
  for (char *line = content; *line;) {
    char *end = strchr(line, '\n');
    size_t span = end ? (size_t)(end - line) : strlen(line);
    size_t length = span > 0 && line[span - 1] == '\r' ? span - 1 : span;
    r->lines = lb_gen_realloc(r->lines, (r->count + 1) * sizeof *r->lines);
    r->lines[r->count++] = lb_gen_strndup(line, length);
    line += span + (end ? 1 : 0);
  }
  lb_gen_free(content);
  return 1;
}

lb_gen_template *lb_gen_template_load(const char *path) {
  reader r = {NULL, NULL, 0, 0, 0};
  if (!read_lines(&r, path)) {
    return NULL;
  }
  lb_gen_template *tmpl = lb_gen_alloc(sizeof *tmpl);
  tmpl->path = lb_gen_strdup(path);
  const char *found;
  parse_block(&r, &tmpl->nodes, NULL, &found, 0);
  return tmpl;
}

const char *lb_gen_template_path(const lb_gen_template *tmpl) { return tmpl->path; }

void lb_gen_text_add_line(lb_gen_text *out, const char *line, const char *source_path,
                          int source_line) {
  lb_gen_buf_puts(&out->text, line);
  lb_gen_buf_append(&out->text, "\n", 1);
  out->source_lines =
      lb_gen_realloc(out->source_lines, (out->line_count + 1) * sizeof *out->source_lines);
  out->source_paths =
      lb_gen_realloc(out->source_paths, (out->line_count + 1) * sizeof *out->source_paths);
  out->source_paths[out->line_count] = source_path;
  out->source_lines[out->line_count++] = source_line;
}

static int64_t eval_number(const char *path, const char *text, const lb_gen_env *env, int line) {
  lb_gen_value value = lb_gen_eval(text, env, path, line);
  if (value.is_string) {
    lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, line, "type mismatch: expected a number: %s", text);
  }
  return value.number;
}

static int eval_condition(const char *path, const char *text, const lb_gen_env *env, int line) {
  return eval_number(path, text, env, line) != 0;
}

static void run_let(const node *n, lb_gen_env *env) {
  lb_gen_value value = lb_gen_eval(n->text, env, n->path, n->line);
  lb_gen_env_set(env, n->name, value);
  if (value.is_string) {
    lb_gen_free((char *)value.string);
  }
}

/* A failed $assert says that the template does not support these parameters: bad input. */
static void run_assert(const node *n, const lb_gen_env *env) {
  if (eval_condition(n->path, n->text, env, n->line)) {
    return;
  }
  char *message = n->last ? lb_gen_value_text(lb_gen_eval(n->last, env, n->path, n->line))
                          : lb_gen_format("assertion failed: %s", n->text);
  lb_gen_fail_at(LB_GEN_EXIT_INPUT, n->path, n->line, "%s", message);
}

char *lb_gen_substitute(const char *text, const lb_gen_env *env, const char *path, int line) {
  lb_gen_buf out = {0};
  lb_gen_buf_append(&out, "", 0);
  const char *at = text;
  for (;;) {
    const char *dollar = strstr(at, "${");
    if (!dollar) {
      lb_gen_buf_puts(&out, at);
      break;
    }
    lb_gen_buf_append(&out, at, (size_t)(dollar - at));
    const char *cursor = dollar + 2;
    lb_gen_value value = lb_gen_eval_prefix(&cursor, env, path, line);
    if (*cursor != '}') {
      lb_gen_fail_at(LB_GEN_EXIT_CHECK, path, line, "expected '}' closing '${'");
    }
    char *value_text = lb_gen_value_text(value);
    lb_gen_buf_puts(&out, value_text);
    lb_gen_free(value_text);
    if (value.is_string) {
      lb_gen_free((char *)value.string);
    }
    at = cursor + 1;
  }
  return out.data;
}

static void expand_list(const node_list *list, lb_gen_env *env, lb_gen_text *out);

static void run_for(const node *n, lb_gen_env *env, lb_gen_text *out) {
  int64_t first = n->first ? eval_number(n->path, n->first, env, n->line) : 0;
  int64_t last = eval_number(n->path, n->last, env, n->line);
  const lb_gen_value *shadowed = lb_gen_env_get(env, n->name);
  lb_gen_value saved = {0, 0, NULL};
  if (shadowed) {
    saved = *shadowed;
    if (saved.is_string) {
      saved.string = lb_gen_strdup(saved.string);
    }
  }
  for (int64_t i = first; i < last; i++) {
    lb_gen_env_set_number(env, n->name, i);
    expand_list(&n->body, env, out);
  }
  if (shadowed) {
    lb_gen_env_set(env, n->name, saved);
    if (saved.is_string) {
      lb_gen_free((char *)saved.string);
    }
  } else {
    lb_gen_env_remove(env, n->name);
  }
}

static void expand_list(const node_list *list, lb_gen_env *env, lb_gen_text *out) {
  for (size_t i = 0; i < list->count; i++) {
    const node *n = list->items[i];
    switch (n->kind) {
    case NODE_TEXT: {
      char *line = lb_gen_substitute(n->text, env, n->path, n->line);
      lb_gen_text_add_line(out, line, n->path, n->line);
      lb_gen_free(line);
      break;
    }
    case NODE_FOR: run_for(n, env, out); break;
    case NODE_LET: run_let(n, env); break;
    case NODE_ASSERT: run_assert(n, env); break;
    case NODE_IF:
      for (size_t b = 0; b < n->branch_count; b++) {
        if (!n->conditions[b] ||
            eval_condition(n->path, n->conditions[b], env, n->branch_lines[b])) {
          expand_list(&n->branches[b], env, out);
          break;
        }
      }
      break;
    }
  }
}

void lb_gen_template_expand(const lb_gen_template *tmpl, lb_gen_env *env, lb_gen_text *out) {
  expand_list(&tmpl->nodes, env, out);
}

void lb_gen_template_metadata(const lb_gen_template *tmpl, lb_gen_env *env) {
  for (size_t i = 0; i < tmpl->nodes.count; i++) {
    const node *n = tmpl->nodes.items[i];
    if (n->kind == NODE_LET) {
      run_let(n, env);
    } else if (n->kind == NODE_ASSERT) {
      run_assert(n, env);
    } else {
      return;
    }
  }
}
