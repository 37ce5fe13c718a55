/* One kernel of an op: its keys, parsed into template variables, and once resolved its template,
 * metadata, name and the kernels it derives (docs/design.md, sections 6, 7 and 10). */
#ifndef LB_GEN_KERNEL_H
#define LB_GEN_KERNEL_H

#include "expr.h"
#include "ops.h"
#include "target.h"
#include "template.h"

typedef struct lb_gen_kernel {
  const lb_gen_op *op;
  char *isa;            /* NULL until given */
  lb_gen_env vars;      /* every template variable of the kernel */
  lb_gen_strings given; /* the keys given (the others take their fallbacks) */
  /* resolved */
  char *name;
  lb_gen_template *tmpl;
} lb_gen_kernel;

typedef struct lb_gen_kernels {
  lb_gen_kernel **items;
  size_t count;
} lb_gen_kernels;

/* What resolving needs beyond the kernel. */
typedef struct lb_gen_context {
  const char *templates_dir;
  const lb_gen_target *target;
  const char *cpu;
} lb_gen_context;

typedef enum lb_gen_key_status {
  LB_GEN_KEY_SET,
  LB_GEN_KEY_UNKNOWN,
  LB_GEN_KEY_TWICE,
  LB_GEN_KEY_BAD
} lb_gen_key_status;

lb_gen_kernel *lb_gen_kernel_new(const lb_gen_op *op);
/* Sets one key (`isa` is a key of every op); *reason says why a bad value is bad. */
lb_gen_key_status lb_gen_kernel_set(lb_gen_kernel *kernel, const char *key, const char *value,
                                    const char **reason);
/* Gives the keys not given their fallbacks and checks the whole; NULL or the reason (an
 * allocated message). flag_style names keys as --key instead of key=. */
char *lb_gen_kernel_finish(lb_gen_kernel *kernel, int flag_style);
/* Parses "op key=value ..." into a new kernel (isa given beforehand by default_isa, or NULL);
 * NULL and *message on a malformed line. */
lb_gen_kernel *lb_gen_kernel_parse(const char *line, const char *default_isa, char **message);

/* Resolves the kernel and, first, the kernels it derives, appending every kernel not yet in all
 * (by name) to it. A missing template or a failed $assert ends the program with status 2, a
 * template fault with status 1, either message naming needed_by if not NULL. Returns the kernel
 * of all with this name (the kernel itself unless an equal one was there). */
lb_gen_kernel *lb_gen_kernel_resolve(lb_gen_kernel *kernel, const lb_gen_context *context,
                                     const char *needed_by, lb_gen_kernels *all);

/* NULL when no kernel of the list has the name. */
lb_gen_kernel *lb_gen_kernels_find(const lb_gen_kernels *list, const char *name);
void lb_gen_kernels_push(lb_gen_kernels *list, lb_gen_kernel *kernel);

#endif
