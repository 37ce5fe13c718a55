#include "database.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util.h"
#include "journal.h"

/* `a=.. w=..` of an entry line (its second and third words). */
static char *pair_of(const char *line) {
  const char *a = strstr(line, " a="), *w = a ? strstr(a + 1, " w=") : NULL;
  const char *end = w ? strchr(w + 1, ' ') : NULL;
  return end ? lb_gen_strndup(a + 1, (size_t)(end - a - 1)) : NULL;
}

static int tuned(const char *pair, const tune_entry *entries, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(entries[i].pair, pair) == 0) {
      return 1;
    }
  }
  return 0;
}

char *tune_database_merge(const char *path, const char *header, const tune_entry *entries,
                          size_t count) {
  tune_entry *all = lb_gen_alloc((count + 1) * sizeof *all);
  size_t total = 0;
  size_t length;
  char *text = access(path, F_OK) == 0 ? lb_gen_read_file(path, &length) : NULL;
  if (access(path, F_OK) == 0 && !text) {
    return lb_gen_format("%s: cannot be read", path);
  }
  /* Keep the entries of other pairs with their comments; the file's own header (the comment
   * block before the first blank line) is rewritten. */
  lb_gen_buf comment = {0};
  lb_gen_buf_puts(&comment, "");
  int in_header = 1, number = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) {
      *next++ = '\0';
    }
    number++;
    if (line[0] == '\0') {
      in_header = 0;
      comment = (lb_gen_buf){0};
      lb_gen_buf_puts(&comment, "");
      continue;
    }
    if (line[0] == '#') {
      if (!in_header) {
        lb_gen_buf_printf(&comment, "%s\n", line);
      }
      continue;
    }
    in_header = 0;
    char *pair = pair_of(line);
    if (!pair) {
      return lb_gen_format("%s:%d: not an entry of a schedule database", path, number);
    }
    if (!tuned(pair, entries, count)) {
      all = lb_gen_realloc(all, (total + count + 1) * sizeof *all);
      all[total++] = (tune_entry){pair, comment.data, lb_gen_strdup(line)};
    }
    comment = (lb_gen_buf){0};
    lb_gen_buf_puts(&comment, "");
  }
  all = lb_gen_realloc(all, (total + count + 1) * sizeof *all);
  for (size_t i = 0; i < count; i++) {
    all[total++] = entries[i];
  }
  /* A stable insertion sort by pair: the same entries give the same file whatever order the
   * pairs were tuned in. */
  for (size_t i = 1; i < total; i++) {
    const tune_entry e = all[i];
    size_t j = i;
    for (; j > 0 && strcmp(all[j - 1].pair, e.pair) > 0; j--) {
      all[j] = all[j - 1];
    }
    all[j] = e;
  }
  lb_gen_buf out = {0};
  lb_gen_buf_puts(&out, header);
  for (size_t i = 0; i < total; i++) {
    const int first_of_pair = i == 0 || strcmp(all[i - 1].pair, all[i].pair) != 0;
    lb_gen_buf_printf(&out, "%s%s%s\n", first_of_pair ? "\n" : "", all[i].comment, all[i].line);
  }
  return tune_write_atomic(path, out.data) ? NULL : lb_gen_format("%s: cannot be written", path);
}
