#include "registry.h"

#include "util.h"

static void add(lb_gen_file *file, const char *line) {
  lb_gen_text_add_line(&file->content, line, NULL, 0);
}

static void add_table(lb_gen_file *file, const lb_gen_op *op, const lb_gen_kernels *kernels) {
  char *line = lb_gen_format("extern const %s %s[];", op->registry_type, op->registry);
  add(file, line);
  lb_gen_free(line);
  line = lb_gen_format("extern const size_t %s_count;", op->registry);
  add(file, line);
  lb_gen_free(line);
  size_t rows = 0;
  for (size_t i = 0; i < kernels->count; i++) {
    rows += kernels->items[i]->op == op;
  }
  if (rows == 0) {
    /* C has no empty arrays: one zero entry that the count excludes. */
    line = lb_gen_format("const %s %s[] = {{0}};\nconst size_t %s_count = 0;", op->registry_type,
                         op->registry, op->registry);
    add(file, line);
    lb_gen_free(line);
    return;
  }
  line = lb_gen_format("const %s %s[] = {", op->registry_type, op->registry);
  add(file, line);
  lb_gen_free(line);
  for (size_t i = 0; i < kernels->count; i++) {
    const lb_gen_kernel *kernel = kernels->items[i];
    if (kernel->op != op) {
      continue;
    }
    char *row = lb_gen_substitute(op->registry_row, &kernel->vars, "generator/ops.c", 0);
    line = lb_gen_format("    %s", row);
    add(file, line);
    lb_gen_free(line);
    lb_gen_free(row);
  }
  add(file, "};");
  line = lb_gen_format("const size_t %s_count = sizeof %s / sizeof %s[0];", op->registry,
                       op->registry, op->registry);
  add(file, line);
  lb_gen_free(line);
}

void lb_gen_emit_registry(lb_gen_files *files, const lb_gen_kernels *kernels,
                          const char *spec_path) {
  lb_gen_file *file = lb_gen_files_add(files, LB_GEN_REGISTRY_FILE, "generic", spec_path);
  add(file, "#include <stddef.h>");
  add(file, "");
  add(file, "#include <lowbit/ukernel.h>");
  add(file, "");
  for (size_t i = 0; i < kernels->count; i++) {
    char *line = lb_gen_format("#include \"%s.h\"", kernels->items[i]->name);
    add(file, line);
    lb_gen_free(line);
  }
  size_t op_count;
  const lb_gen_op *ops = lb_gen_ops(&op_count);
  for (size_t o = 0; o < op_count; o++) {
    if (!ops[o].registry) {
      continue;
    }
    add(file, "");
    add_table(file, &ops[o], kernels);
  }
}
