/* Which kernel computes a configuration: what a kernel accepts, the schedule database's entry for
 * the CPU, operands and K (targets/<target>.<cpu>.schedules), else how the per-CPU data
 * (targets/<target>.tuning and .crossover) rank the kernels that accept it; the tables of choices
 * for every operand pair and strategy are built once per process so that a call only looks its
 * kernel up. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "cpu.h"
#include "lowbit/lowbit.h"
#include "registry.h"
#include "select.h"

/* Operand kinds: unsigned at 1..16 bits, signed at 1..16 bits, bipolar. */
#define LB_OPERAND_KINDS (2 * LB_MAX_BITS + 1)

enum { LB_CHOICE_AUTO, LB_CHOICE_BITSERIAL, LB_CHOICE_DIRECT, LB_CHOICES };

static struct {
  pthread_once_t once;
  const lb_gemm_kernel_info *kernel[LB_OPERAND_KINDS][LB_OPERAND_KINDS][LB_CHOICES];
  /* This CPU's schedule rows, in table order; those of an operand pair are
   * schedules[schedule_first[a][w] ..][schedule_count[a][w]]. */
  lb_schedule *schedules;
  size_t schedule_first[LB_OPERAND_KINDS][LB_OPERAND_KINDS];
  size_t schedule_count[LB_OPERAND_KINDS][LB_OPERAND_KINDS];
} lb_choices = {.once = PTHREAD_ONCE_INIT};

static size_t lb_operand_kind(lb_operand op) {
  switch (op.encoding) {
  case LB_UNSIGNED: return op.bits - 1;
  case LB_SIGNED: return LB_MAX_BITS + op.bits - 1;
  case LB_BIPOLAR: break;
  }
  return 2 * LB_MAX_BITS;
}

static lb_operand lb_operand_of_kind(size_t kind) {
  if (kind < LB_MAX_BITS) {
    return (lb_operand){(unsigned)kind + 1, LB_UNSIGNED};
  }
  if (kind < 2 * LB_MAX_BITS) {
    return (lb_operand){(unsigned)(kind - LB_MAX_BITS) + 1, LB_SIGNED};
  }
  return (lb_operand){1, LB_BIPOLAR};
}

static size_t lb_choice_index(lb_strategy_choice strategy) {
  switch (strategy) {
  case LB_BITSERIAL: return LB_CHOICE_BITSERIAL;
  case LB_DIRECT: return LB_CHOICE_DIRECT;
  case LB_AUTO: break;
  }
  return LB_CHOICE_AUTO;
}

int lb_strategy_choice_is_valid(lb_strategy_choice strategy) {
  return strategy == LB_AUTO || strategy == LB_BITSERIAL || strategy == LB_DIRECT;
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

/* A bit-serial AND kernel sees planes and their weights only, and a bipolar operand's one plane
 * (the bit, weight +1, design.md section 2) is a 1-bit unsigned operand's: a kernel built for
 * either takes both. So bipolar pairs can run on the AND kernels with the code-sum correction,
 * which the per-CPU data may rank above XOR. */
static int lb_plane_encoding(int encoding) {
  return encoding == LB_BIPOLAR ? LB_UNSIGNED : encoding;
}

static int lb_operand_matches(const lb_gemm_kernel_info *kernel, unsigned kernel_bits,
                              int kernel_encoding, lb_operand op) {
  if (kernel_bits != 0 && kernel_bits != op.bits) {
    return 0;
  }
  if (kernel_encoding == 0) {
    return 1;
  }
  if (kernel->strategy == LB_STRATEGY_BITSERIAL) {
    return lb_plane_encoding(kernel_encoding) == lb_plane_encoding((int)op.encoding);
  }
  return kernel_encoding == (int)op.encoding;
}

int lb_kernel_accepts(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w) {
  if (!lb_kernel_is_well_formed(kernel) || !lb_cpu_has_isa(kernel->isa) ||
      !lb_operand_matches(kernel, kernel->abits, kernel->aenc, a) ||
      !lb_operand_matches(kernel, kernel->wbits, kernel->wenc, w)) {
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

static int lb_kernel_meets(const lb_gemm_kernel_info *kernel, lb_rank_criterion criterion) {
  switch (criterion) {
  case LB_RANK_SIMD: return strcmp(kernel->isa, "generic") != 0;
  case LB_RANK_XOR: return kernel->strategy == LB_STRATEGY_BITSERIAL_XOR;
  case LB_RANK_SPECIALIZED:
    return kernel->strategy == LB_STRATEGY_BITSERIAL && kernel->abits != 0 && kernel->wbits != 0;
  case LB_RANK_NARROW:
    return kernel->strategy == LB_STRATEGY_DIRECT && kernel->a_format != LB_CODE_S16 &&
           kernel->w_format != LB_CODE_S16;
  case LB_RANK_CRITERIA: break;
  }
  return 0;
}

/* Higher is faster: one bit per criterion of the CPU's row, the most important highest. */
static unsigned lb_kernel_rank(const lb_gemm_kernel_info *kernel, const lb_tuning_row *tuning) {
  unsigned rank = 0;
  for (unsigned i = 0; i < tuning->rank_count; i++) {
    rank = rank << 1 | (unsigned)lb_kernel_meets(kernel, tuning->rank[i]);
  }
  return rank;
}

/* The best accepting kernel of a strategy family; the first in spec order among equals. */
static const lb_gemm_kernel_info *lb_best_kernel(lb_operand a, lb_operand w, int bitplanes,
                                                 const lb_tuning_row *tuning) {
  const lb_gemm_kernel_info *best = NULL;
  unsigned best_rank = 0;
  for (size_t i = 0; i < lb_registry_gemm_count; i++) {
    const lb_gemm_kernel_info *kernel = &lb_registry_gemm[i];
    if (lb_strategy_uses_bitplanes(kernel->strategy) != bitplanes ||
        !lb_kernel_accepts(kernel, a, w)) {
      continue;
    }
    const unsigned rank = lb_kernel_rank(kernel, tuning);
    if (best == NULL || rank > best_rank) {
      best = kernel;
      best_rank = rank;
    }
  }
  return best;
}

/* The rows of this CPU, their kernels looked up by name. A kernel that is not registered, does not
 * run on this CPU or does not take the operands leaves its K class to the ranking (a test checks
 * that the committed databases name none such). Out of memory leaves every class to it. */
static void lb_schedules_build(const char *uarch) {
  size_t count = 0;
  for (size_t i = 0; i < lb_schedule_row_count; i++) {
    count += strcmp(lb_schedule_rows[i].cpu, uarch) == 0;
  }
  lb_choices.schedules = count != 0 ? malloc(count * sizeof *lb_choices.schedules) : NULL;
  if (lb_choices.schedules == NULL) {
    return;
  }
  size_t at = 0;
  for (size_t i = 0; i < lb_schedule_row_count; i++) {
    const lb_schedule_row *row = &lb_schedule_rows[i];
    if (strcmp(row->cpu, uarch) != 0) {
      continue;
    }
    const size_t a_kind = lb_operand_kind(row->a), w_kind = lb_operand_kind(row->w);
    if (lb_choices.schedule_count[a_kind][w_kind]++ == 0) {
      lb_choices.schedule_first[a_kind][w_kind] = at;
    }
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_by_name(row->kernel);
    if (kernel != NULL && !lb_kernel_accepts(kernel, row->a, row->w)) {
      kernel = NULL;
    }
    lb_choices.schedules[at++] = (lb_schedule){
        .kernel = kernel, .kmax = row->kmax, .kc = row->kc, .mc = row->mc, .nc = row->nc};
  }
}

/* LB_AUTO takes the bit-serial kernel while abits x wbits (plane pairs, one AND and popcount pass
 * each) is at most the crossover of its ISA on this CPU, and the direct one beyond. */
static void lb_choices_build(void) {
  const lb_tuning_row *tuning = lb_cpu_tuning();
  const char *uarch = lb_cpu_uarch();
  for (size_t a_kind = 0; a_kind < LB_OPERAND_KINDS; a_kind++) {
    for (size_t w_kind = 0; w_kind < LB_OPERAND_KINDS; w_kind++) {
      const lb_operand a = lb_operand_of_kind(a_kind), w = lb_operand_of_kind(w_kind);
      const lb_gemm_kernel_info *bitserial = lb_best_kernel(a, w, 1, tuning);
      const lb_gemm_kernel_info *direct = lb_best_kernel(a, w, 0, tuning);
      const lb_gemm_kernel_info **choice = lb_choices.kernel[a_kind][w_kind];
      choice[LB_CHOICE_BITSERIAL] = bitserial;
      choice[LB_CHOICE_DIRECT] = direct;
      if (bitserial == NULL || direct == NULL) {
        choice[LB_CHOICE_AUTO] = bitserial != NULL ? bitserial : direct;
      } else {
        const unsigned pairs = lb_operand_planes(a) * lb_operand_planes(w);
        choice[LB_CHOICE_AUTO] =
            pairs <= lb_crossover_pairs_for(uarch, bitserial->isa) ? bitserial : direct;
      }
    }
  }
  lb_schedules_build(uarch);
}

const lb_schedule *lb_schedule_for(lb_operand a, lb_operand w, size_t k) {
  pthread_once(&lb_choices.once, lb_choices_build);
  const size_t a_kind = lb_operand_kind(a), w_kind = lb_operand_kind(w);
  const size_t first = lb_choices.schedule_first[a_kind][w_kind];
  for (size_t i = first; i < first + lb_choices.schedule_count[a_kind][w_kind]; i++) {
    const lb_schedule *schedule = &lb_choices.schedules[i];
    if (schedule->kmax == 0 || k <= schedule->kmax) {
      return schedule->kernel != NULL ? schedule : NULL;
    }
  }
  return NULL;
}

const lb_gemm_kernel_info *lb_kernel_choice(lb_operand a, lb_operand w, lb_strategy_choice strategy,
                                            size_t k) {
  const lb_schedule *schedule = lb_schedule_for(a, w, k);
  if (schedule != NULL &&
      (strategy == LB_AUTO ||
       (strategy == LB_BITSERIAL) == lb_strategy_uses_bitplanes(schedule->kernel->strategy))) {
    return schedule->kernel;
  }
  return lb_choices.kernel[lb_operand_kind(a)][lb_operand_kind(w)][lb_choice_index(strategy)];
}

int lb_gemm_kernel_supports(const lb_gemm_kernel_info *kernel, lb_operand a, lb_operand w) {
  return kernel != NULL && lb_operand_is_valid(a) && lb_operand_is_valid(w) &&
         lb_kernel_accepts(kernel, a, w);
}

const lb_gemm_kernel_info *lb_gemm_select(lb_operand a, lb_operand w, lb_strategy_choice strategy,
                                          size_t k) {
  if (!lb_operand_is_valid(a) || !lb_operand_is_valid(w) ||
      !lb_strategy_choice_is_valid(strategy) || k == 0) {
    return NULL;
  }
  return lb_kernel_choice(a, w, strategy, k);
}
