/* Kernel descriptions: parameters, validity, names (docs/design.md, section 7) and the template
 * variables of each kernel (templates/README.md). */
#ifndef LB_GEN_KERNEL_H
#define LB_GEN_KERNEL_H

#include <stdint.h>

#include "expr.h"
#include "template.h"

/* Same values as enum lb_gemm_strategy of ukernel.h. */
typedef enum lb_gen_strategy {
  LB_GEN_BITSERIAL = 0,
  LB_GEN_BITSERIAL_XOR = 1,
  LB_GEN_DIRECT = 2
} lb_gen_strategy;

/* bits 0 (encoding 0): any, planes given at run time. */
typedef struct lb_gen_operand {
  unsigned bits;
  char encoding;
} lb_gen_operand;

typedef struct lb_gen_kernel {
  int is_pack;
  char *isa;
  /* GEMM */
  lb_gen_strategy strategy;
  unsigned mr, nr;
  lb_gen_operand a, w; /* direct: optional, bits 0 when not given */
  char *format;        /* direct: "s8", "u8s8", "s16" */
  /* pack */
  const char *code; /* "bitplanes", "s8", "u8", "s16" */
  unsigned rows;
  /* resolved from the template */
  unsigned kblock;
  int64_t max_abs_product;
  char *name;
  lb_gen_template *tmpl;
  const char *a_code, *w_code; /* GEMM: code formats of the panels */
  char *pack_a, *pack_w;       /* GEMM: names of the pack kernels of its panels */
} lb_gen_kernel;

/* Parses "any" or "<bits><u|s|b>"; returns NULL or the reason the text is not an operand. */
const char *lb_gen_operand_parse(const char *text, lb_gen_operand *operand);
/* Parses a strategy name; returns 0 when unknown. */
int lb_gen_strategy_parse(const char *text, lb_gen_strategy *strategy);
const char *lb_gen_strategy_name(lb_gen_strategy strategy);
/* Parses "MRxNR"; returns NULL or the reason. */
const char *lb_gen_tile_parse(const char *text, unsigned *mr, unsigned *nr);
/* Parses a positive count up to limit; returns 0 when it is not one. */
int lb_gen_count_parse(const char *text, unsigned limit, unsigned *count);

/* NULL when the GEMM kernel's parameters are consistent, else the reason. */
const char *lb_gen_kernel_check(const lb_gen_kernel *kernel);

/* Loads the kernel's template from templates_dir, evaluates its metadata and sets kblock,
 * max_abs_product, name, and for GEMM the code formats and pack kernel names. A missing
 * template ends the program with status 2, naming needed_by (e.g. the spec line) if not NULL. */
void lb_gen_kernel_resolve(lb_gen_kernel *kernel, const char *templates_dir,
                           const char *needed_by);

/* The pack kernel of a resolved GEMM kernel's A panel (which 'a') or W panel ('w'), unresolved. */
lb_gen_kernel lb_gen_kernel_pack_of(const lb_gen_kernel *gemm, char which);

/* The template variables of the kernel (README "Parameters the generator passes"), without NAME
 * and HEADER for GEMM metadata. */
void lb_gen_kernel_params(const lb_gen_kernel *kernel, lb_gen_env *env);

/* The name of a code format in ukernel.h, e.g. LB_CODE_S16. */
const char *lb_gen_code_enum(const char *code);

#endif
