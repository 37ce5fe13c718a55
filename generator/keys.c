#include "keys.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *variable_name(const lb_gen_key *key, const char *suffix) {
  return lb_gen_format("%s%s", key->variable, suffix);
}

const char *lb_gen_parse_choice(const lb_gen_key *key, const char *text, lb_gen_env *vars) {
  int known = key->fallback && strcmp(key->fallback, "") == 0 && *text == '\0';
  lb_gen_strings words = {0};
  lb_gen_strings_split(&words, key->choices);
  known = known || (*text && lb_gen_strings_contains(&words, text));
  if (!known) {
    return lb_gen_format("expected one of: %s", key->choices);
  }
  lb_gen_env_set_string(vars, key->variable, text);
  return NULL;
}

/* A decimal count in 1..limit, or 0. */
static unsigned count_of(const char *text, unsigned limit) {
  if (!isdigit((unsigned char)text[0])) {
    return 0;
  }
  char *end;
  unsigned long value = strtoul(text, &end, 10);
  return *end || value < 1 || value > limit ? 0 : (unsigned)value;
}

const char *lb_gen_parse_count(const lb_gen_key *key, const char *text, lb_gen_env *vars) {
  unsigned count = count_of(text, key->limit);
  if (!count) {
    return lb_gen_format("expected a count in 1..%u", key->limit);
  }
  lb_gen_env_set_number(vars, key->variable, count);
  return NULL;
}

/* A register tile beyond this is a typo, not a kernel. */
enum { MAX_TILE = 64 };

const char *lb_gen_parse_tile(const lb_gen_key *key, const char *text, lb_gen_env *vars) {
  (void)key;
  const char *x = strchr(text, 'x');
  if (!x) {
    return "a tile is MRxNR, e.g. 4x4";
  }
  char *rows = lb_gen_strndup(text, (size_t)(x - text));
  unsigned mr = count_of(rows, MAX_TILE), nr = count_of(x + 1, MAX_TILE);
  lb_gen_free(rows);
  if (!mr || !nr) {
    return "a tile is MRxNR with MR and NR in 1..64, e.g. 4x4";
  }
  lb_gen_env_set_number(vars, "MR", mr);
  lb_gen_env_set_number(vars, "NR", nr);
  return NULL;
}

/* The largest |code| of an operand in bit planes: unsigned codes reach 2^bits - 1, signed
 * -2^(bits-1), bipolar codes are bits; planes given at run time reach 16-bit unsigned codes. */
static int64_t max_abs_code(unsigned bits, char encoding) {
  switch (encoding) {
  case 'u': return ((int64_t)1 << bits) - 1;
  case 's': return (int64_t)1 << (bits - 1);
  case 'b': return 1;
  default: return ((int64_t)1 << 16) - 1;
  }
}

const char *lb_gen_parse_operand(const lb_gen_key *key, const char *text, lb_gen_env *vars) {
  unsigned long bits = 0;
  char encoding = 0;
  if (strcmp(text, "any") != 0) {
    char *end;
    if (!isdigit((unsigned char)text[0])) {
      return "expected 'any' or <bits><u|s|b>, e.g. 2u";
    }
    bits = strtoul(text, &end, 10);
    if ((end[0] != 'u' && end[0] != 's' && end[0] != 'b') || end[1] != '\0') {
      return "expected 'any' or <bits><u|s|b>, e.g. 2u";
    }
    if (bits < 1 || bits > 16) {
      return "bits must be in 1..16";
    }
    if (end[0] == 'b' && bits != 1) {
      return "bipolar operands have exactly 1 bit";
    }
    encoding = end[0];
  }
  char encoding_text[2] = {encoding, '\0'};
  char *name =
      bits ? lb_gen_format("%s%lu%c", key->name, bits, encoding) : lb_gen_format("%sp", key->name);
  const struct {
    const char *suffix;
    int is_string;
    int64_t number;
    const char *string;
  } sets[] = {
      {"BITS", 0, (int64_t)bits, NULL},
      {"ENC", 1, 0, encoding_text},
      {"SIGNED", 0, encoding == 's', NULL},
      {"_MAX_CODE", 0, max_abs_code((unsigned)bits, encoding), NULL},
      {"_NAME", 1, 0, name},
  };
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    char *variable = variable_name(key, sets[i].suffix);
    lb_gen_value value = {sets[i].is_string, sets[i].number, sets[i].string};
    lb_gen_env_set(vars, variable, value);
    lb_gen_free(variable);
  }
  lb_gen_free(name);
  return NULL;
}

static const struct code_format {
  const char *name, *type, *enumerator;
  int64_t bytes, min, max;
} code_formats[] = {
    {"bitplanes", "uint64_t", "LB_CODE_BITPLANES", 8, 0, 1},
    {"s8", "int8_t", "LB_CODE_S8", 1, INT8_MIN, INT8_MAX},
    {"u8", "uint8_t", "LB_CODE_U8", 1, 0, UINT8_MAX},
    {"s16", "int16_t", "LB_CODE_S16", 2, INT16_MIN, INT16_MAX},
};

int lb_gen_code_variables(lb_gen_env *vars, const char *variable) {
  const lb_gen_value *code = lb_gen_env_get(vars, variable);
  const struct code_format *format = NULL;
  for (size_t i = 0; code && code->is_string && i < sizeof code_formats / sizeof code_formats[0];
       i++) {
    if (strcmp(code->string, code_formats[i].name) == 0) {
      format = &code_formats[i];
    }
  }
  if (!format) {
    return 0;
  }
  const struct {
    const char *suffix;
    const char *string;
    int64_t number;
  } sets[] = {{"_TYPE", format->type, 0},
              {"_ENUM", format->enumerator, 0},
              {"_BYTES", NULL, format->bytes},
              {"_MIN", NULL, format->min},
              {"_MAX", NULL, format->max}};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    char *name = lb_gen_format("%s%s", variable, sets[i].suffix);
    if (sets[i].string) {
      lb_gen_env_set_string(vars, name, sets[i].string);
    } else {
      lb_gen_env_set_number(vars, name, sets[i].number);
    }
    lb_gen_free(name);
  }
  return 1;
}
