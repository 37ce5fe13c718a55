/* libFuzzer harness of lowbit-gen's schedule database reader (generator/schedules.c): the input
 * is a .schedules text, read for a fixed target that has every isa the repository's databases
 * name; inputs of odd size are read as a file named for cpu lowbit-test. An accepted text gives one entry per line that
 * holds more than a comment, each with its kernel parsed. */
#include <stdint.h>
#include <string.h>

#include "schedules.h"
#include "target.h"
#include "util.h"

static const char target_text[] = "name = fuzz\n"
                                  "triple = x86_64-linux-gnu\n"
                                  "cpus = x86-64-v3\n"
                                  "isas = generic avx2 avx512 neon neondot\n"
                                  "arch = x86_64\n";

/* Lines with a word outside a comment, as the reader counts them. */
static size_t data_lines(const char *text, size_t size) {
  size_t lines = 0;
  int words = 0, comment = 0;
  for (size_t i = 0; i <= size; i++) {
    const char c = i < size ? text[i] : '\n';
    if (c == '\n') {
      lines += words;
      words = comment = 0;
    } else if (c == '#' || c == '\r') {
      comment = 1;
    } else if (!comment && c != ' ' && c != '\t') {
      words = 1;
    }
  }
  return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lb_gen_set_command_line(0, NULL, NULL);
  lb_gen_target *target;
  if (lb_gen_target_parse("fuzz.target", "fuzz", target_text, sizeof target_text - 1, &target)) {
    __builtin_trap();
  }
  const char *text = (const char *)data;
  const lb_gen_text_file file = {"fuzz.schedules", text, size};
  lb_gen_schedules schedules = {0};
  char *error = lb_gen_schedules_parse(&file, target, size % 2 ? "lowbit-test" : NULL, &schedules);
  if (error ? !strstr(error, "fuzz.schedules") : schedules.count != data_lines(text, size)) {
    __builtin_trap();
  }
  for (size_t i = 0; !error && i < schedules.count; i++) {
    if (!schedules.items[i].kernel || !schedules.items[i].cpu) {
      __builtin_trap();
    }
  }
  lb_gen_free_all();
  return 0;
}
