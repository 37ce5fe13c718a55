/* libFuzzer harness of lowbit-gen's op spec reader (generator/spec.c): any bytes give a spec or
 * a one-line error naming the file and line, never a crash, and nothing outlives the input. */
#include <stdint.h>
#include <string.h>

#include "spec.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lb_gen_spec spec;
  char *error = lb_gen_spec_parse("fuzz.spec", (const char *)data, size, &spec);
  if (error && strncmp(error, "fuzz.spec:", 10) != 0) {
    __builtin_trap(); /* an error that names neither the file nor the line */
  }
  lb_gen_free_all();
  return 0;
}
