/* Per-CPU data of the target: lowbit-gen turns targets/<target>.tuning and .crossover into the
 * tables of lb_tuning.c (docs/design.md, "Per-CPU data") and the schedule databases
 * targets/<target>.<cpu>.schedules into lb_schedules.c (section 32); both include this header. */
#ifndef LOWBIT_TUNING_H
#define LOWBIT_TUNING_H

#include <stddef.h>

#include "lowbit/lowbit.h"

/* kc, mc or nc derived from the cache sizes (plan.c). */
#define LB_TUNING_AUTO ((size_t)0)

/* What makes one kernel faster than another that accepts the same operands (select.c). */
typedef enum lb_rank_criterion {
  LB_RANK_SIMD,        /* a SIMD ISA rather than portable C */
  LB_RANK_XOR,         /* bit-serial XOR: one pass and no correction terms (bipolar pairs) */
  LB_RANK_SPECIALIZED, /* bit-serial AND with its plane weights as constants */
  LB_RANK_NARROW,      /* direct with 8-bit products on both sides (twice the int16 rate) */
  LB_RANK_CRITERIA     /* how many there are */
} lb_rank_criterion;

typedef struct lb_tuning_row {
  const char *cpu;            /* micro-architecture as the probe names it, or "default" */
  size_t l1d_bytes, l2_bytes; /* for when the probe cannot read the caches */
  size_t kc;                  /* K elements per chunk, or LB_TUNING_AUTO */
  size_t mc;                  /* rows of A per block, or LB_TUNING_AUTO */
  size_t nc;                  /* columns of W per block, or LB_TUNING_AUTO */
  unsigned rank_count;
  lb_rank_criterion rank[LB_RANK_CRITERIA]; /* most important first; others count for nothing */
} lb_tuning_row;

typedef struct lb_crossover_row {
  const char *cpu; /* micro-architecture, or "default" */
  const char *isa;
  unsigned pairs; /* LB_AUTO takes the isa's bit-serial kernels while abits * wbits <= pairs */
} lb_crossover_row;

/* An entry of a schedule database: on cpu, for operands a and w and K up to kmax (0: any K), the
 * registered kernel of that name with these cache blocks (or LB_TUNING_AUTO). */
typedef struct lb_schedule_row {
  const char *cpu;
  lb_operand a, w;
  size_t kmax;
  const char *kernel;
  size_t kc, mc, nc;
} lb_schedule_row;

/* Complete rows: the generator fills what a row of the file leaves out from cpu=default. */
extern const lb_tuning_row lb_tuning_rows[];
extern const size_t lb_tuning_row_count;
extern const lb_crossover_row lb_crossover_rows[];
extern const size_t lb_crossover_row_count;

/* The rows of one cpu and operand pair are adjacent, by increasing kmax with 0 (any K) last. */
extern const lb_schedule_row lb_schedule_rows[];
extern const size_t lb_schedule_row_count;

/* The row of cpu, else the default one (the generator requires it). */
const lb_tuning_row *lb_tuning_row_for(const char *cpu);

/* The crossover of isa on cpu, else on "default" (the generator requires one for every isa of
 * the target); 0 for an isa outside the target. */
unsigned lb_crossover_pairs_for(const char *cpu, const char *isa);

#endif
