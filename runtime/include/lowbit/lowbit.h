/* liblowbit: low-bit integer GEMM on generated kernels.
 *
 * C[M x N] = A[M x K] * W[N x K]^T, A with abits and W with wbits, each 1..16, in an encoding
 * of their own. Source elements are 1 byte when bits <= 8 and 2 bytes otherwise, signed for the
 * signed and bipolar encodings (bipolar values are -1 and +1). C is int32_t when
 * lb_gemm_output_type() says so and int64_t otherwise: results are exact for every size. */
#ifndef LOWBIT_LOWBIT_H
#define LOWBIT_LOWBIT_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lb_status {
  LB_OK = 0,
  LB_INVALID_ARGUMENT = 1, /* bits out of 1..16, bipolar with bits != 1, a zero size, NULL data */
  LB_NO_KERNEL = 2,        /* no built kernel runs this configuration on this CPU */
  LB_OUT_OF_MEMORY = 3,
  /* An update refused its inputs (lowbit/update.h, lowbit/lns.h): a gradient or state NaN,
   * infinite, negative where it must not be, or beyond the range the update represents. Nothing
   * was written. */
  LB_BAD_GRADIENT = 4
} lb_status;

typedef enum lb_encoding { LB_UNSIGNED = 'u', LB_SIGNED = 's', LB_BIPOLAR = 'b' } lb_encoding;

typedef struct lb_operand {
  unsigned bits;
  lb_encoding encoding;
} lb_operand;

typedef enum lb_out_type { LB_OUT_INT32 = 32, LB_OUT_INT64 = 64 } lb_out_type;

typedef enum lb_strategy_choice {
  LB_AUTO = -1,                         /* the registry's choice for the bits */
  LB_BITSERIAL = LB_STRATEGY_BITSERIAL, /* AND or XOR bit-serial, as the encodings allow */
  LB_DIRECT = LB_STRATEGY_DIRECT
} lb_strategy_choice;

typedef struct lb_gemm_desc {
  lb_operand a, w;
  lb_strategy_choice strategy;
  const lb_gemm_kernel_info *kernel; /* NULL: chosen by the runtime; else this kernel is used
                                        and strategy is ignored */
  unsigned threads;                  /* 0: LOWBIT_THREADS if set, else one per online CPU (fewer
                                        for small products) */
} lb_gemm_desc;

/* The output type of an exact C for these operands and K: int32 when the worst-case |C| fits and
 * so does every raw code sum a kernel stores in C before the corrections, i.e. when
 * K x max|code a| x max|code w| <= INT32_MAX. max|code| is max|value|, except for signed operands
 * of up to 8 bits, whose uint8 codes (value + 2^(bits-1)) reach 2^bits - 1. */
lb_out_type lb_gemm_output_type(lb_operand a, lb_operand w, size_t k);

/* Computes C (row stride ldc elements of the output type). lda, ldw are row strides in elements. */
lb_status lb_gemm(const lb_gemm_desc *desc, size_t m, size_t n, size_t k, const void *a, size_t lda,
                  const void *w, size_t ldw, void *c, size_t ldc);

/* The kernels built into this library, in kernels.spec order. */
size_t lb_gemm_kernel_count(void);
const lb_gemm_kernel_info *lb_gemm_kernel_at(size_t index);
const lb_gemm_kernel_info *lb_gemm_kernel_by_name(const char *name);

/* Whether `kernel` can run on this CPU and compute these operands exactly (K is not limited). */
int lb_gemm_kernel_supports(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w);

/* The kernel lb_gemm would use for a dot product of k elements, or NULL: the schedule database's
 * choice for this CPU, the operands and k when it has one (docs/design.md, section 32), else the
 * ranking of the per-CPU data. */
const lb_gemm_kernel_info *lb_gemm_select(lb_operand a, lb_operand w, lb_strategy_choice strategy,
                                          size_t k);

/* CPU as detected at run time, e.g. "x86-64 avx2 (znver3)", "aarch64 neon (cortex-a53)".
 * Read once per process from the environment:
 * - LOWBIT_ISA=<isa> limits the ISAs to generic and <isa> (LOWBIT_ISA=generic: portable kernels
 *   only);
 * - LOWBIT_CPU=<uarch> takes the per-CPU data (cache blocks, kernel ranking, LB_AUTO crossover of
 *   targets/<target>.tuning and .crossover) of <uarch> instead of the detected micro-architecture,
 *   e.g. LOWBIT_CPU=cortex-a72; a name the data lack gets their default row. */
const char *lb_cpu_description(void);
int lb_cpu_has_isa(const char *isa);

/* The micro-architecture whose per-CPU data the runtime uses: LOWBIT_CPU if set, else the detected
 * one ("znver3", "cortex-a53", "unknown", ...). */
const char *lb_cpu_uarch(void);

const char *lb_status_string(lb_status status);

#ifdef __cplusplus
}
#endif

#endif
