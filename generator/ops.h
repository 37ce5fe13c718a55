/* The op table: one entry per kind of kernel, with everything the generator needs to parse,
 * expand, name, derive and register it (docs/design.md, section 10). */
#ifndef LB_GEN_OPS_H
#define LB_GEN_OPS_H

#include <stddef.h>

#include "expr.h"
#include "keys.h"
#include "util.h"

/* A kernel an op's kernel needs: variable is set to the derived kernel's name, line is its spec
 * line (the isa is the deriving kernel's). */
typedef struct lb_gen_derived {
  const char *variable;
  const char *line;
} lb_gen_derived;

typedef struct lb_gen_op {
  const char *name; /* first word of a spec line, --op value */
  const char *summary;
  const lb_gen_key *keys; /* ends with a key whose name is NULL */
  /* NULL when the parsed keys are consistent, else the reason; given holds the keys given. */
  const char *(*check)(const lb_gen_env *vars, const lb_gen_strings *given);
  /* "NAME = expression" lines, evaluated in order after the keys and before the template's
   * metadata, which may redefine them. */
  const char *const *defaults;
  const char *source_template; /* ${}-text: the template's path under templates/ */
  const char *header_template; /* path under templates/ */
  /* Variables the template's metadata (or the defaults) must define as positive numbers. */
  const char *const *required_metadata;
  /* NULL when the metadata is sound, else the reason (a fault of the template). */
  const char *(*check_metadata)(const lb_gen_env *vars);
  /* Variables holding code formats: each X gains X_TYPE, X_ENUM, X_BYTES, X_MIN, X_MAX. */
  const char *const *code_variables;
  const char *name_format;       /* ${}-text: the kernel's name */
  const lb_gen_derived *derives; /* ends with a NULL variable; may be NULL */
  /* The registry table of the op's kernels: `const <registry_type> <registry>[]` and
   * `const size_t <registry>_count`, one row (${}-text) per kernel; NULL: not registered. */
  const char *registry;
  const char *registry_type;
  const char *registry_row;
} lb_gen_op;

/* The table, in the order --help lists it. */
const lb_gen_op *lb_gen_ops(size_t *count);
/* NULL when no op has the name. */
const lb_gen_op *lb_gen_op_find(const char *name);
/* NULL when the op has no such key. */
const lb_gen_key *lb_gen_op_key(const lb_gen_op *op, const char *name);
/* "gemm, pack, pack-indirect". */
char *lb_gen_op_names(void);

#endif
