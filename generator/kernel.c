#include "kernel.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A register tile or panel height beyond this is a typo, not a kernel. */
enum { MAX_TILE = 64, MAX_KBLOCK = 4096 };

const char *lb_gen_operand_parse(const char *text, lb_gen_operand *operand)
{
  if (strcmp(text, "any") == 0) {
    operand->bits = 0;
    operand->encoding = 0;
    return NULL;
  }
  char *end;
  if (!isdigit((unsigned char)text[0]))
    return "expected 'any' or <bits><u|s|b>, e.g. 2u";
  unsigned long bits = strtoul(text, &end, 10);
  if ((end[0] != 'u' && end[0] != 's' && end[0] != 'b') || end[1] != '\0')
    return "expected 'any' or <bits><u|s|b>, e.g. 2u";
  if (bits < 1 || bits > 16)
    return "bits must be in 1..16";
  if (end[0] == 'b' && bits != 1)
    return "bipolar operands have exactly 1 bit";
  operand->bits = (unsigned)bits;
  operand->encoding = end[0];
  return NULL;
}

static const char *const strategy_names[] = {"bitserial", "bitserial-xor", "direct"};

int lb_gen_strategy_parse(const char *text, lb_gen_strategy *strategy)
{
  for (int i = 0; i < 3; i++)
    if (strcmp(text, strategy_names[i]) == 0) {
      *strategy = (lb_gen_strategy)i;
      return 1;
    }
  return 0;
}

const char *lb_gen_strategy_name(lb_gen_strategy strategy)
{
  return strategy_names[strategy];
}

int lb_gen_count_parse(const char *text, unsigned limit, unsigned *count)
{
  if (!isdigit((unsigned char)text[0]))
    return 0;
  char *end;
  unsigned long value = strtoul(text, &end, 10);
  if (*end || value < 1 || value > limit)
    return 0;
  *count = (unsigned)value;
  return 1;
}

const char *lb_gen_tile_parse(const char *text, unsigned *mr, unsigned *nr)
{
  const char *x = strchr(text, 'x');
  if (!x)
    return "a tile is MRxNR, e.g. 4x4";
  char *rows = lb_gen_strndup(text, (size_t)(x - text));
  int ok = lb_gen_count_parse(rows, MAX_TILE, mr) && lb_gen_count_parse(x + 1, MAX_TILE, nr);
  lb_gen_free(rows);
  return ok ? NULL : "a tile is MRxNR with MR and NR in 1..64, e.g. 4x4";
}

/* Bits of the narrowest code of each panel of a direct format. */
static unsigned format_bits(const char *format)
{
  return strcmp(format, "s16") == 0 ? 16 : 8;
}

const char *lb_gen_kernel_check(const lb_gen_kernel *kernel)
{
  if (kernel->strategy == LB_GEN_DIRECT) {
    if (!kernel->format)
      return "a direct kernel needs a format: s8, u8s8 or s16";
    if (strcmp(kernel->format, "s8") != 0 && strcmp(kernel->format, "u8s8") != 0 &&
        strcmp(kernel->format, "s16") != 0)
      return "a direct format is s8, u8s8 or s16";
    /* Any operand of up to 8 bits fits an 8-bit code after the runtime's offset. */
    if (kernel->a.bits > format_bits(kernel->format) ||
        kernel->w.bits > format_bits(kernel->format))
      return "the direct format cannot hold codes of that many bits";
    return NULL;
  }
  if (kernel->format)
    return "format applies to direct kernels only";
  if (kernel->strategy == LB_GEN_BITSERIAL_XOR &&
      (kernel->a.encoding != 'b' || kernel->w.encoding != 'b'))
    return "bitserial-xor needs bipolar operands on both sides: a=1b w=1b";
  return NULL;
}

static void operand_name(lb_gen_buf *buf, char side, lb_gen_operand operand)
{
  if (operand.bits == 0)
    lb_gen_buf_printf(buf, "%cp", side);
  else
    lb_gen_buf_printf(buf, "%c%u%c", side, operand.bits, operand.encoding);
}

static char *kernel_name(const lb_gen_kernel *kernel)
{
  lb_gen_buf name = {0};
  if (kernel->is_pack) {
    lb_gen_buf_printf(&name, "lb_pack_%s_%ur_k%u__%s", kernel->code, kernel->rows, kernel->kblock,
                      kernel->isa);
    return name.data;
  }
  if (kernel->strategy == LB_GEN_DIRECT) {
    lb_gen_buf_printf(&name, "lb_gemm_direct_%s", kernel->format);
  } else {
    lb_gen_buf_puts(&name, kernel->strategy == LB_GEN_BITSERIAL ? "lb_gemm_bitserial_"
                                                                : "lb_gemm_bitserialxor_");
    operand_name(&name, 'a', kernel->a);
    lb_gen_buf_puts(&name, "_");
    operand_name(&name, 'w', kernel->w);
  }
  lb_gen_buf_printf(&name, "_%ux%u_k%u__%s", kernel->mr, kernel->nr, kernel->kblock, kernel->isa);
  return name.data;
}

static const char *template_file(const lb_gen_kernel *kernel)
{
  if (kernel->is_pack)
    return strcmp(kernel->code, "bitplanes") == 0 ? "pack-bitplanes.c.in" : "pack-direct.c.in";
  return kernel->strategy == LB_GEN_DIRECT ? "gemm-direct.c.in" : "gemm-bitserial.c.in";
}

void lb_gen_kernel_params(const lb_gen_kernel *kernel, lb_gen_env *env)
{
  lb_gen_env_set_string(env, "ISA", kernel->isa);
  if (kernel->is_pack) {
    lb_gen_env_set_number(env, "R", kernel->rows);
    lb_gen_env_set_number(env, "KBLOCK", kernel->kblock);
    lb_gen_env_set_string(env, "CODE", kernel->code);
    return;
  }
  char aenc[2] = {kernel->a.encoding, 0}, wenc[2] = {kernel->w.encoding, 0};
  lb_gen_env_set_number(env, "MR", kernel->mr);
  lb_gen_env_set_number(env, "NR", kernel->nr);
  lb_gen_env_set_string(env, "STRATEGY", lb_gen_strategy_name(kernel->strategy));
  lb_gen_env_set_number(env, "ABITS", kernel->a.bits);
  lb_gen_env_set_number(env, "WBITS", kernel->w.bits);
  lb_gen_env_set_string(env, "AENC", aenc);
  lb_gen_env_set_string(env, "WENC", wenc);
  lb_gen_env_set_number(env, "ASIGNED", kernel->a.encoding == 's');
  lb_gen_env_set_number(env, "WSIGNED", kernel->w.encoding == 's');
  lb_gen_env_set_string(env, "FORMAT", kernel->format ? kernel->format : "");
}

/* The largest |code| of an operand in bit planes: unsigned codes reach 2^bits - 1, signed
 * -2^(bits-1), bipolar codes are bits; planes given at run time reach 16-bit unsigned codes. */
static int64_t max_abs_code(lb_gen_operand operand)
{
  switch (operand.encoding) {
  case 'u': return ((int64_t)1 << operand.bits) - 1;
  case 's': return (int64_t)1 << (operand.bits - 1);
  case 'b': return 1;
  default: return ((int64_t)1 << 16) - 1;
  }
}

static int64_t metadata_number(const lb_gen_kernel *kernel, const lb_gen_env *env,
                               const char *variable)
{
  const lb_gen_value *value = lb_gen_env_get(env, variable);
  if (!value)
    lb_gen_fail_at(LB_GEN_EXIT_CHECK, lb_gen_template_path(kernel->tmpl), 1,
                   "the template's header $let lines must define %s", variable);
  if (value->is_string || value->number < 1)
    lb_gen_fail_at(LB_GEN_EXIT_CHECK, lb_gen_template_path(kernel->tmpl), 1,
                   "%s must be a positive number", variable);
  return value->number;
}

void lb_gen_kernel_resolve(lb_gen_kernel *kernel, const char *templates_dir,
                           const char *needed_by)
{
  char *path = lb_gen_format("%s/%s/%s", templates_dir, kernel->isa, template_file(kernel));
  kernel->tmpl = lb_gen_template_load(path);
  if (!kernel->tmpl)
    lb_gen_fail(LB_GEN_EXIT_INPUT, "template not found: %s%s%s%s", path,
                needed_by ? " (needed by " : "", needed_by ? needed_by : "", needed_by ? ")" : "");
  lb_gen_free(path);
  lb_gen_env env = {0};
  lb_gen_kernel_params(kernel, &env);
  lb_gen_template_metadata(kernel->tmpl, &env);
  if (!kernel->is_pack) {
    int64_t kblock = metadata_number(kernel, &env, "KBLOCK");
    if (kblock > MAX_KBLOCK || (kernel->strategy != LB_GEN_DIRECT && kblock % 64 != 0))
      lb_gen_fail_at(LB_GEN_EXIT_CHECK, lb_gen_template_path(kernel->tmpl), 1,
                     "KBLOCK %" PRId64 " is not a %s of at most %d", kblock,
                     kernel->strategy == LB_GEN_DIRECT ? "count" : "multiple of 64", MAX_KBLOCK);
    kernel->kblock = (unsigned)kblock;
    if (kernel->strategy == LB_GEN_DIRECT) {
      kernel->max_abs_product = metadata_number(kernel, &env, "MAX_ABS_PRODUCT");
      kernel->a_code = strcmp(kernel->format, "u8s8") == 0 ? "u8" : kernel->format;
      kernel->w_code = strcmp(kernel->format, "u8s8") == 0 ? "s8" : kernel->format;
    } else {
      kernel->max_abs_product = kernel->strategy == LB_GEN_BITSERIAL_XOR
                                    ? 1
                                    : max_abs_code(kernel->a) * max_abs_code(kernel->w);
      kernel->a_code = kernel->w_code = "bitplanes";
    }
  }
  kernel->name = kernel_name(kernel);
  if (!kernel->is_pack) {
    lb_gen_kernel pack = lb_gen_kernel_pack_of(kernel, 'a');
    kernel->pack_a = kernel_name(&pack);
    pack = lb_gen_kernel_pack_of(kernel, 'w');
    kernel->pack_w = kernel_name(&pack);
  }
}

lb_gen_kernel lb_gen_kernel_pack_of(const lb_gen_kernel *gemm, char which)
{
  lb_gen_kernel pack;
  memset(&pack, 0, sizeof pack);
  pack.is_pack = 1;
  pack.isa = gemm->isa;
  pack.code = which == 'a' ? gemm->a_code : gemm->w_code;
  pack.rows = which == 'a' ? gemm->mr : gemm->nr;
  pack.kblock = gemm->kblock;
  return pack;
}

const char *lb_gen_code_enum(const char *code)
{
  if (strcmp(code, "bitplanes") == 0)
    return "LB_CODE_BITPLANES";
  if (strcmp(code, "s8") == 0)
    return "LB_CODE_S8";
  if (strcmp(code, "u8") == 0)
    return "LB_CODE_U8";
  return "LB_CODE_S16";
}
