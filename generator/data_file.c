#include "data_file.h"

#include <ctype.h>
#include <string.h>

char *lb_gen_data_file_parse(const lb_gen_text_file *text, lb_gen_data_file *file) {
  *file = (lb_gen_data_file){lb_gen_strdup(text->path), NULL, 0, 0};
  char *error = lb_gen_check_text(text->path, text->text, text->length);
  if (error) {
    return error;
  }
  char *content = lb_gen_strndup(text->text, text->length);
  int number = 0;
  for (char *at = content; at;) {
    char *end = strchr(at, '\n');
    if (end) {
      *end = '\0';
    }
    number++;
    char *cut = strpbrk(at, "#\r");
    if (cut) {
      *cut = '\0';
    }
    lb_gen_strings words = {0};
    lb_gen_strings_split(&words, at);
    if (words.count) {
      file->lines = lb_gen_realloc(file->lines, (file->count + 1) * sizeof *file->lines);
      file->lines[file->count++] = (lb_gen_data_line){number, words};
    }
    at = end ? end + 1 : NULL;
  }
  file->end_line = number;
  lb_gen_free(content);
  return NULL;
}

char *lb_gen_data_value_of(const lb_gen_data_file *file, int line, char *word, const char **value) {
  char *equals = strchr(word, '=');
  if (!equals || equals == word || !equals[1]) {
    return lb_gen_error_at(file->path, line, "expected key=value, not '%s'", word);
  }
  *equals = '\0';
  *value = equals + 1;
  return NULL;
}

char *lb_gen_data_keys(const lb_gen_data_file *file, const lb_gen_data_line *line,
                       const char *const *names, size_t count, const char *known,
                       const char **values) {
  for (size_t k = 0; k < count; k++) {
    values[k] = NULL;
  }
  for (size_t w = 1; w < line->words.count; w++) {
    char *key = line->words.items[w];
    const char *value = NULL;
    char *error = lb_gen_data_value_of(file, line->number, key, &value);
    if (error) {
      return error;
    }
    size_t k = 0;
    while (k < count && strcmp(key, names[k]) != 0) {
      k++;
    }
    if (k == count) {
      return lb_gen_error_at(file->path, line->number, "unknown key '%s' (%s)", key, known);
    }
    if (values[k]) {
      return lb_gen_error_at(file->path, line->number, "%s= is given twice", key);
    }
    values[k] = value;
  }
  return NULL;
}

char *lb_gen_data_cpu_of(const lb_gen_data_file *file, const lb_gen_data_line *line,
                         const char **cpu) {
  char *word = line->words.items[0];
  char *error = lb_gen_data_value_of(file, line->number, word, cpu);
  if (error) {
    return error;
  }
  if (strcmp(word, "cpu") != 0) {
    return lb_gen_error_at(file->path, line->number,
                           "a line starts with cpu=<micro-architecture|default>, not %s=", word);
  }
  int plain = strlen(*cpu) <= LB_GEN_MAX_CPU_NAME;
  for (const char *c = *cpu; *c; c++) {
    if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && !strchr("-_.", *c)) {
      plain = 0;
    }
  }
  if (!plain) {
    return lb_gen_error_at(
        file->path, line->number,
        "cpu=%s: expected at most %d lower-case letters, digits, '-', '_' or '.'", *cpu,
        LB_GEN_MAX_CPU_NAME);
  }
  return NULL;
}

int lb_gen_data_number(const char *text, int size_suffix, unsigned long long *value) {
  *value = 0;
  const char *c = text;
  for (; isdigit((unsigned char)*c); c++) {
    *value = *value * 10 + (unsigned long long)(*c - '0');
    if (*value >= LB_GEN_MAX_COUNT) {
      return 0;
    }
  }
  if (size_suffix && (*c == 'K' || *c == 'M')) {
    *value <<= *c == 'K' ? 10 : 20;
    c++;
  }
  return c > text && *c == '\0' && *value < LB_GEN_MAX_COUNT;
}
