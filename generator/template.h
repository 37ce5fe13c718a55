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

/* Generated text with, for each of its lines, the template line it came from (0: none). */
typedef struct lb_gen_text {
  lb_gen_buf text;
  int *source_lines;
  size_t line_count;
} lb_gen_text;

void lb_gen_text_add_line(lb_gen_text *out, const char *line, int source_line);

/* Appends the expansion of tmpl with the variables of env (which $let and $for change). */
void lb_gen_template_expand(const lb_gen_template *tmpl, lb_gen_env *env, lb_gen_text *out);

#endif
