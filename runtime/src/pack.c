/* Packing orchestration: each work item packs one panel of A or W with the kernel's pack
 * function, over the whole K, and writes its rows' code sums when the corrections need them. */
#include "plan.h"

size_t lb_pack_item_count(const lb_gemm_plan *plan) { return plan->a.panels + plan->w.panels; }

static void lb_pack_panel(const lb_panel_set *set, size_t k, size_t panel) {
  const size_t first_row = panel * set->panel_rows;
  const size_t rows =
      set->rows - first_row < set->panel_rows ? set->rows - first_row : set->panel_rows;
  set->pack(rows, k, set->source + first_row * set->source_stride * set->element_bytes,
            set->source_stride, set->packed + panel * set->panel_bytes,
            set->code_sums != NULL ? set->code_sums + first_row : NULL, &set->args);
}

void lb_pack_item(void *context, size_t item) {
  const lb_gemm_plan *plan = context;
  if (item < plan->a.panels) {
    lb_pack_panel(&plan->a, plan->k, item);
  } else {
    lb_pack_panel(&plan->w, plan->k, item - plan->a.panels);
  }
}
