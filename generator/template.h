/* Templates: parsing the template lines of templates/README.md and expanding them into C text,
 * keeping for each output line the template line it came from. */
#ifndef LB_GEN_TEMPLATE_H
#define LB_GEN_TEMPLATE_H

#include <stddef.h>

#include "expr.h"
#include "util.h"

typedef struct lb_gen_template lb_gen_template;

/* NULL when the file cannot be read; a malformed template line ends the program. */
lb_gen_template *lb_gen_template_load(const char *path);
const char *lb_gen_template_path(const lb_gen_template *tmpl);

/* Evaluates the metadata: the `$let` (and `$assert`) lines before the first C line, into env. */
void lb_gen_template_metadata(const lb_gen_template *tmpl, lb_gen_env *env);

/* Generated text with, for each of its lines, the template file and line it came from (NULL and
 * 0: none). */
typedef struct lb_gen_text {
  lb_gen_buf text;
  const char **source_paths;
  int *source_lines;
  size_t line_count;
} lb_gen_text;

void lb_gen_text_add_line(lb_gen_text *out, const char *line, const char *source_path,
                          int source_line);

/* text with each `${expr}` replaced by its value in env; errors name path:line. */
char *lb_gen_substitute(const char *text, const lb_gen_env *env, const char *path, int line);

/* Appends the expansion of tmpl with the variables of env (which $let and $for change). */
void lb_gen_template_expand(const lb_gen_template *tmpl, lb_gen_env *env, lb_gen_text *out);

#endif
