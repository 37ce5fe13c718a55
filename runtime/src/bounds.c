/* Worst-case magnitudes: the output type, and the int64 limit of the corrections.
 * All products are checked for overflow: size_t and uint64_t are the only wide types on armv7. */
#include "codes.h"

static uint64_t lb_operand_max_abs_value(lb_operand op) {
  return op.encoding == LB_UNSIGNED ? ((uint64_t)1 << op.bits) - 1 : (uint64_t)1 << (op.bits - 1);
}

/* The rule, from the values alone: int32 when K * max|a| * max|w| fits. The raw code sums a
 * kernel stores in an int32 C may be larger (signed 8-bit in uint8 codes reaches 255); they are
 * kept modulo 2^32 and corrected modulo 2^32 (correct.c), which is exact because C itself fits. */
lb_out_type lb_output_type(lb_operand a, lb_operand w, size_t k) {
  uint64_t bound;
  if (__builtin_mul_overflow(lb_operand_max_abs_value(a) * lb_operand_max_abs_value(w), (uint64_t)k,
                             &bound) ||
      bound > INT32_MAX) {
    return LB_OUT_INT64;
  }
  return LB_OUT_INT32;
}

lb_out_type lb_gemm_output_type(lb_operand a, lb_operand w, size_t k) {
  if (!lb_operand_is_valid(a) || !lb_operand_is_valid(w)) {
    return LB_OUT_INT64;
  }
  return lb_output_type(a, w, k);
}

/* With X = max|code| << shift and O = |offset| per operand, each term of
 * C = (T << (sha + shw)) + (rsA << sha) * offw + (csW << shw) * offa + K * offa * offw
 * is at most k times Xa*Xw, Xa*Ow, Oa*Xw and Oa*Ow, so every partial sum is at most
 * k * (Xa + Oa) * (Xw + Ow). The XOR form K - 2T is smaller. */
int lb_codes_fit_int64(const lb_operand_codes *a, const lb_operand_codes *w, size_t k) {
  const uint64_t a_reach = (lb_codes_max_abs(a) << a->shift) +
                           (uint64_t)(a->offset < 0 ? -(int64_t)a->offset : a->offset);
  const uint64_t w_reach = (lb_codes_max_abs(w) << w->shift) +
                           (uint64_t)(w->offset < 0 ? -(int64_t)w->offset : w->offset);
  uint64_t bound;
  return !__builtin_mul_overflow(a_reach * w_reach, (uint64_t)k, &bound) && bound <= INT64_MAX;
}
