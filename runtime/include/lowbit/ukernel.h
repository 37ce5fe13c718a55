/* The ABI between generated kernels and the runtime (docs/design.md, sections 3 to 5).
 * Generated kernels include this header and nothing else of the runtime. */
#ifndef LOWBIT_UKERNEL_H
#define LOWBIT_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Code formats of a packed panel. */
enum lb_code_format {
  LB_CODE_BITPLANES = 0, /* uint64_t words, [kb][plane][row][kblock/64] */
  LB_CODE_S8 = 1,        /* int8_t,  [kb][row][kblock] */
  LB_CODE_U8 = 2,        /* uint8_t, [kb][row][kblock] */
  LB_CODE_S16 = 3        /* int16_t, [kb][row][kblock] */
};

enum lb_gemm_strategy {
  LB_STRATEGY_BITSERIAL = 0,     /* popcount(a_i AND w_j), weighted per plane pair */
  LB_STRATEGY_BITSERIAL_XOR = 1, /* popcount(a XOR w), bipolar x bipolar */
  LB_STRATEGY_DIRECT = 2         /* integer SIMD multiply on 8- or 16-bit codes */
};

/* Per-call arguments of a GEMM micro-kernel. */
typedef struct lb_gemm_ukernel_args {
  size_t a_planes;           /* bit-serial: planes per A row in the panel */
  size_t w_planes;           /* bit-serial: planes per W row in the panel */
  const int64_t *plane_coef; /* bit-serial: [a_planes][w_planes] weight of each plane pair */
  int64_t
      max_abs_product; /* direct: bound on |xa * xw| over the data; sets the widening interval */
  int out64;           /* C holds int64_t (1) or int32_t (0) */
  int accumulate;      /* add the tile to C (1) or store it (0) */
} lb_gemm_ukernel_args;

/* Computes the tile C[0..mr) x [0..nr) (mr <= MR, nr <= NR) from one A panel and one W panel
 * over kblocks K blocks. c_stride is the distance between rows of C, in elements. */
typedef void (*lb_gemm_ukernel_fn)(size_t mr, size_t nr, size_t kblocks, const void *a_panel,
                                   const void *w_panel, void *c, size_t c_stride,
                                   const lb_gemm_ukernel_args *args);

/* How a pack function reads values and turns them into codes: x = (v - code_offset) >> code_shift.
 */
typedef struct lb_pack_args {
  unsigned bits;     /* source element is 1 byte when bits <= 8, else 2 bytes */
  int source_signed; /* source elements are signed (signed and bipolar encodings) */
  int32_t code_offset;
  unsigned code_shift;
  size_t planes; /* bit-serial only: planes to write */
} lb_pack_args;

/* Packs rows [0, rows) (rows <= R, the panel height) of a row-major matrix with row stride
 * src_stride (elements) and k columns into one panel of ceil(k / kblock) blocks; rows past `rows`
 * and K past k are zero codes. If code_sums is not NULL, code_sums[r] = sum of row r's codes. */
typedef void (*lb_pack_fn)(size_t rows, size_t k, const void *src, size_t src_stride, void *panel,
                           int64_t *code_sums, const lb_pack_args *args);

/* Packs rows [0, rows) (rows <= R) whose k = segments * segment_length values are runs of
 * segment_length elements, run s of row r at pointers[r * segments + s] (im2col through an
 * indirection buffer), into the panel that lb_pack_fn writes for the same rows stored contiguously.
 */
typedef void (*lb_pack_indirect_fn)(size_t rows, size_t segments, size_t segment_length,
                                    const void *const *pointers, void *panel, int64_t *code_sums,
                                    const lb_pack_args *args);

/* How a quantizing pack turns a float x into a value v of the operand (docs/design.md, section 5):
 * v = clamp(round(x / scale) + zero_point, min_value, max_value), round to nearest with ties to
 * even; NaN reads as 0.0. Bipolar operands (bipolar = 1): v = x >= 0 ? +1 : -1 (NaN: +1). */
typedef struct lb_quantize_args {
  float scale;
  int32_t zero_point;
  int32_t min_value, max_value;
  int bipolar;
} lb_quantize_args;

/* As lb_pack_indirect_fn, with float runs quantized on the way (one pass: no code buffer of the
 * whole row is made). */
typedef void (*lb_pack_quantize_fn)(size_t rows, size_t segments, size_t segment_length,
                                    const float *const *pointers, void *panel, int64_t *code_sums,
                                    const lb_pack_args *args, const lb_quantize_args *quantize);

/* How a quantizer rounds (docs/design.md, sections 14 and 15). */
typedef enum lb_rounding { LB_ROUND_NEAREST = 0, LB_ROUND_STOCHASTIC = 1 } lb_rounding;

/* The element type a fixed-point quantizer reads. */
enum lb_fixed_source {
  LB_FIXED_SOURCE_F32 = 0, /* float x: q = clamp(floor(x * 2^fl + u)) */
  LB_FIXED_SOURCE_I32 = 1, /* int32_t accumulator with s extra fraction bits */
  LB_FIXED_SOURCE_I64 = 2  /* int64_t accumulator with s extra fraction bits */
};

/* Per-call arguments of a fixed-point quantizer (docs/design.md, section 14). */
typedef struct lb_quantize_fixed_args {
  unsigned wl;          /* word length 2..16, at most the bits of the kernel's code */
  int shift;            /* float source: fl in -32..32; integer source: s in 0..62 */
  lb_rounding rounding; /* stochastic: bits from (seed, stream, element index) */
  uint64_t seed, stream;
} lb_quantize_fixed_args;

/* Quantizes source[0, count) (float, int32_t or int64_t as the kernel's source says) into
 * destination[0, count) (int8_t or int16_t as its code says). first_index is the position of
 * source[0] in the whole tensor: stochastic rounding draws element i's bits at first_index + i,
 * so any split of a tensor into calls gives the same codes. */
typedef void (*lb_quantize_fixed_fn)(size_t count, const void *source, uint64_t first_index,
                                     void *destination, const lb_quantize_fixed_args *args);

/* One entry of a target's fixed-point quantizer registry (generated from kernels.spec). */
typedef struct lb_quantize_fixed_kernel_info {
  const char *name;
  const char *isa; /* "generic", "avx2", "neon" */
  int source;      /* enum lb_fixed_source */
  int code;        /* enum lb_code_format: LB_CODE_S8 or LB_CODE_S16 */
  lb_quantize_fixed_fn fn;
} lb_quantize_fixed_kernel_info;

/* One entry of a target's kernel registry (generated from kernels.spec). */
typedef struct lb_gemm_kernel_info {
  const char *name;
  const char *isa;         /* "generic", "avx2", "neon" */
  int strategy;            /* enum lb_gemm_strategy */
  unsigned abits, wbits;   /* 0: any, planes given at run time */
  int aenc, wenc;          /* 'u', 's', 'b', or 0 for any */
  unsigned mr, nr;         /* register tile */
  unsigned kblock;         /* K elements (bits for bit-serial) per packed block */
  int a_format, w_format;  /* enum lb_code_format */
  int64_t max_abs_product; /* largest |xa * xw| the kernel sums exactly */
  lb_gemm_ukernel_fn ukernel;
  lb_pack_fn pack_a, pack_w;
  lb_pack_indirect_fn pack_a_indirect; /* A panels from runs through pointers */
  lb_pack_quantize_fn pack_a_quantize; /* A panels from float runs through pointers */
} lb_gemm_kernel_info;


/* What a minifloat kernel writes (docs/design.md, section 15). */
enum lb_minifloat_output {
  LB_MINIFLOAT_FLOAT = 0, /* the rounded values as float32 */
  LB_MINIFLOAT_U8 = 1,    /* codes sign | exponent | mantissa in uint8_t (e + m + 1 <= 8) */
  LB_MINIFLOAT_U16 = 2    /* the same codes in uint16_t */
};

/* A minifloat with exponent_bits e (2..8) and mantissa_bits m (0..10), bias 2^(e-1) - 1, and how
 * to round to it; stochastic rounding draws lb_random_bits(seed, stream, element index). */
typedef struct lb_minifloat_params {
  unsigned exponent_bits, mantissa_bits;
  lb_rounding rounding;
  uint64_t seed, stream;
} lb_minifloat_params;

/* Rounds x[0, count), elements first_index .. first_index + count - 1 of their tensor, into
 * y[0, count): floats or codes as the kernel's output says. */
typedef void (*lb_quantize_minifloat_fn)(size_t count, const float *x, uint64_t first_index,
                                         void *y, const lb_minifloat_params *params);

/* One entry of a target's minifloat registry (generated from kernels.spec). */
typedef struct lb_minifloat_kernel_info {
  const char *name;
  const char *isa;
  int output; /* enum lb_minifloat_output */
  lb_quantize_minifloat_fn ukernel;
} lb_minifloat_kernel_info;

/* The element type a block floating point quantizer reads (docs/design.md, section 16). */
enum lb_bfp_source {
  LB_BFP_SOURCE_F32 = 0, /* float */
  LB_BFP_SOURCE_I32 = 1, /* int32_t accumulator, value acc * 2^-s */
  LB_BFP_SOURCE_I64 = 2  /* int64_t accumulator, value acc * 2^-s */
};

/* Per-call arguments of a block floating point quantizer (docs/design.md, section 16). */
typedef struct lb_quantize_bfp_args {
  unsigned mantissa_bits; /* m: 1..15, codes in [-(2^m - 1), 2^m - 1], m + 1 <= the code's bits */
  size_t block;           /* n: values per shared exponent along a row, 1..k */
  unsigned shift;         /* integer sources: s, the accumulator's fraction bits (0..62) */
  lb_rounding rounding;   /* stochastic: bits from (seed, stream, element index) */
  uint64_t seed, stream;
} lb_quantize_bfp_args;

/* Quantizes rows [0, rows) of the row-major [rows][k] source (float, int32_t or int64_t as the
 * kernel's source says), rows first_row .. first_row + rows - 1 of their tensor, into codes
 * [rows][k] (int8_t or int16_t as its code says) and exponents [rows][ceil(k / block)]. Element
 * (r, c) draws its random bits at index (first_row + r) * k + c. */
typedef void (*lb_quantize_bfp_fn)(size_t rows, size_t k, const void *source, uint64_t first_row,
                                   void *codes, int16_t *exponents,
                                   const lb_quantize_bfp_args *args);

/* One entry of a target's block floating point registry (generated from kernels.spec). */
typedef struct lb_quantize_bfp_kernel_info {
  const char *name;
  const char *isa; /* "generic", "avx2", "neon" */
  int source;      /* enum lb_bfp_source */
  int code;        /* enum lb_code_format: LB_CODE_S8 or LB_CODE_S16 */
  lb_quantize_bfp_fn fn;
} lb_quantize_bfp_kernel_info;

#ifdef __cplusplus
}
#endif

#endif
