/* How operand values become the codes a kernel format holds (docs/design.md, section 2), and the
 * bounds that keep every sum exact. */
#ifndef LOWBIT_CODES_H
#define LOWBIT_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#define LB_MAX_BITS 16u

/* v = (x << shift) + offset for every value v of the operand and its code x. */
typedef struct lb_operand_codes {
  int32_t offset;
  unsigned shift;
  unsigned planes;                   /* LB_CODE_BITPLANES: planes per row; else 0 */
  int64_t plane_weight[LB_MAX_BITS]; /* LB_CODE_BITPLANES: weight of each plane in a code */
  int64_t min_code, max_code;
} lb_operand_codes;

int lb_operand_is_valid(lb_operand op);

/* Bit planes a bit-serial kernel spends on the operand. */
unsigned lb_operand_planes(lb_operand op);

/* Fills *codes with the mapping of the valid operand `op` into `format` (enum lb_code_format); 0
 * if the format cannot hold the operand's values. */
int lb_operand_codes_for(int format, lb_operand op, lb_operand_codes *codes);

uint64_t lb_codes_max_abs(const lb_operand_codes *codes);

/* lb_gemm_output_type for valid operands. */
lb_out_type lb_output_type(lb_operand a, lb_operand w, size_t k);

/* Whether every value the runtime forms while correcting raw sums over k products of these codes
 * (section 2) fits in int64. */
int lb_codes_fit_int64(const lb_operand_codes *a, const lb_operand_codes *w, size_t k);

#endif
