#include "registry.h"

#include <inttypes.h>

#include "util.h"

static const char *const strategy_enums[] = {"LB_STRATEGY_BITSERIAL", "LB_STRATEGY_BITSERIAL_XOR",
                                             "LB_STRATEGY_DIRECT"};

static char *encoding_literal(char encoding)
{
  return encoding ? lb_gen_format("'%c'", encoding) : lb_gen_strdup("0");
}

static void add(lb_gen_file *file, const char *line)
{
  lb_gen_text_add_line(&file->content, line, 0);
}

void lb_gen_emit_registry(lb_gen_files *files, const lb_gen_kernel *const *kernels, size_t count,
                          const char *spec_path)
{
  lb_gen_file *file = lb_gen_files_add(files, LB_GEN_REGISTRY_FILE, "generic", NULL, spec_path);
  add(file, "#include <stddef.h>");
  add(file, "");
  add(file, "#include <lowbit/ukernel.h>");
  add(file, "");
  lb_gen_strings headers = {0};
  for (size_t i = 0; i < count; i++) {
    const char *names[] = {kernels[i]->name, kernels[i]->pack_a, kernels[i]->pack_w};
    for (size_t j = 0; j < 3; j++) {
      if (lb_gen_strings_contains(&headers, names[j]))
        continue;
      lb_gen_strings_push(&headers, names[j]);
      char *line = lb_gen_format("#include \"%s.h\"", names[j]);
      add(file, line);
      lb_gen_free(line);
    }
  }
  add(file, "");
  add(file, "extern const lb_gemm_kernel_info lb_registry_gemm[];");
  add(file, "extern const size_t lb_registry_gemm_count;");
  add(file, "");
  if (count == 0) {
    /* C has no empty arrays: one zero entry that the count excludes. */
    add(file, "const lb_gemm_kernel_info lb_registry_gemm[] = {{0}};");
    add(file, "const size_t lb_registry_gemm_count = 0;");
    return;
  }
  add(file, "/* name, isa, strategy, abits, wbits, aenc, wenc, mr, nr, kblock, a_format, w_format,");
  add(file, " * max_abs_product, ukernel, pack_a, pack_w */");
  add(file, "const lb_gemm_kernel_info lb_registry_gemm[] = {");
  for (size_t i = 0; i < count; i++) {
    const lb_gen_kernel *k = kernels[i];
    char *aenc = encoding_literal(k->a.encoding), *wenc = encoding_literal(k->w.encoding);
    char *line = lb_gen_format(
        "    {\"%s\", \"%s\", %s, %u, %u, %s, %s, %u, %u, %u, %s, %s, INT64_C(%" PRId64
        "), %s, %s, %s},",
        k->name, k->isa, strategy_enums[k->strategy], k->a.bits, k->w.bits, aenc, wenc, k->mr,
        k->nr, k->kblock, lb_gen_code_enum(k->a_code), lb_gen_code_enum(k->w_code),
        k->max_abs_product, k->name, k->pack_a, k->pack_w);
    add(file, line);
    lb_gen_free(line);
    lb_gen_free(aenc);
    lb_gen_free(wenc);
  }
  add(file, "};");
  add(file, "const size_t lb_registry_gemm_count = sizeof lb_registry_gemm / sizeof lb_registry_gemm[0];");
}
