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
 * even; NaN reads as 0.0. Bipolar operands (bipolar = 1): v = x >= 0 ? +1 : -1 (NaN: +1).
 * rounding = LB_ROUND_STOCHASTIC (not bipolar; docs/design.md, section 14): t = x / scale in
 * double, clamped to [min_value - zero_point, max_value - zero_point] (NaN: 0), then
 * v = floor(t + u) + zero_point, u = (lb_random_bits(seed, stream, i) >> 32) * 2^-32 with i the
 * element's index (first_row + r) * k + column in the logical row-major tensor of k columns:
 * with scale 2^-fl and zero_point 0 the values of lb_quantize_fixed_f32 <wl, fl>. */
typedef struct lb_quantize_args {
  float scale;
  int32_t zero_point;
  int32_t min_value, max_value;
  int bipolar;
  int rounding; /* enum lb_rounding; 0 (nearest) for the operators' LB_INPUT_FLOAT */
  uint64_t seed, stream;
  uint64_t first_row; /* the logical row of the panel's row 0 */
} lb_quantize_args;

/* As lb_pack_indirect_fn, with float runs quantized on the way (one pass: no code buffer of the
 * whole row is made). */
typedef void (*lb_pack_quantize_fn)(size_t rows, size_t segments, size_t segment_length,
                                    const float *const *pointers, void *panel, int64_t *code_sums,
                                    const lb_pack_args *args, const lb_quantize_args *quantize);

/* Packs rows [0, rows) (rows <= R) of a K-major source into the panel that lb_pack_fn writes for
 * the same rows stored row-major: the value of row r at K index j is element first_row + r of
 * the run at columns[j] (a column of the row-major matrix, e.g. one row of dY for dY^T, or one
 * input pixel's channels for an im2col^T), for j in [0, k). Used by the backward products
 * (lowbit/backward.h), so that no transposed copy is made. */
typedef void (*lb_pack_transposed_fn)(size_t rows, size_t k, const void *const *columns,
                                      size_t first_row, void *panel, int64_t *code_sums,
                                      const lb_pack_args *args);

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
  unsigned kunroll;        /* K blocks per step of the inner loop */
  int a_format, w_format;  /* enum lb_code_format */
  int64_t max_abs_product; /* largest |xa * xw| the kernel sums exactly */
  lb_gemm_ukernel_fn ukernel;
  lb_pack_fn pack_a, pack_w;
  lb_pack_indirect_fn pack_a_indirect; /* A panels from runs through pointers */
  lb_pack_quantize_fn pack_a_quantize; /* A panels from float runs through pointers */
  /* A and W panels from a K-major source (the backward products, lowbit/backward.h). */
  lb_pack_transposed_fn pack_a_transposed;
  lb_pack_transposed_fn pack_w_transposed;
} lb_gemm_kernel_info;


/* What a minifloat kernel writes (docs/design.md, section 15). */
enum lb_minifloat_output {
  LB_MINIFLOAT_FLOAT = 0, /* the rounded values as float32 */
  LB_MINIFLOAT_U8 = 1,    /* codes sign | exponent | mantissa in uint8_t (e + m + 1 <= 8) */
  LB_MINIFLOAT_U16 = 2    /* the same codes in uint16_t */
};

/* A minifloat with exponent_bits e (2..8) and mantissa_bits m (0..10), bias 2^(e-1) - 1, and how
 * to round to it; stochastic rounding draws lb_random_bits(seed, stream, element index). shift:
 * for an integer source, its s extra fraction bits (0..62; the value is acc * 2^-s). */
typedef struct lb_minifloat_params {
  unsigned exponent_bits, mantissa_bits;
  lb_rounding rounding;
  uint64_t seed, stream;
  unsigned shift;
} lb_minifloat_params;

/* Rounds source[0, count) (float, int32_t or int64_t as the kernel's source says), elements
 * first_index .. first_index + count - 1 of their tensor, into y[0, count): floats or codes as
 * the kernel's output says. */
typedef void (*lb_quantize_minifloat_fn)(size_t count, const void *source, uint64_t first_index,
                                         void *y, const lb_minifloat_params *params);

/* One entry of a target's minifloat registry (generated from kernels.spec). */
typedef struct lb_minifloat_kernel_info {
  const char *name;
  const char *isa;
  int output; /* enum lb_minifloat_output */
  lb_quantize_minifloat_fn ukernel;
  int source; /* enum lb_fixed_source: float, or an int32 or int64 accumulator */
} lb_minifloat_kernel_info;

/* Where an SGD update keeps the weights it updates (docs/design.md, section 19). */
enum lb_sgd_master {
  LB_SGD_MASTER_NONE = 0, /* the fixed-point codes themselves, updated in place */
  LB_SGD_MASTER_S16 = 1,  /* a 16-bit fixed-point master updated in place; codes rounded from it */
  LB_SGD_MASTER_F32 = 2   /* a float master (and float momentum) updated; codes rounded from it */
};

/* Per-call arguments of an SGD update kernel, derived by lb_sgd_update from its lb_sgd_desc and
 * checked there (docs/design.md, section 19). With F the common grid of step 1 and F2 that of
 * step 2, every product and shift below stays under 2^61 in magnitude. */
typedef struct lb_sgd_args {
  unsigned w_wl, v_wl, q_wl; /* word lengths: the updated weights (codes or s16 master), the
                                momentum, the codes rounded from a master */
  int64_t mu, lambda, eta;   /* multiplier mantissas: momentum, weight decay, learning rate */
  unsigned mu_left, lambda_left, g_left; /* step 1: shifts onto 2^-F */
  unsigned v_right;                      /* step 1: F - fv, the rounding to the momentum's grid */
  unsigned w_right, eta_left;            /* step 2: shifts onto 2^-F2; w_right = F2 - fw is
                                            also the rounding back to the weights' grid */
  unsigned q_right;                      /* s16 master: fm - fq */
  int64_t g_max;  /* integer gradients: |g| <= g_max on its own grid (a larger one clamps) */
  double g_scale; /* float gradients: 2^(F - gs), onto 2^-F; float master: 2^-gs */
  double q_scale; /* float master: 2^fq, onto the codes' grid */
  float mu_f, lambda_f, eta_f; /* float master: the multipliers as floats */
  lb_rounding rounding;
  uint64_t seed, stream_v, stream_w, stream_q;
} lb_sgd_args;

/* Updates elements first_index .. first_index + count - 1 of one tensor: gradient grad (float,
 * int32_t or int64_t as the kernel's gradient says), momentum and weights in place (master NONE:
 * weights are the codes; S16: master is int16_t and weights the codes it writes; F32: master and
 * momentum are float, weights the codes it writes). Saturating, never overflowing, for any input.
 */
typedef void (*lb_update_sgd_fn)(size_t count, const void *grad, uint64_t first_index,
                                 void *weights, void *momentum, void *master,
                                 const lb_sgd_args *args);

/* Counts the gradients in grad[0, count) that the update refuses: NaN, infinities, and values
 * beyond the range the update represents (args->g_max or the float bound). */
typedef size_t (*lb_update_sgd_check_fn)(size_t count, const void *grad, const lb_sgd_args *args);

/* One entry of a target's SGD update registry (generated from kernels.spec). */
typedef struct lb_update_sgd_kernel_info {
  const char *name;
  const char *isa;
  int gradient; /* enum lb_fixed_source */
  int weight;   /* enum lb_code_format of the codes: LB_CODE_S8 or LB_CODE_S16 */
  int momentum; /* bytes of a momentum element: 2 or 4 (int16_t, int32_t; float with F32) */
  int master;   /* enum lb_sgd_master */
  lb_update_sgd_fn update;
  lb_update_sgd_check_fn check;
} lb_update_sgd_kernel_info;
/* Logarithmic numbers (docs/design.md, section 17). The tables of one gamma (base 2^(1/gamma)),
 * built exactly by the runtime (lowbit/lns.h) and read by the kernels: a float32 significand is
 * an integer in [2^23, 2^24), a mantissa its low 23 bits. */
enum { LB_LNS_MAX_GAMMA = 64, LB_LNS_BUCKETS = 128 };
typedef struct lb_lns_tables {
  unsigned gamma;
  /* level[j]: the significand of 2^(j/gamma) rounded to nearest (j = 0..gamma; 2^23 and 2^24 at
   * the ends): the float32 levels are level[j] * 2^(E - 23). */
  uint32_t level[LB_LNS_MAX_GAMMA + 1];
  /* midpoint[j]: the smallest significand above 2^((2j + 1) / (2 gamma)), the geometric mean of
   * levels j and j + 1 (j = 0..gamma-1); never equal to it, which is irrational. */
  uint32_t midpoint[LB_LNS_MAX_GAMMA];
  /* level_pair[j] = level[j] | level[j + 1] << 32 (j = 0..gamma-1): the levels around a value in
   * one read, for vector gathers of 64-bit elements, which load half as often as two gathers. */
  uint64_t level_pair[LB_LNS_MAX_GAMMA];
  /* Per bucket b of mantissas [b * 2^16, (b + 1) * 2^16), which holds at most one midpoint and
   * one level since they are more than 2^16 apart: count << 24 | mantissa, the count of midpoints
   * (levels 1..gamma-1) below the bucket and the mantissa of the one inside it, else 2^23; one
   * 32-bit word, so that a vector loop gathers a bucket once. */
  uint32_t nearest_bucket[LB_LNS_BUCKETS], floor_bucket[LB_LNS_BUCKETS];
} lb_lns_tables;

/* The element type a logarithmic quantizer reads. */
enum lb_lns_source {
  LB_LNS_SOURCE_F32 = 0, /* float */
  LB_LNS_SOURCE_I32 = 1, /* int32_t accumulator, value acc * 2^-shift */
  LB_LNS_SOURCE_I64 = 2  /* int64_t accumulator, value acc * 2^-shift */
};

/* Code element of a logarithmic kernel: sign << (bits - 1) | f. */
enum lb_lns_code { LB_LNS_CODE_U8 = 0, LB_LNS_CODE_U16 = 1 };

/* Per-call arguments of a logarithmic quantizer: f = 0 is zero, f in 1..2^(bits-1)-1 stands for
 * 2^((f + offset) / gamma), with every level a normal float32. */
typedef struct lb_quantize_lns_args {
  unsigned bits; /* 2..16, at most the bits of the kernel's code */
  int32_t offset;
  unsigned shift; /* accumulator sources: s in 0..62 */
  lb_rounding rounding;
  uint64_t seed, stream;
  const lb_lns_tables *tables; /* of the format's gamma */
} lb_quantize_lns_args;

/* Quantizes source[0, count), elements first_index onwards of their tensor, into codes. */
typedef void (*lb_quantize_lns_fn)(size_t count, const void *source, uint64_t first_index,
                                   void *codes, const lb_quantize_lns_args *args);

typedef struct lb_lns_kernel_info {
  const char *name;
  const char *isa;
  int source; /* enum lb_lns_source */
  int code;   /* enum lb_lns_code */
  lb_quantize_lns_fn fn;
} lb_lns_kernel_info;

/* Per-call arguments of the LNS-Madam update on codes of `bits` bits (docs/design.md, section 17).
 */
typedef struct lb_lns_madam_args {
  unsigned bits, gamma;
  float eta;  /* log2 step per unit of clamped normalized gradient; eta * gamma <= 65536 */
  float beta; /* v <- beta * v + (1 - beta) * g^2, beta in [0, 1] */
  lb_rounding rounding;
  uint64_t seed, stream;
} lb_lns_madam_args;

/* Updates codes[0, count) and the state v[0, count) with the gradients g[0, count), every one of
 * which the check passed. */
typedef void (*lb_update_lns_madam_fn)(size_t count, void *codes, float *v, const float *g,
                                       uint64_t first_index, const lb_lns_madam_args *args);

/* Counts the elements the update refuses: g or v NaN or infinite, or v below zero (-0 is zero). */
typedef size_t (*lb_update_lns_madam_check_fn)(size_t count, const float *v, const float *g);

typedef struct lb_lns_madam_kernel_info {
  const char *name;
  const char *isa;
  int code; /* enum lb_lns_code */
  lb_update_lns_madam_fn fn;
  lb_update_lns_madam_check_fn check;
} lb_lns_madam_kernel_info;
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
