#include "journal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util.h"

#define INPUTS "inputs "
#define REFUSED " refused"
#define SCORE " score="

int tune_write_atomic(const char *path, const char *text) {
  char *temporary = lb_gen_format("%s.tmp", path);
  const int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return 0;
  }
  const size_t length = strlen(text);
  size_t done = 0;
  while (done < length) {
    const ssize_t wrote = write(fd, text + done, length - done);
    if (wrote <= 0) {
      close(fd);
      unlink(temporary);
      return 0;
    }
    done += (size_t)wrote;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(temporary, path) != 0) {
    unlink(temporary);
    return 0;
  }
  return 1;
}

static void push(tune_journal *journal, const char *key, int refused, double score) {
  journal->results =
      lb_gen_realloc(journal->results, (journal->count + 1) * sizeof *journal->results);
  journal->results[journal->count++] = (tune_result){lb_gen_strdup(key), refused, score};
}

char *tune_journal_open(tune_journal *journal, const char *path, const char *inputs) {
  *journal = (tune_journal){lb_gen_strdup(path), inputs ? lb_gen_strdup(inputs) : NULL, NULL, 0};
  size_t length;
  char *text = lb_gen_read_file(path, &length);
  if (!text) {
    return access(path, F_OK) == 0 || !inputs ? lb_gen_format("%s: cannot be read", path) : NULL;
  }
  if (strlen(text) != length) {
    return lb_gen_format("%s: holds a NUL byte: not a journal of lowbit-tune", path);
  }
  int number = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (!next) {
      /* A journal is only ever renamed into place whole: a cut last line is damage. */
      return lb_gen_format("%s:%d: the line does not end: a damaged journal", path, number + 1);
    }
    *next++ = '\0';
    number++;
    if (number == 1) {
      if (strncmp(line, INPUTS, strlen(INPUTS)) != 0) {
        return lb_gen_format("%s:1: not a journal of lowbit-tune (no inputs line)", path);
      }
      if (!inputs) {
        journal->inputs = lb_gen_strdup(line + strlen(INPUTS));
      } else if (strcmp(line + strlen(INPUTS), inputs) != 0) {
        return lb_gen_format("%s: written for other inputs (%s); remove it or use --fresh", path,
                             line + strlen(INPUTS));
      }
      continue;
    }
    char *score = strstr(line, SCORE);
    const size_t n = strlen(line);
    if (n > strlen(REFUSED) && strcmp(line + n - strlen(REFUSED), REFUSED) == 0) {
      line[n - strlen(REFUSED)] = '\0';
      push(journal, line, 1, 0);
    } else if (score) {
      char *end;
      const double value = strtod(score + strlen(SCORE), &end);
      if (*end != '\0' || !(value >= 0)) {
        return lb_gen_format("%s:%d: a malformed score", path, number);
      }
      *score = '\0';
      push(journal, line, 0, value);
    } else {
      return lb_gen_format("%s:%d: neither a score nor refused", path, number);
    }
  }
  if (number == 0) {
    return lb_gen_format("%s: empty: not a journal of lowbit-tune", path);
  }
  return NULL;
}

const tune_result *tune_journal_find(const tune_journal *journal, const char *key) {
  for (size_t i = 0; i < journal->count; i++) {
    if (strcmp(journal->results[i].key, key) == 0) {
      return &journal->results[i];
    }
  }
  return NULL;
}

int tune_journal_add(tune_journal *journal, const char *key, int refused, double score) {
  push(journal, key, refused, score);
  lb_gen_buf text = {0};
  lb_gen_buf_printf(&text, INPUTS "%s\n", journal->inputs);
  for (size_t i = 0; i < journal->count; i++) {
    const tune_result *r = &journal->results[i];
    if (r->refused) {
      lb_gen_buf_printf(&text, "%s" REFUSED "\n", r->key);
    } else {
      lb_gen_buf_printf(&text, "%s" SCORE "%.17g\n", r->key, r->score);
    }
  }
  return tune_write_atomic(journal->path, text.data);
}
