/* The schedule databases of a target (targets/<target>.<cpu>.schedules, written by lowbit-tune;
 * docs/design.md, section 32): per CPU, operand pair and class of K, the kernel and the cache
 * blocks the runtime takes. lowbit-gen generates the entries' kernels beside the spec's and
 * writes the entries as the runtime's table, lb_schedules.c. */
#ifndef LB_GEN_SCHEDULES_H
#define LB_GEN_SCHEDULES_H

#include "data_file.h"
#include "emit.h"
#include "kernel.h"
#include "target.h"

#define LB_GEN_SCHEDULES_FILE "lb_schedules.c"

typedef struct lb_gen_schedule {
  char *where; /* "<path>:<line>", which a fault of its kernel names */
  char *cpu;
  unsigned abits, wbits;
  char aenc, wenc;               /* 'u', 's' or 'b' */
  unsigned long long kmax;       /* the class holds K up to kmax; 0: any K */
  unsigned long long kc, mc, nc; /* 0: auto */
  lb_gen_kernel *kernel;         /* as the entry names it; resolved by lowbit-gen */
} lb_gen_schedule;

typedef struct lb_gen_schedules {
  lb_gen_schedule *items;
  size_t count;
  lb_gen_strings paths; /* the databases read */
} lb_gen_schedules;

/* Parses one database of target and appends its entries to *schedules, checked against those
 * before them; file_cpu, when not NULL, is the cpu the file's name gives, which every entry must
 * name. NULL, or the error (lb_gen_error_at) of the first bad line or byte. */
char *lb_gen_schedules_parse(const lb_gen_text_file *text, const lb_gen_target *target,
                             const char *file_cpu, lb_gen_schedules *schedules);

/* The databases `--schedule choice` selects: auto, every <targets_dir>/<target>.<cpu>.schedules
 * in name order; none; or the file choice names. An unreadable file or a malformed entry ends
 * the program with its path and line (status 2). */
void lb_gen_schedules_load(const char *choice, const char *targets_dir,
                           const lb_gen_target *target, lb_gen_schedules *schedules);

/* Adds lb_schedules.c: a row per entry, its kernel by name, sorted by cpu, operands and K class
 * (any K last). The kernels must be resolved. */
void lb_gen_emit_schedules(lb_gen_files *files, const lb_gen_schedules *schedules);

#endif
