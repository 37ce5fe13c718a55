#include "fuzz_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char folder[256];
static char paths[4][512];
static size_t path_count;

static void remove_folder(void) {
  for (size_t i = 0; i < path_count; i++) {
    unlink(paths[i]);
  }
  rmdir(folder);
}

const char *lb_fuzz_path(const char *name) {
  if (!folder[0]) {
    /* Memory (tmpfs) when there is one: a disk's file system makes the write of each input
     * cost milliseconds, a hundred times the reading. */
    const char *tmp = getenv("TMPDIR");
    struct stat shm;
    if (!tmp || !*tmp) {
      tmp = stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) ? "/dev/shm" : "/tmp";
    }
    snprintf(folder, sizeof folder, "%s/lowbit-fuzz-XXXXXX", tmp);
    if (!mkdtemp(folder)) {
      abort();
    }
    atexit(remove_folder);
  }
  for (size_t i = 0; i < path_count; i++) {
    if (strcmp(strrchr(paths[i], '/') + 1, name) == 0) {
      return paths[i];
    }
  }
  if (path_count == sizeof paths / sizeof paths[0]) {
    abort();
  }
  snprintf(paths[path_count], sizeof paths[path_count], "%s/%s", folder, name);
  return paths[path_count++];
}

void lb_fuzz_write(const char *path, const void *bytes, size_t size, int gzip) {
  if (gzip) {
    gzFile file = gzopen(path, "wb1");
    if (!file || (size && gzwrite(file, bytes, (unsigned)size) != (int)size) ||
        gzclose(file) != Z_OK) {
      abort();
    }
    return;
  }
  FILE *file = fopen(path, "wb");
  if (!file || fwrite(bytes, 1, size, file) != size || fclose(file) != 0) {
    abort();
  }
}
