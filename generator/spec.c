#include "spec.h"

#include <string.h>

#include "util.h"

lb_gen_spec lb_gen_spec_load(const char *path) {
  char *content = lb_gen_read_file(path, NULL);
  if (!content) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read the spec %s", path);
  }
  lb_gen_spec spec = {NULL, 0};
  int line = 0;
  for (char *text = content; text;) {
    char *end = strchr(text, '\n');
    if (end) {
      *end = '\0';
    }
    line++;
    char *hash = strchr(text, '#');
    if (hash) {
      *hash = '\0';
    }
    if (text[strspn(text, " \t\r")]) {
      char *message;
      lb_gen_kernel *kernel = lb_gen_kernel_parse(text, NULL, &message);
      if (!kernel) {
        lb_gen_fail_at(LB_GEN_EXIT_INPUT, path, line, "%s", message);
      }
      if (!kernel->isa) {
        lb_gen_fail_at(LB_GEN_EXIT_INPUT, path, line, "a spec line needs isa=");
      }
      spec.kernels = lb_gen_realloc(spec.kernels, (spec.count + 1) * sizeof *spec.kernels);
      spec.kernels[spec.count].kernel = kernel;
      spec.kernels[spec.count].line = line;
      spec.count++;
    }
    text = end ? end + 1 : NULL;
  }
  lb_gen_free(content);
  return spec;
}
