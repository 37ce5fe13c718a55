/* libFuzzer harness of lowbit-gen's per-CPU data readers (generator/tuning.c): the input is a
 * .tuning text, a NUL byte, then a .crossover text (no NUL: the .tuning half only), read for a
 * fixed target that has every isa the repository's crossover files name; a pair that parses is
 * written out as lb_tuning.c. */
#include <stdint.h>
#include <string.h>

#include "emit.h"
#include "target.h"
#include "tuning.h"
#include "util.h"

static const char target_text[] = "name = fuzz\n"
                                  "triple = x86_64-linux-gnu\n"
                                  "cpus = x86-64-v3\n"
                                  "isas = generic avx2 neon neon-dot\n"
                                  "arch = x86_64\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lb_gen_set_command_line(0, NULL, NULL);
  lb_gen_target *target;
  if (lb_gen_target_parse("fuzz.target", "fuzz", target_text, sizeof target_text - 1, &target)) {
    __builtin_trap();
  }
  const char *text = (const char *)data;
  const char *nul = memchr(text, '\0', size);
  size_t tuning_length = nul ? (size_t)(nul - text) : size;
  lb_gen_text_file tuning = {"fuzz.tuning", text, tuning_length};
  lb_gen_text_file crossover = {"fuzz.crossover", nul ? nul + 1 : text + size,
                                nul ? size - tuning_length - 1 : 0};
  lb_gen_files files = {NULL, 0};
  char *error = lb_gen_tuning_parse(&files, target, &tuning, &crossover);
  if (error ? files.count != 0 || !strstr(error, "fuzz.") : files.count != 1) {
    __builtin_trap();
  }
  lb_gen_free_all();
  return 0;
}
