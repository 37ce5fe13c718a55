/* The schedule space of a gemm: the kernel (strategy, isa, direct format, register tile, K unroll)
 * and the runtime's cache blocks (kc, mc, nc). A point is a tune_schedule; its text is the
 * schedule as the database writes it. */
#ifndef LB_TUNE_SPACE_H
#define LB_TUNE_SPACE_H

#include <stddef.h>

/* The values each parameter may take, in order: a neighbour moves one step in one of them. */
enum { TUNE_MR, TUNE_NR, TUNE_KUNROLL, TUNE_KC, TUNE_MC, TUNE_NC, TUNE_PARAMETERS };

/* A family of kernels: what the register tile and unroll vary within. */
typedef struct tune_family {
  const char *strategy; /* bitserial, bitserial-xor or direct */
  const char *isa;
  const char *format; /* direct: s8, u8s8 or s16; NULL for bit-serial */
} tune_family;

typedef struct tune_schedule {
  size_t family;                 /* index into the space's families */
  size_t index[TUNE_PARAMETERS]; /* index into each parameter's values */
} tune_schedule;

/* An operand as the spec and the database write it: bits and u, s or b. */
typedef struct tune_operand {
  unsigned bits;
  char encoding;
} tune_operand;

typedef struct tune_space {
  tune_operand a, w;
  tune_family *families;
  size_t family_count;
  /* valid[family][mr][nr][kunroll]: lowbit-gen accepts that kernel */
  unsigned char *valid;
} tune_space;

size_t tune_parameter_count(int parameter);
/* A value of a parameter: counts, or 0 for a block left to the runtime (auto). */
unsigned tune_parameter_value(int parameter, size_t index);

/* The kernels of the space: lowbit-gen's `--op gemm` for each family and tile decides which exist
 * (a template refuses a tile that does not fit its registers with exit status 2). */
size_t tune_kernel_index(const tune_space *space, const tune_schedule *s);
int tune_kernel_is_valid(const tune_space *space, const tune_schedule *s);
/* Schedules that differ in the blocks only share a kernel: how many kernels, how many points. */
size_t tune_valid_kernels(const tune_space *space);
size_t tune_block_points(void);

/* `strategy=S isa=I tile=MxN [format=F] kunroll=U kc=.. mc=.. nc=..` (tracked memory). */
char *tune_schedule_text(const tune_space *space, const tune_schedule *s);
/* The gemm spec line of the schedule's kernel. */
char *tune_kernel_spec(const tune_space *space, const tune_schedule *s);
/* The name of the runtime's tuning row that carries the schedule's blocks (LOWBIT_CPU). */
char *tune_block_row(const tune_schedule *s);
/* The schedule's direct parameter's index moved by step (-1 or +1); 0 when it would leave the
 * parameter's range. */
int tune_step(tune_schedule *s, int parameter, int step);

/* A schedule's text (tune_schedule_text's) back into *s; 0 when it is malformed or names a family
 * or value outside the space. */
int tune_parse_schedule(const tune_space *space, const char *text, tune_schedule *s);

/* "2u" into *op; 0 for a malformed operand. */
int tune_parse_operand(const char *text, tune_operand *op);

#endif
