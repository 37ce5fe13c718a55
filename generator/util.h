/* Shared services of lowbit-gen: failing with a one-line message, tracked memory, growable
 * text buffers and whole-file reads. */
#ifndef LB_GEN_UTIL_H
#define LB_GEN_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Exit statuses: a generated file that does not check clean (libclang or template error), and
 * bad input (arguments, spec, target, missing template, unwritable output). */
enum { LB_GEN_EXIT_CHECK = 1, LB_GEN_EXIT_INPUT = 2 };

/* Prints "lowbit-gen: error: <message>" and exits with status. */
_Noreturn void lb_gen_fail(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "<file>:<line>: error: <message>" and exits with status. */
_Noreturn void lb_gen_fail_at(int status, const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
/* What input the program is working for (a spec or database line), which lb_gen_fail and
 * lb_gen_fail_at add to their message as " (needed by <where>)"; NULL for none. Returns the one
 * it replaces. */
const char *lb_gen_set_needed_by(const char *where);

/* A reader's error as one line without a newline, "lowbit-gen: error: <message>" or
 * "<file>:<line>: error: <message>": readers return it so that a caller other than the command
 * line (the fuzzers, tests/fuzz/) survives bad input; lb_gen_exit_with prints it and exits. */
char *lb_gen_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
char *lb_gen_error_at(const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void lb_gen_exit_with(int status, const char *error);
/* NULL when text (length bytes) is text, else the error at the line of its first byte that is
 * neither printable nor a tab, CR or newline: a NUL would silently end the line it is on. Bytes
 * from 0x80 up pass (UTF-8 in comments). */
char *lb_gen_check_text(const char *path, const char *text, size_t length);

/* Every allocation is tracked and released at exit, so that a sanitized build of the generator
 * reports no leaks whichever path ends the program. Out of memory ends the program. */
void *lb_gen_alloc(size_t size);
void *lb_gen_realloc(void *pointer, size_t size);
void lb_gen_free(void *pointer);
/* Releases every tracked allocation, as the end of the program does (a fuzzer, after each input).
 */
void lb_gen_free_all(void);
char *lb_gen_strdup(const char *text);
char *lb_gen_strndup(const char *text, size_t length);
char *lb_gen_format(const char *format, ...) __attribute__((format(printf, 1, 2)));
char *lb_gen_vformat(const char *format, va_list args);

typedef struct lb_gen_buf {
  char *data; /* always NUL-terminated */
  size_t length;
  size_t capacity;
} lb_gen_buf;

void lb_gen_buf_append(lb_gen_buf *buf, const char *text, size_t length);
void lb_gen_buf_puts(lb_gen_buf *buf, const char *text);
void lb_gen_buf_printf(lb_gen_buf *buf, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The file's content, or NULL when it cannot be read. */
char *lb_gen_read_file(const char *path, size_t *length);

/* A growable array of strings. */
typedef struct lb_gen_strings {
  char **items;
  size_t count;
} lb_gen_strings;

void lb_gen_strings_push(lb_gen_strings *list, const char *text);
/* Splits on blanks and appends the words. */
void lb_gen_strings_split(lb_gen_strings *list, const char *text);
int lb_gen_strings_contains(const lb_gen_strings *list, const char *text);

#endif
