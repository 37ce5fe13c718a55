/* libFuzzer harness of lowbit-gen's target description reader (generator/target.c). The seeds
 * are the repository's targets/<name>.target renamed to the name this harness expects, so that
 * mutations reach the checks after the lines. */
#include <stdint.h>
#include <string.h>

#include "target.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lb_gen_target *target;
  char *error = lb_gen_target_parse("fuzz.target", "fuzz", (const char *)data, size, &target);
  if (!error) {
    /* A target that parses answers the generator's queries for each of its isas. */
    for (size_t i = 0; i < target->isas.count; i++) {
      (void)lb_gen_target_isa_flags(target, target->isas.items[i]);
      (void)lb_gen_target_vregs(target, target->isas.items[i]);
    }
  } else if (!strstr(error, "fuzz.target")) {
    __builtin_trap();
  }
  lb_gen_free_all();
  return 0;
}
