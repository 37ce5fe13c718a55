/* The keys of spec lines and their parsers: each turns the text of one key=value (or --key value)
 * into template variables (templates/README.md, "Parameters the generator passes"). */
#ifndef LB_GEN_KEYS_H
#define LB_GEN_KEYS_H

#include "expr.h"

typedef struct lb_gen_key lb_gen_key;

/* Sets the key's variables from text; NULL, or the reason text is not a value of the key. */
typedef const char *(*lb_gen_key_parser)(const lb_gen_key *key, const char *text, lb_gen_env *vars);

struct lb_gen_key {
  const char *name; /* spec key and command-line flag (--name) */
  lb_gen_key_parser parse;
  const char *variable; /* the variable it sets (operands: the prefix of their variables) */
  const char *fallback; /* parsed when the key is not given; NULL: the key is required */
  const char *choices;  /* lb_gen_parse_choice: the words allowed, blank-separated */
  unsigned limit;       /* lb_gen_parse_count: the largest value */
  const char *suffix;   /* a schedule key: the kernel name gains _<suffix><value> when the
                           value is not the fallback; NULL: not a schedule key */
  const char *help;
};

/* One of key->choices (or the fallback, when that is ""): sets variable to it. */
const char *lb_gen_parse_choice(const lb_gen_key *key, const char *text, lb_gen_env *vars);
/* A count in 1..key->limit: sets variable. */
const char *lb_gen_parse_count(const lb_gen_key *key, const char *text, lb_gen_env *vars);
/* MRxNR: sets MR and NR. */
const char *lb_gen_parse_tile(const lb_gen_key *key, const char *text, lb_gen_env *vars);
/* `any` (bit planes given at run time) or <bits><u|s|b>. With variable V it sets VBITS (0 for
 * any), VENC ("u", "s", "b", "" for any), VSIGNED, V_MAX_CODE (largest |code| in bit planes) and
 * V_NAME (the kernel-name part: a2u, w1b, ap). */
const char *lb_gen_parse_operand(const lb_gen_key *key, const char *text, lb_gen_env *vars);

/* For a variable X holding a code format (bitplanes, s8, u8, s16): X_TYPE (its C type), X_ENUM
 * (enum lb_code_format), X_BYTES, X_MIN and X_MAX (the code range; bitplanes: one 64-bit word).
 * 0 when X is not a code format. */
int lb_gen_code_variables(lb_gen_env *vars, const char *variable);

#endif
