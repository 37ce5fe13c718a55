/* Lookup in the per-CPU tables that lowbit-gen writes for the target
 * (<build>/gen/<target>/lb_tuning.c). */
#include <string.h>

#include "tuning.h"

#define LB_DEFAULT_CPU "default"

const lb_tuning_row *lb_tuning_row_for(const char *cpu) {
  const lb_tuning_row *fallback = NULL;
  for (size_t i = 0; i < lb_tuning_row_count; i++) {
    if (strcmp(lb_tuning_rows[i].cpu, cpu) == 0) {
      return &lb_tuning_rows[i];
    }
    if (strcmp(lb_tuning_rows[i].cpu, LB_DEFAULT_CPU) == 0) {
      fallback = &lb_tuning_rows[i];
    }
  }
  return fallback;
}

static const lb_crossover_row *lb_crossover_row_for(const char *cpu, const char *isa) {
  for (size_t i = 0; i < lb_crossover_row_count; i++) {
    if (strcmp(lb_crossover_rows[i].cpu, cpu) == 0 && strcmp(lb_crossover_rows[i].isa, isa) == 0) {
      return &lb_crossover_rows[i];
    }
  }
  return NULL;
}

unsigned lb_crossover_pairs_for(const char *cpu, const char *isa) {
  const lb_crossover_row *row = lb_crossover_row_for(cpu, isa);
  if (row == NULL) {
    row = lb_crossover_row_for(LB_DEFAULT_CPU, isa);
  }
  return row != NULL ? row->pairs : 0;
}
