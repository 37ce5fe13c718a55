/* realpath() is an X/Open function in glibc. */
#define _XOPEN_SOURCE 700

#include "paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The folder of the running executable, from Linux's /proc/self/exe (every target of lowbit-gen
 * is a Linux host). */
static const char *executable_folder(void) {
  static char *folder;
  if (folder) {
    return folder;
  }
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read /proc/self/exe to find the installed templates; "
                                   "give --templates, --targets and --include");
  }
  path[length] = '\0';
  char *slash = strrchr(path, '/');
  folder = lb_gen_strndup(path, slash ? (size_t)(slash - path) : 0);
  return folder;
}

const char *lb_gen_default_path(const char *path) {
  if (path[0] == '/') {
    return path;
  }
  char *joined = lb_gen_format("%s/%s", executable_folder(), path);
  char resolved[PATH_MAX];
  if (!realpath(joined, resolved)) {
    return joined;
  }
  lb_gen_free(joined);
  return lb_gen_strdup(resolved);
}
