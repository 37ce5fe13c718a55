/* The A pack steps of a run unit: the unit's output rows become A panels (and their code sums)
 * with the kernel's pack functions, one panel of MR rows at a time. */
#include "operator.h"

static size_t lb_panel_rows(const lb_gemm_plan *plan, size_t panel) {
  const size_t first = panel * plan->a.panel_rows;
  return plan->m - first < plan->a.panel_rows ? plan->m - first : plan->a.panel_rows;
}

/* Through the indirection buffer: codes with the kernel's pack_a_indirect, float input with its
 * pack_a_quantize, which quantizes the runs as it packs them. */
void lb_pack_a_unit_indirect(const lb_operator *op, const lb_run_unit *unit, lb_gemm_plan *plan,
                             void *scratch) {
  const void **pointers = scratch;
  lb_indirection_build(op, unit, pointers);
  const size_t taps = op->geometry.taps;
  const int float_input = op->input_bytes == sizeof(float);
  for (size_t panel = 0; panel < plan->a.panels; panel++) {
    const size_t first = panel * plan->a.panel_rows;
    const size_t rows = lb_panel_rows(plan, panel);
    unsigned char *packed = plan->a.packed + panel * plan->a.panel_bytes;
    int64_t *code_sums = plan->a.code_sums != NULL ? plan->a.code_sums + first : NULL;
    if (float_input) {
      /* The panel's rows within the group's A: what keys stochastic rounding. */
      lb_quantize_args quantize = op->quantize;
      quantize.first_row = unit->first_row + first;
      op->kernel->pack_a_quantize(rows, taps, op->geometry.group_in_c,
                                  (const float *const *)(pointers + first * taps), packed,
                                  code_sums, &plan->a.args, &quantize);
    } else {
      op->kernel->pack_a_indirect(rows, taps, op->geometry.group_in_c, pointers + first * taps,
                                  packed, code_sums, &plan->a.args);
    }
  }
}

/* Output row r is input pixel r: A is the input, row stride in_c, from the group's first channel.
 */
void lb_pack_a_unit_rows(const lb_operator *op, const lb_run_unit *unit, lb_gemm_plan *plan,
                         void *scratch) {
  (void)scratch;
  const lb_conv_geometry *g = &op->geometry;
  plan->a.source = unit->input + (unit->first_row * g->in_c + unit->group * g->group_in_c) *
                                     plan->a.element_bytes;
  plan->a.source_stride = g->in_c;
  for (size_t panel = 0; panel < plan->a.panels; panel++) {
    lb_pack_item(plan, panel);
  }
}
