/* The ops lowbit-gen knows. Adding an op is adding an entry here and its templates
 * (docs/design.md, section 10). */
#include "ops.h"

#include <string.h>

/* The narrowest code bits of a direct format's panels. */
static unsigned format_bits(const char *format) { return strcmp(format, "s16") == 0 ? 16 : 8; }

static const char *string_of(const lb_gen_env *vars, const char *name) {
  return lb_gen_env_get(vars, name)->string;
}

static int64_t number_of(const lb_gen_env *vars, const char *name) {
  return lb_gen_env_get(vars, name)->number;
}

static const char *gemm_check(const lb_gen_env *vars, const lb_gen_strings *given) {
  const char *strategy = string_of(vars, "STRATEGY"), *format = string_of(vars, "FORMAT");
  if (strcmp(strategy, "direct") == 0) {
    if (!*format) {
      return "a direct kernel needs a format: s8, u8s8 or s16";
    }
    /* Any operand of up to 8 bits fits an 8-bit code after the runtime's offset. */
    if (number_of(vars, "ABITS") > format_bits(format) ||
        number_of(vars, "WBITS") > format_bits(format)) {
      return "the direct format cannot hold codes of that many bits";
    }
    return NULL;
  }
  if (*format) {
    return "format applies to direct kernels only";
  }
  if (!lb_gen_strings_contains(given, "a") || !lb_gen_strings_contains(given, "w")) {
    return "a bit-serial kernel needs both operands, a and w";
  }
  if (strcmp(strategy, "bitserial-xor") == 0 &&
      (strcmp(string_of(vars, "AENC"), "b") != 0 || strcmp(string_of(vars, "WENC"), "b") != 0)) {
    return "bitserial-xor needs bipolar operands on both sides: a=1b w=1b";
  }
  return NULL;
}

/* K elements per block beyond this is a typo, not a layout. */
enum { MAX_KBLOCK = 4096 };

static const char *gemm_check_metadata(const lb_gen_env *vars) {
  int64_t kblock = number_of(vars, "KBLOCK");
  if (kblock > MAX_KBLOCK) {
    return "KBLOCK is at most 4096";
  }
  if (strcmp(string_of(vars, "STRATEGY"), "direct") != 0 && kblock % 64 != 0) {
    return "a bit-serial KBLOCK is a multiple of 64";
  }
  return NULL;
}

static const char *pack_check(const lb_gen_env *vars, const lb_gen_strings *given) {
  (void)given;
  if (strcmp(string_of(vars, "CODE"), "bitplanes") == 0 && number_of(vars, "KBLOCK") % 64 != 0) {
    return "a bit-plane kblock is a multiple of 64";
  }
  return NULL;
}

static const lb_gen_key gemm_keys[] = {
    {.name = "strategy",
     .parse = lb_gen_parse_choice,
     .variable = "STRATEGY",
     .choices = "bitserial bitserial-xor direct",
     .help = "bitserial (AND), bitserial-xor (bipolar x bipolar), direct (SIMD multiply)"},
    {.name = "tile", .parse = lb_gen_parse_tile, .help = "register tile MRxNR, e.g. 4x4"},
    {.name = "a",
     .parse = lb_gen_parse_operand,
     .variable = "A",
     .fallback = "any",
     .help = "A operand: any (planes at run time) or <bits><u|s|b>, e.g. 2u; direct: optional"},
    {.name = "w",
     .parse = lb_gen_parse_operand,
     .variable = "W",
     .fallback = "any",
     .help = "W operand, as a"},
    {.name = "format",
     .parse = lb_gen_parse_choice,
     .variable = "FORMAT",
     .fallback = "",
     .choices = "s8 u8s8 s16",
     .help = "direct: panel codes s8, u8s8 (A u8, W s8) or s16"},
    {.name = "kunroll",
     .parse = lb_gen_parse_count,
     .variable = "KUNROLL",
     .fallback = "1",
     .limit = 8,
     .suffix = "u",
     .help = "schedule: K blocks per pass of the inner loop"},
    {.name = NULL},
};

static const char *const gemm_defaults[] = {
    "STRATEGY_ENUM = STRATEGY == \"direct\" ? \"LB_STRATEGY_DIRECT\""
    " : STRATEGY == \"bitserial\" ? \"LB_STRATEGY_BITSERIAL\" : \"LB_STRATEGY_BITSERIAL_XOR\"",
    "A_CODE = STRATEGY != \"direct\" ? \"bitplanes\" : FORMAT == \"u8s8\" ? \"u8\" : FORMAT",
    "W_CODE = STRATEGY != \"direct\" ? \"bitplanes\" : FORMAT == \"u8s8\" ? \"s8\" : FORMAT",
    /* A direct template states the bound its narrowest lanes keep exact. */
    "MAX_ABS_PRODUCT = STRATEGY == \"direct\" ? 0"
    " : STRATEGY == \"bitserial-xor\" ? 1 : A_MAX_CODE * W_MAX_CODE",
    NULL,
};

static const char *const gemm_metadata[] = {"KBLOCK", "MAX_ABS_PRODUCT", NULL};
static const char *const gemm_codes[] = {"A_CODE", "W_CODE", NULL};

static const lb_gen_derived gemm_derives[] = {
    {"PACK_A", "pack code=${A_CODE} rows=${MR} kblock=${KBLOCK}"},
    {"PACK_W", "pack code=${W_CODE} rows=${NR} kblock=${KBLOCK}"},
    {"PACK_A_INDIRECT", "pack-indirect code=${A_CODE} rows=${MR} kblock=${KBLOCK}"},
    {"PACK_A_QUANTIZE", "pack-quantize code=${A_CODE} rows=${MR} kblock=${KBLOCK}"},
    {"PACK_A_TRANSPOSED", "pack-transposed code=${A_CODE} rows=${MR} kblock=${KBLOCK}"},
    {"PACK_W_TRANSPOSED", "pack-transposed code=${W_CODE} rows=${NR} kblock=${KBLOCK}"},
    {NULL, NULL},
};

static const lb_gen_key pack_keys[] = {
    {.name = "code",
     .parse = lb_gen_parse_choice,
     .variable = "CODE",
     .choices = "bitplanes s8 u8 s16",
     .help = "panel codes"},
    {.name = "rows",
     .parse = lb_gen_parse_count,
     .variable = "R",
     .limit = 64,
     .help = "rows of the panel"},
    {.name = "kblock",
     .parse = lb_gen_parse_count,
     .variable = "KBLOCK",
     .limit = MAX_KBLOCK,
     .help = "K elements (bits for bit planes) per block"},
    {.name = NULL},
};

static const char *const pack_codes[] = {"CODE", NULL};

/* pack-indirect, pack-quantize and pack-transposed hand K chunks to the ISA's own pack kernel. */
static const lb_gen_derived gather_derives[] = {
    {"PACK", "pack code=${CODE} rows=${R} kblock=${KBLOCK}"},
    {NULL, NULL},
};

static const lb_gen_key quantize_fixed_keys[] = {
    {.name = "source",
     .parse = lb_gen_parse_choice,
     .variable = "SOURCE",
     .choices = "f32 i32 i64",
     .help = "element read: f32 (float) or an i32 or i64 accumulator with s fraction bits"},
    {.name = "code",
     .parse = lb_gen_parse_choice,
     .variable = "CODE",
     .choices = "s8 s16",
     .help = "element written: s8 (wl up to 8) or s16 (wl up to 16)"},
    {.name = NULL},
};

static const char *const quantize_fixed_defaults[] = {
    "SOURCE_ENUM = SOURCE == \"f32\" ? \"LB_FIXED_SOURCE_F32\""
    " : SOURCE == \"i32\" ? \"LB_FIXED_SOURCE_I32\" : \"LB_FIXED_SOURCE_I64\"",
    "SOURCE_TYPE = SOURCE == \"f32\" ? \"float\" : SOURCE == \"i32\" ? \"int32_t\" : \"int64_t\"",
    NULL,
};

static const lb_gen_key minifloat_keys[] = {
    {.name = "output",
     .parse = lb_gen_parse_choice,
     .variable = "OUTPUT",
     .choices = "float u8 u16",
     .help = "float (the rounded float32 values) or codes: u8 (e + m + 1 <= 8) or u16"},
    {.name = "source",
     .parse = lb_gen_parse_choice,
     .variable = "SOURCE",
     .fallback = "f32",
     .choices = "f32 i32 i64",
     .help = "element read: f32 (float) or an i32 or i64 accumulator with s fraction bits"},
    {.name = NULL},
};

static const char *const minifloat_defaults[] = {
    "OUTPUT_ENUM = OUTPUT == \"float\" ? \"LB_MINIFLOAT_FLOAT\""
    " : OUTPUT == \"u8\" ? \"LB_MINIFLOAT_U8\" : \"LB_MINIFLOAT_U16\"",
    "OUTPUT_TYPE = OUTPUT == \"float\" ? \"uint32_t\" : OUTPUT == \"u8\" ? \"uint8_t\" : "
    "\"uint16_t\"",
    "SOURCE_ENUM = SOURCE == \"f32\" ? \"LB_FIXED_SOURCE_F32\""
    " : SOURCE == \"i32\" ? \"LB_FIXED_SOURCE_I32\" : \"LB_FIXED_SOURCE_I64\"",
    "SOURCE_TYPE = SOURCE == \"f32\" ? \"float\" : SOURCE == \"i32\" ? \"int32_t\" : \"int64_t\"",
    NULL,
};

/* SGD update (docs/design.md, section 19): a float master keeps a float momentum, and only it. */
static const char *update_sgd_check(const lb_gen_env *vars, const lb_gen_strings *given) {
  (void)given;
  const int float_master = strcmp(string_of(vars, "MASTER"), "f32") == 0;
  if (float_master != (strcmp(string_of(vars, "MOMENTUM"), "f32") == 0)) {
    return "momentum=f32 goes with master=f32, and master=f32 with momentum=f32";
  }
  return NULL;
}

static const lb_gen_key update_sgd_keys[] = {
    {.name = "gradient",
     .parse = lb_gen_parse_choice,
     .variable = "GRADIENT",
     .choices = "f32 i32 i64",
     .help = "gradient read: f32, or the exact i32 or i64 sums of a backward product"},
    {.name = "weight",
     .parse = lb_gen_parse_choice,
     .variable = "WEIGHT",
     .choices = "s8 s16",
     .help = "weight codes: s8 (wl up to 8) or s16 (wl up to 16)"},
    {.name = "momentum",
     .parse = lb_gen_parse_choice,
     .variable = "MOMENTUM",
     .choices = "s16 s32 f32",
     .help = "momentum buffer: s16 or s32 fixed point, f32 with a float master"},
    {.name = "master",
     .parse = lb_gen_parse_choice,
     .variable = "MASTER",
     .fallback = "none",
     .choices = "none s16 f32",
     .help = "master copy: none (the codes are updated), s16 fixed point or f32"},
    {.name = NULL},
};

static const char *const update_sgd_defaults[] = {
    "GRADIENT_ENUM = GRADIENT == \"f32\" ? \"LB_FIXED_SOURCE_F32\""
    " : GRADIENT == \"i32\" ? \"LB_FIXED_SOURCE_I32\" : \"LB_FIXED_SOURCE_I64\"",
    "GRADIENT_TYPE = GRADIENT == \"f32\" ? \"float\""
    " : GRADIENT == \"i32\" ? \"int32_t\" : \"int64_t\"",
    "MOMENTUM_TYPE = MOMENTUM == \"f32\" ? \"float\""
    " : MOMENTUM == \"s16\" ? \"int16_t\" : \"int32_t\"",
    "MOMENTUM_BYTES = MOMENTUM == \"s16\" ? 2 : 4",
    "MASTER_ENUM = MASTER == \"none\" ? \"LB_SGD_MASTER_NONE\""
    " : MASTER == \"s16\" ? \"LB_SGD_MASTER_S16\" : \"LB_SGD_MASTER_F32\"",
    NULL,
};

static const char *const update_sgd_codes[] = {"WEIGHT", NULL};
static const lb_gen_key quantize_lns_keys[] = {
    {.name = "source",
     .parse = lb_gen_parse_choice,
     .variable = "SOURCE",
     .choices = "f32 i32 i64",
     .help = "element read: f32 (float) or an i32 or i64 accumulator with s fraction bits"},
    {.name = "code",
     .parse = lb_gen_parse_choice,
     .variable = "CODE",
     .choices = "u8 u16",
     .help = "code written: u8 (bits up to 8) or u16 (bits up to 16)"},
    {.name = NULL},
};

static const char *const quantize_lns_defaults[] = {
    "SOURCE_ENUM = SOURCE == \"f32\" ? \"LB_LNS_SOURCE_F32\""
    " : SOURCE == \"i32\" ? \"LB_LNS_SOURCE_I32\" : \"LB_LNS_SOURCE_I64\"",
    "SOURCE_TYPE = SOURCE == \"f32\" ? \"float\" : SOURCE == \"i32\" ? \"int32_t\" : \"int64_t\"",
    "CODE_ENUM = CODE == \"u8\" ? \"LB_LNS_CODE_U8\" : \"LB_LNS_CODE_U16\"",
    "CODE_TYPE = CODE == \"u8\" ? \"uint8_t\" : \"uint16_t\"",
    "CODE_BITS = CODE == \"u8\" ? 8 : 16",
    NULL,
};

static const lb_gen_key update_lns_madam_keys[] = {
    {.name = "code",
     .parse = lb_gen_parse_choice,
     .variable = "CODE",
     .choices = "u8 u16",
     .help = "LNS weight codes: u8 (bits up to 8) or u16 (bits up to 16)"},
    {.name = NULL},
};

static const char *const update_lns_madam_defaults[] = {
    "CODE_ENUM = CODE == \"u8\" ? \"LB_LNS_CODE_U8\" : \"LB_LNS_CODE_U16\"",
    "CODE_TYPE = CODE == \"u8\" ? \"uint8_t\" : \"uint16_t\"",
    "CODE_BITS = CODE == \"u8\" ? 8 : 16",
    NULL,
};

static const lb_gen_key quantize_bfp_keys[] = {
    {.name = "source",
     .parse = lb_gen_parse_choice,
     .variable = "SOURCE",
     .choices = "f32 i32 i64",
     .help = "element read: f32 (float) or an i32 or i64 accumulator with s fraction bits"},
    {.name = "code",
     .parse = lb_gen_parse_choice,
     .variable = "CODE",
     .choices = "s8 s16",
     .help = "mantissa written: s8 (m up to 7) or s16 (m up to 15)"},
    {.name = NULL},
};

static const char *const quantize_bfp_defaults[] = {
    "SOURCE_ENUM = SOURCE == \"f32\" ? \"LB_BFP_SOURCE_F32\""
    " : SOURCE == \"i32\" ? \"LB_BFP_SOURCE_I32\" : \"LB_BFP_SOURCE_I64\"",
    "SOURCE_TYPE = SOURCE == \"f32\" ? \"float\" : SOURCE == \"i32\" ? \"int32_t\" : \"int64_t\"",
    NULL,
};

static const lb_gen_op ops[] = {
    {
        .name = "gemm",
        .summary = "a GEMM micro-kernel; derives the pack kernels of its panels",
        .keys = gemm_keys,
        .check = gemm_check,
        .defaults = gemm_defaults,
        .source_template =
            "${ISA}/gemm-${STRATEGY == \"direct\" ? \"direct\" : \"bitserial\"}.c.in",
        .header_template = "common/gemm.h.in",
        .required_metadata = gemm_metadata,
        .check_metadata = gemm_check_metadata,
        .code_variables = gemm_codes,
        .name_format = "lb_gemm_${STRATEGY == \"direct\" ? \"direct_\" + FORMAT"
                       " : (STRATEGY == \"bitserial\" ? \"bitserial_\" : \"bitserialxor_\")"
                       " + A_NAME + \"_\" + W_NAME}_${MR}x${NR}_k${KBLOCK}${SCHEDULE}__${ISA}",
        .derives = gemm_derives,
        .registry = "lb_registry_gemm",
        .registry_type = "lb_gemm_kernel_info",
        .registry_row =
            "{.name = \"${NAME}\", .isa = \"${ISA}\", .strategy = ${STRATEGY_ENUM}, "
            ".abits = ${ABITS}, .wbits = ${WBITS}, "
            ".aenc = ${AENC == \"\" ? \"0\" : \"'\" + AENC + \"'\"}, "
            ".wenc = ${WENC == \"\" ? \"0\" : \"'\" + WENC + \"'\"}, .mr = ${MR}, .nr = ${NR}, "
            ".kblock = ${KBLOCK}, .kunroll = ${KUNROLL}, .a_format = ${A_CODE_ENUM}, .w_format = ${W_CODE_ENUM}, "
            ".max_abs_product = INT64_C(${MAX_ABS_PRODUCT}), .ukernel = ${NAME}, "
            ".pack_a = ${PACK_A}, .pack_w = ${PACK_W}, .pack_a_indirect = ${PACK_A_INDIRECT}, "
            ".pack_a_quantize = ${PACK_A_QUANTIZE}, .pack_a_transposed = ${PACK_A_TRANSPOSED}, "
            ".pack_w_transposed = ${PACK_W_TRANSPOSED}},",
    },
    {
        .name = "pack",
        .summary = "packs rows of a row-major matrix into panels",
        .keys = pack_keys,
        .check = pack_check,
        .source_template = "${ISA}/pack-${CODE == \"bitplanes\" ? \"bitplanes\" : \"direct\"}.c.in",
        .header_template = "common/pack.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_pack_${CODE}_${R}r_k${KBLOCK}${SCHEDULE}__${ISA}",
    },
    {
        .name = "pack-indirect",
        .summary = "packs rows given as segments through pointers (im2col), through its pack",
        .keys = pack_keys,
        .check = pack_check,
        .source_template = "common/pack-indirect.c.in",
        .header_template = "common/pack-indirect.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_pack_indirect_${CODE}_${R}r_k${KBLOCK}${SCHEDULE}__${ISA}",
        .derives = gather_derives,
    },
    {
        .name = "pack-quantize",
        .summary = "quantizes float runs through pointers and packs them, in one pass",
        .keys = pack_keys,
        .check = pack_check,
        .source_template = "common/pack-quantize.c.in",
        .header_template = "common/pack-quantize.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_pack_quantize_${CODE}_${R}r_k${KBLOCK}${SCHEDULE}__${ISA}",
        .derives = gather_derives,
    },
    {
        .name = "pack-transposed",
        .summary = "packs panel rows that are columns of a K-major source (backward products)",
        .keys = pack_keys,
        .check = pack_check,
        .source_template = "common/pack-transposed.c.in",
        .header_template = "common/pack-transposed.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_pack_transposed_${CODE}_${R}r_k${KBLOCK}${SCHEDULE}__${ISA}",
        .derives = gather_derives,
    },
    {
        .name = "quantize-fixed",
        .summary = "quantizes floats or wide accumulators to fixed point, nearest or stochastic",
        .keys = quantize_fixed_keys,
        .defaults = quantize_fixed_defaults,
        .source_template = "common/quantize-fixed.c.in",
        .header_template = "common/quantize-fixed.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_quantize_fixed_${SOURCE}_${CODE}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_quantize_fixed",
        .registry_type = "lb_quantize_fixed_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .source = ${SOURCE_ENUM}, "
                        ".code = ${CODE_ENUM}, .fn = ${NAME}},",
    },
    {
        .name = "quantize-minifloat",
        .summary = "rounds float32 or an integer accumulator to a minifloat: floats or codes",
        .keys = minifloat_keys,
        .defaults = minifloat_defaults,
        .source_template = "common/quantize-minifloat.c.in",
        .header_template = "common/quantize-minifloat.h.in",
        .name_format = "lb_quantize_minifloat_${SOURCE == \"f32\" ? \"\" : SOURCE + \"_\"}"
                       "${OUTPUT}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_quantize_minifloat",
        .registry_type = "lb_minifloat_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .output = ${OUTPUT_ENUM}, "
                        ".ukernel = ${NAME}, .source = ${SOURCE_ENUM}},",
    },
    {
        .name = "update-sgd",
        .summary = "SGD with momentum and weight decay on fixed-point weights (or a master copy)",
        .keys = update_sgd_keys,
        .check = update_sgd_check,
        .defaults = update_sgd_defaults,
        .source_template = "common/update-sgd.c.in",
        .header_template = "common/update-sgd.h.in",
        .code_variables = update_sgd_codes,
        .name_format = "lb_update_sgd_g${GRADIENT}_w${WEIGHT}_v${MOMENTUM}"
                       "${MASTER == \"none\" ? \"\" : \"_m\" + MASTER}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_update_sgd",
        .registry_type = "lb_update_sgd_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .gradient = ${GRADIENT_ENUM}, "
                        ".weight = ${WEIGHT_ENUM}, .momentum = ${MOMENTUM_BYTES}, "
                        ".master = ${MASTER_ENUM}, .update = ${NAME}, .check = ${NAME}_check},",
    },
    {
        .name = "quantize-lns",
        .summary = "quantizes floats or wide accumulators to logarithmic codes (base 2^(1/gamma))",
        .keys = quantize_lns_keys,
        .defaults = quantize_lns_defaults,
        .source_template = "common/quantize-lns.c.in",
        .header_template = "common/quantize-lns.h.in",
        .name_format = "lb_quantize_lns_${SOURCE}_${CODE}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_quantize_lns",
        .registry_type = "lb_lns_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .source = ${SOURCE_ENUM}, "
                        ".code = ${CODE_ENUM}, .fn = ${NAME}},",
    },
    {
        .name = "update-lns-madam",
        .summary = "the LNS-Madam multiplicative update on logarithmic weight codes",
        .keys = update_lns_madam_keys,
        .defaults = update_lns_madam_defaults,
        .source_template = "common/update-lns-madam.c.in",
        .header_template = "common/update-lns-madam.h.in",
        .name_format = "lb_update_lns_madam_${CODE}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_update_lns_madam",
        .registry_type = "lb_lns_madam_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .code = ${CODE_ENUM}, "
                        ".fn = ${NAME}, .check = ${NAME}_check},",
    },
    {
        .name = "quantize-bfp",
        .summary = "quantizes floats or accumulators to block floating point: codes + exponents",
        .keys = quantize_bfp_keys,
        .defaults = quantize_bfp_defaults,
        .source_template = "common/quantize-bfp.c.in",
        .header_template = "common/quantize-bfp.h.in",
        .code_variables = pack_codes,
        .name_format = "lb_quantize_bfp_${SOURCE}_${CODE}${SCHEDULE}__${ISA}",
        .registry = "lb_registry_quantize_bfp",
        .registry_type = "lb_quantize_bfp_kernel_info",
        .registry_row = "{.name = \"${NAME}\", .isa = \"${ISA}\", .source = ${SOURCE_ENUM}, "
                        ".code = ${CODE_ENUM}, .fn = ${NAME}},",
    },
};

const lb_gen_op *lb_gen_ops(size_t *count) {
  *count = sizeof ops / sizeof ops[0];
  return ops;
}

const lb_gen_op *lb_gen_op_find(const char *name) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    if (strcmp(ops[i].name, name) == 0) {
      return &ops[i];
    }
  }
  return NULL;
}

const lb_gen_key *lb_gen_op_key(const lb_gen_op *op, const char *name) {
  for (const lb_gen_key *key = op->keys; key->name; key++) {
    if (strcmp(key->name, name) == 0) {
      return key;
    }
  }
  return NULL;
}

char *lb_gen_op_names(void) {
  lb_gen_buf names = {0};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    lb_gen_buf_printf(&names, "%s%s", i ? ", " : "", ops[i].name);
  }
  return names.data;
}
