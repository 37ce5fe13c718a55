#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocations form a doubly linked list behind a header, released by one atexit handler. */
typedef struct allocation {
  struct allocation *prev, *next;
  max_align_t align;
} allocation;

static allocation *allocations;
static int release_registered;

void lb_gen_free_all(void) {
  while (allocations) {
    allocation *next = allocations->next;
    free(allocations);
    allocations = next;
  }
}

static void link_allocation(allocation *block) {
  block->prev = NULL;
  block->next = allocations;
  if (allocations) {
    allocations->prev = block;
  }
  allocations = block;
}

static void unlink_allocation(allocation *block) {
  if (block->prev) {
    block->prev->next = block->next;
  } else {
    allocations = block->next;
  }
  if (block->next) {
    block->next->prev = block->prev;
  }
}

static allocation *header_of(void *pointer) {
  return (allocation *)((char *)pointer - offsetof(allocation, align));
}

void *lb_gen_alloc(size_t size) {
  if (!release_registered) {
    atexit(lb_gen_free_all);
    release_registered = 1;
  }
  allocation *block = malloc(offsetof(allocation, align) + size);
  if (!block) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "out of memory");
  }
  link_allocation(block);
  void *pointer = &block->align;
  memset(pointer, 0, size);
  return pointer;
}

void *lb_gen_realloc(void *pointer, size_t size) {
  if (!pointer) {
    return lb_gen_alloc(size);
  }
  allocation *block = header_of(pointer);
  unlink_allocation(block);
  allocation *grown = realloc(block, offsetof(allocation, align) + size);
  if (!grown) {
    link_allocation(block);
    lb_gen_fail(LB_GEN_EXIT_INPUT, "out of memory");
  }
  link_allocation(grown);
  return &grown->align;
}

void lb_gen_free(void *pointer) {
  if (!pointer) {
    return;
  }
  allocation *block = header_of(pointer);
  unlink_allocation(block);
  free(block);
}

char *lb_gen_strndup(const char *text, size_t length) {
  char *copy = lb_gen_alloc(length + 1);
  memcpy(copy, text, length);
  copy[length] = '\0';
  return copy;
}

char *lb_gen_strdup(const char *text) { return lb_gen_strndup(text, strlen(text)); }

char *lb_gen_vformat(const char *format, va_list args) {
  va_list again;
  va_copy(again, args);
  int length = vsnprintf(NULL, 0, format, args);
  char *text = lb_gen_alloc((size_t)length + 1);
  vsnprintf(text, (size_t)length + 1, format, again);
  va_end(again);
  return text;
}

char *lb_gen_format(const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *text = lb_gen_vformat(format, args);
  va_end(args);
  return text;
}

char *lb_gen_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *message = lb_gen_vformat(format, args);
  va_end(args);
  char *error = lb_gen_format("lowbit-gen: error: %s", message);
  lb_gen_free(message);
  return error;
}

char *lb_gen_error_at(const char *file, int line, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *message = lb_gen_vformat(format, args);
  va_end(args);
  char *error = lb_gen_format("%s:%d: error: %s", file, line, message);
  lb_gen_free(message);
  return error;
}

void lb_gen_exit_with(int status, const char *error) {
  fprintf(stderr, "%s\n", error);
  exit(status);
}

char *lb_gen_check_text(const char *path, const char *text, size_t length) {
  int line = 1;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') {
      line++;
    } else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      return lb_gen_error_at(path, line, "byte 0x%02x is not text", c);
    }
  }
  return NULL;
}

static const char *needed_by;

const char *lb_gen_set_needed_by(const char *where) {
  const char *previous = needed_by;
  needed_by = where;
  return previous;
}

static _Noreturn void end_failure(int status) {
  if (needed_by) {
    fprintf(stderr, " (needed by %s)", needed_by);
  }
  fputc('\n', stderr);
  exit(status);
}

void lb_gen_fail(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("lowbit-gen: error: ", stderr);
  vfprintf(stderr, format, args);
  va_end(args);
  end_failure(status);
}

void lb_gen_fail_at(int status, const char *file, int line, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s:%d: error: ", file, line);
  vfprintf(stderr, format, args);
  va_end(args);
  end_failure(status);
}

void lb_gen_buf_append(lb_gen_buf *buf, const char *text, size_t length) {
  if (buf->length + length + 1 > buf->capacity) {
    size_t capacity = buf->capacity ? buf->capacity : 256;
    while (capacity < buf->length + length + 1) {
      capacity *= 2;
    }
    buf->data = lb_gen_realloc(buf->data, capacity);
    buf->capacity = capacity;
  }
  memcpy(buf->data + buf->length, text, length);
  buf->length += length;
  buf->data[buf->length] = '\0';
}

void lb_gen_buf_puts(lb_gen_buf *buf, const char *text) {
  lb_gen_buf_append(buf, text, strlen(text));
}

void lb_gen_buf_printf(lb_gen_buf *buf, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *text = lb_gen_vformat(format, args);
  va_end(args);
  lb_gen_buf_puts(buf, text);
  lb_gen_free(text);
}

char *lb_gen_read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    return NULL;
  }
  lb_gen_buf buf = {0};
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
    lb_gen_buf_append(&buf, chunk, got);
  }
  int failed = ferror(file);
  fclose(file);
  if (failed) {
    lb_gen_free(buf.data);
    return NULL;
  }
  if (!buf.data) {
    lb_gen_buf_append(&buf, "", 0);
  }
  if (length) {
    *length = buf.length;
  }
  return buf.data;
}

void lb_gen_strings_push(lb_gen_strings *list, const char *text) {
  list->items = lb_gen_realloc(list->items, (list->count + 1) * sizeof *list->items);
  list->items[list->count++] = lb_gen_strdup(text);
}

void lb_gen_strings_split(lb_gen_strings *list, const char *text) {
  while (*text) {
    while (*text == ' ' || *text == '\t') {
      text++;
    }
    const char *start = text;
    while (*text && *text != ' ' && *text != '\t') {
      text++;
    }
    if (text > start) {
      char *word = lb_gen_strndup(start, (size_t)(text - start));
      lb_gen_strings_push(list, word);
      lb_gen_free(word);
    }
  }
}

int lb_gen_strings_contains(const lb_gen_strings *list, const char *text) {
  for (size_t i = 0; i < list->count; i++) {
    if (strcmp(list->items[i], text) == 0) {
      return 1;
    }
  }
  return 0;
}
