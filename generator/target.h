/* Target descriptions: targets/<name>.target (docs/design.md, section 8). */
#ifndef LB_GEN_TARGET_H
#define LB_GEN_TARGET_H

#include "util.h"

typedef struct lb_gen_target {
  char *name;
  char *triple;
  lb_gen_strings cpus;   /* the first is the default --mcpu */
  lb_gen_strings cflags; /* every file of the target */
  lb_gen_strings isas;
  lb_gen_strings isa_flag_names; /* cflags.<isa>: isa_flag_names[i] owns isa_flags[i] */
  lb_gen_strings *isa_flags;
  char *arch;               /* x86_64, aarch64, armv7: the templates' ARCH */
  lb_gen_strings vreg_isas; /* vregs.<isa>: vreg_isas[i] has vregs[i] vector registers */
  unsigned *vregs;
  char *qemu;
  char *toolchain;
} lb_gen_target;

/* Parses the text (length bytes) of path, the description of target name, into *target (always
 * allocated); NULL, or the error (lb_gen_error_at) of the first bad line, byte or missing key. */
char *lb_gen_target_parse(const char *path, const char *name, const char *text, size_t length,
                          lb_gen_target **target);
/* Reads <dir>/<name>.target; an unknown name or a malformed file ends the program (status 2). */
lb_gen_target *lb_gen_target_load(const char *dir, const char *name);
/* The flags of kernels of isa beyond the target's cflags (empty when none). */
const lb_gen_strings *lb_gen_target_isa_flags(const lb_gen_target *target, const char *isa);
/* Vector registers of isa on the target (0 for the generic isa or an isa without vregs.<isa>). */
unsigned lb_gen_target_vregs(const lb_gen_target *target, const char *isa);
/* Prints one line per target of dir: name, triple, cpus, isas. */
void lb_gen_target_list(const char *dir);

#endif
