#include "clang_check.h"

#include <clang-c/Index.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Files live in a folder that exists nowhere, so that no stale file on disk can stand in for
 * an unsaved one. */
#define VIRTUAL_DIR "/lowbit-gen-check/"

static int is_x86(const char *triple) {
  return strncmp(triple, "x86_64", 6) == 0 ||
         (triple[0] == 'i' && strncmp(triple + 2, "86", 2) == 0);
}

static void push_all(lb_gen_strings *args, const lb_gen_strings *words) {
  for (size_t i = 0; i < words->count; i++) {
    lb_gen_strings_push(args, words->items[i]);
  }
}

/* The compiler arguments of a file of isa: --target, the CPU (x86 clang tunes with -mtune,
 * -mcpu there is unused and would warn), the target's flags, the include folders, C11 and the
 * warnings the build uses. */
static lb_gen_strings arguments_for(const lb_gen_target *target, const char *cpu, const char *isa,
                                    const char *include_dir) {
  lb_gen_strings args = {0};
  char *text = lb_gen_format("--target=%s", target->triple);
  lb_gen_strings_push(&args, text);
  lb_gen_free(text);
  text = lb_gen_format(is_x86(target->triple) ? "-mtune=%s" : "-mcpu=%s", cpu);
  lb_gen_strings_push(&args, text);
  lb_gen_free(text);
  push_all(&args, &target->cflags);
  push_all(&args, lb_gen_target_isa_flags(target, isa));
  text = lb_gen_format("-I%s", include_dir);
  lb_gen_strings_push(&args, text);
  lb_gen_free(text);
  /* lb_tuning.c includes the runtime's private tuning.h, next to the public headers' folder. */
  text = lb_gen_format("-I%s/../src", include_dir);
  lb_gen_strings_push(&args, text);
  lb_gen_free(text);
  lb_gen_strings_push(&args, "-std=c11");
  lb_gen_strings_push(&args, "-Wall");
  lb_gen_strings_push(&args, "-Wextra");
  return args;
}

static const lb_gen_file *file_named(const lb_gen_files *files, const char *path) {
  if (strncmp(path, VIRTUAL_DIR, strlen(VIRTUAL_DIR)) != 0) {
    return NULL;
  }
  for (size_t i = 0; i < files->count; i++) {
    if (strcmp(files->items[i].name, path + strlen(VIRTUAL_DIR)) == 0) {
      return &files->items[i];
    }
  }
  return NULL;
}

/* Prints a diagnostic at the template line its generated line came from. */
static void report(const lb_gen_files *files, CXDiagnostic diagnostic) {
  CXFile file;
  unsigned line, column;
  clang_getSpellingLocation(clang_getDiagnosticLocation(diagnostic), &file, &line, &column, NULL);
  CXString file_name = clang_getFileName(file);
  CXString message = clang_getDiagnosticSpelling(diagnostic);
  CXString option = clang_getDiagnosticOption(diagnostic, NULL);
  const char *path = clang_getCString(file_name) ? clang_getCString(file_name) : "<command line>";
  const lb_gen_file *generated = file_named(files, path);
  const char *option_text = clang_getCString(option);
  char *suffix =
      option_text && *option_text ? lb_gen_format(" [%s]", option_text) : lb_gen_strdup("");
  if (generated && line >= 1 && line <= generated->content.line_count &&
      generated->content.source_paths[line - 1]) {
    fprintf(stderr, "%s:%d: error: %s%s (in %s:%u)\n", generated->content.source_paths[line - 1],
            generated->content.source_lines[line - 1], clang_getCString(message), suffix,
            generated->name, line);
  } else {
    fprintf(stderr, "%s:%u: error: %s%s\n", generated ? generated->name : path, line,
            clang_getCString(message), suffix);
  }
  lb_gen_free(suffix);
  clang_disposeString(option);
  clang_disposeString(message);
  clang_disposeString(file_name);
}

size_t lb_gen_check_files(const lb_gen_files *files, const lb_gen_target *target, const char *cpu,
                          const char *include_dir) {
  CXIndex index = clang_createIndex(0, 0);
  struct CXUnsavedFile *unsaved = lb_gen_alloc(files->count * sizeof *unsaved);
  char **paths = lb_gen_alloc(files->count * sizeof *paths);
  for (size_t i = 0; i < files->count; i++) {
    paths[i] = lb_gen_format(VIRTUAL_DIR "%s", files->items[i].name);
    unsaved[i].Filename = paths[i];
    unsaved[i].Contents = files->items[i].content.text.data;
    unsaved[i].Length = files->items[i].content.text.length;
  }
  size_t problems = 0;
  for (size_t i = 0; i < files->count; i++) {
    const lb_gen_file *file = &files->items[i];
    size_t length = strlen(file->name);
    if (length < 2 || strcmp(file->name + length - 2, ".c") != 0) {
      continue;
    }
    lb_gen_strings args = arguments_for(target, cpu, file->isa, include_dir);
    CXTranslationUnit unit;
    enum CXErrorCode status = clang_parseTranslationUnit2(
        index, paths[i], (const char *const *)args.items, (int)args.count, unsaved,
        (unsigned)files->count, CXTranslationUnit_None, &unit);
    if (status != CXError_Success) {
      fprintf(stderr, "%s: error: libclang could not parse the file (code %d)\n", file->name,
              (int)status);
      problems++;
      continue;
    }
    unsigned count = clang_getNumDiagnostics(unit);
    for (unsigned d = 0; d < count; d++) {
      CXDiagnostic diagnostic = clang_getDiagnostic(unit, d);
      if (clang_getDiagnosticSeverity(diagnostic) >= CXDiagnostic_Warning) {
        report(files, diagnostic);
        problems++;
      }
      clang_disposeDiagnostic(diagnostic);
    }
    clang_disposeTranslationUnit(unit);
  }
  clang_disposeIndex(index);
  return problems;
}
