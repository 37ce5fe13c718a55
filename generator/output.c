#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* mkdir -p: creates every missing folder of path. */
static int make_folders(const char *path) {
  char *copy = lb_gen_strdup(path);
  int ok = 1;
  for (char *slash = copy + 1; ok; slash++) {
    int last = *slash == '\0';
    if (*slash != '/' && !last) {
      continue;
    }
    *slash = '\0';
    if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
      ok = 0;
    }
    if (last) {
      break;
    }
    *slash = '/';
  }
  struct stat info;
  ok = ok && stat(path, &info) == 0 && S_ISDIR(info.st_mode);
  lb_gen_free(copy);
  return ok;
}

static int same_content(const char *path, const lb_gen_buf *content) {
  size_t length;
  char *existing = lb_gen_read_file(path, &length);
  int same = existing && length == content->length && memcmp(existing, content->data, length) == 0;
  lb_gen_free(existing);
  return same;
}

static int write_whole(const char *path, const lb_gen_buf *content) {
  FILE *file = fopen(path, "wb");
  if (!file) {
    return 0;
  }
  int ok = fwrite(content->data, 1, content->length, file) == content->length;
  ok = (fclose(file) == 0) && ok;
  return ok;
}

static void remove_all(char **paths, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (paths[i]) {
      unlink(paths[i]);
    }
  }
}

void lb_gen_write_files(const lb_gen_files *files, const char *dir) {
  if (!make_folders(dir)) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot create the output folder %s: %s", dir, strerror(errno));
  }
  char **temporaries = lb_gen_alloc((files->count + 1) * sizeof *temporaries);
  char **finals = lb_gen_alloc((files->count + 1) * sizeof *finals);
  for (size_t i = 0; i < files->count; i++) {
    const lb_gen_file *file = &files->items[i];
    finals[i] = lb_gen_format("%s/%s", dir, file->name);
    if (same_content(finals[i], &file->content.text)) {
      continue;
    }
    temporaries[i] = lb_gen_format("%s/.%s.%ld.tmp", dir, file->name, (long)getpid());
    if (!write_whole(temporaries[i], &file->content.text)) {
      int error = errno;
      remove_all(temporaries, i + 1);
      lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot write to the output folder %s: %s", dir,
                  strerror(error));
    }
  }
  for (size_t i = 0; i < files->count; i++) {
    if (temporaries[i] && rename(temporaries[i], finals[i]) != 0) {
      int error = errno;
      remove_all(temporaries + i, files->count - i);
      lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot write %s: %s", finals[i], strerror(error));
    }
  }
}
