/* Which kernel computes a configuration: what a kernel accepts, and the ranking among those that
 * accept it. */
#include <string.h>

#include "codes.h"
#include "lowbit/lowbit.h"
#include "registry.h"

/* LB_AUTO computes with a bit-serial kernel while abits x wbits (plane pairs, one AND and popcount
 * pass each) is at most the crossover of the bit-serial kernel's ISA, and with a direct multiply
 * beyond. Measured, not assumed:
 * - avx2: 3. lowbit-bench-gemm on Zen 3 (M=3136 N=64 K=576, one thread), the int16 kernel's ratio
 *   over three runs: A2W1 1.29x to 1.70x, A3W1 and A1W3 0.98x to 1.19x, A2W2 0.81x to 0.92x.
 * - neon: 8. llvm-mca's Cortex-A53 model of the inner loops: 2-bit x 2-bit (4 pairs) runs 2.6x the
 *   int16 8x8 kernel per MAC, so break-even lies near 10 pairs.
 * - generic: 4, unmeasured. */
static unsigned lb_bitserial_crossover(const char *isa) {
  if (strcmp(isa, "avx2") == 0) {
    return 3;
  }
  if (strcmp(isa, "neon") == 0) {
    return 8;
  }
  return 4;
}

static int lb_strategy_uses_bitplanes(int strategy) {
  return strategy == LB_STRATEGY_BITSERIAL || strategy == LB_STRATEGY_BITSERIAL_XOR;
}

/* A registry entry the driver can call at all: guards against a malformed table and against a
 * caller's own lb_gemm_kernel_info in lb_gemm_desc.kernel. */
static int lb_kernel_is_well_formed(const lb_gemm_kernel_info *kernel) {
  if (kernel->ukernel == NULL || kernel->pack_a == NULL || kernel->pack_w == NULL ||
      kernel->mr == 0 || kernel->nr == 0 || kernel->kblock == 0 || kernel->isa == NULL) {
    return 0;
  }
  if (lb_strategy_uses_bitplanes(kernel->strategy)) {
    return kernel->a_format == LB_CODE_BITPLANES && kernel->w_format == LB_CODE_BITPLANES &&
           kernel->kblock % 64 == 0;
  }
  return kernel->strategy == LB_STRATEGY_DIRECT && kernel->a_format != LB_CODE_BITPLANES &&
         kernel->w_format != LB_CODE_BITPLANES;
}

static int lb_operand_matches(unsigned kernel_bits, int kernel_encoding, lb_operand op) {
  return (kernel_bits == 0 || kernel_bits == op.bits) &&
         (kernel_encoding == 0 || kernel_encoding == (int)op.encoding);
}

int lb_gemm_kernel_supports(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w) {
  if (kernel == NULL || !lb_operand_is_valid(a) || !lb_operand_is_valid(w) ||
      !lb_kernel_is_well_formed(kernel) || !lb_cpu_has_isa(kernel->isa) ||
      !lb_operand_matches(kernel->abits, kernel->aenc, a) ||
      !lb_operand_matches(kernel->wbits, kernel->wenc, w)) {
    return 0;
  }
  if (kernel->strategy == LB_STRATEGY_BITSERIAL_XOR &&
      (a.encoding != LB_BIPOLAR || w.encoding != LB_BIPOLAR)) {
    return 0;
  }
  lb_operand_codes a_codes, w_codes;
  if (!lb_operand_codes_for(kernel->a_format, a, &a_codes) ||
      !lb_operand_codes_for(kernel->w_format, w, &w_codes)) {
    return 0;
  }
  const uint64_t max_abs_product = lb_codes_max_abs(&a_codes) * lb_codes_max_abs(&w_codes);
  return kernel->max_abs_product >= 0 && max_abs_product <= (uint64_t)kernel->max_abs_product;
}

/* Higher is faster, in this order of importance: a SIMD ISA, XOR for bipolar pairs (one pass and
 * no correction terms), constant plane weights, 8-bit direct products (twice the int16 rate). */
static unsigned lb_kernel_rank(const lb_gemm_kernel_info *kernel) {
  const int simd = strcmp(kernel->isa, "generic") != 0;
  const int xor_pass = kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
  const int specialized = lb_strategy_uses_bitplanes(kernel->strategy) && kernel->abits != 0 &&
                          kernel->wbits != 0;
  const int narrow = kernel->strategy == LB_STRATEGY_DIRECT && kernel->a_format != LB_CODE_S16 &&
                     kernel->w_format != LB_CODE_S16;
  return (unsigned)simd << 3 | (unsigned)xor_pass << 2 | (unsigned)specialized << 1 |
         (unsigned)narrow;
}

/* The best supporting kernel of a strategy family; the first in spec order among equals. */
static const lb_gemm_kernel_info *lb_best_kernel(lb_operand a, lb_operand w, int bitplanes) {
  const lb_gemm_kernel_info *best = NULL;
  unsigned best_rank = 0;
  for (size_t i = 0; i < lb_registry_gemm_count; i++) {
    const lb_gemm_kernel_info *kernel = &lb_registry_gemm[i];
    if (lb_strategy_uses_bitplanes(kernel->strategy) != bitplanes ||
        !lb_gemm_kernel_supports(kernel, a, w)) {
      continue;
    }
    const unsigned rank = lb_kernel_rank(kernel);
    if (best == NULL || rank > best_rank) {
      best = kernel;
      best_rank = rank;
    }
  }
  return best;
}

const lb_gemm_kernel_info *lb_gemm_select(lb_operand a, lb_operand w, lb_strategy_choice strategy) {
  if (!lb_operand_is_valid(a) || !lb_operand_is_valid(w)) {
    return NULL;
  }
  switch (strategy) {
  case LB_AUTO: {
    const lb_gemm_kernel_info *bitserial = lb_best_kernel(a, w, 1);
    const lb_gemm_kernel_info *direct = lb_best_kernel(a, w, 0);
    if (bitserial == NULL || direct == NULL) {
      return bitserial != NULL ? bitserial : direct;
    }
    const unsigned pairs = lb_operand_planes(a) * lb_operand_planes(w);
    return pairs <= lb_bitserial_crossover(bitserial->isa) ? bitserial : direct;
  }
  case LB_BITSERIAL:
    return lb_best_kernel(a, w, 1);
  case LB_DIRECT:
    return lb_best_kernel(a, w, 0);
  }
  return NULL;
}
