#include "spec.h"

#include <string.h>

#include "util.h"

char *lb_gen_spec_parse(const char *path, const char *text, size_t length, lb_gen_spec *spec) {
  *spec = (lb_gen_spec){NULL, 0};
  char *error = lb_gen_check_text(path, text, length);
  if (error) {
    return error;
  }
  char *content = lb_gen_strndup(text, length);
  int line = 0;
  for (char *at = content; at && !error;) {
    char *end = strchr(at, '\n');
    if (end) {
      *end = '\0';
    }
    line++;
    char *hash = strchr(at, '#');
    if (hash) {
      *hash = '\0';
    }
    if (at[strspn(at, " \t\r")]) {
      char *message;
      lb_gen_kernel *kernel = lb_gen_kernel_parse(at, NULL, &message);
      if (!kernel) {
        error = lb_gen_error_at(path, line, "%s", message);
      } else if (!kernel->isa) {
        error = lb_gen_error_at(path, line, "a spec line needs isa=");
      } else {
        spec->kernels = lb_gen_realloc(spec->kernels, (spec->count + 1) * sizeof *spec->kernels);
        spec->kernels[spec->count].kernel = kernel;
        spec->kernels[spec->count].line = line;
        spec->count++;
      }
    }
    at = end ? end + 1 : NULL;
  }
  lb_gen_free(content);
  return error;
}

lb_gen_spec lb_gen_spec_load(const char *path) {
  size_t length;
  char *content = lb_gen_read_file(path, &length);
  if (!content) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read the spec %s", path);
  }
  lb_gen_spec spec;
  char *error = lb_gen_spec_parse(path, content, length, &spec);
  if (error) {
    lb_gen_exit_with(LB_GEN_EXIT_INPUT, error);
  }
  lb_gen_free(content);
  return spec;
}
