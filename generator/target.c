#include "target.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *strip(char *text) {
  while (*text == ' ' || *text == '\t') {
    text++;
  }
  size_t length = strlen(text);
  while (length > 0 && strchr(" \t\r", text[length - 1])) {
    text[--length] = '\0';
  }
  return text;
}

/* NULL, or the error of the line. */
static char *set_key(lb_gen_target *target, const char *path, int line, const char *key,
                     const char *value) {
  if (strcmp(key, "name") == 0) {
    target->name = lb_gen_strdup(value);
  } else if (strcmp(key, "triple") == 0) {
    target->triple = lb_gen_strdup(value);
  } else if (strcmp(key, "cpus") == 0) {
    lb_gen_strings_split(&target->cpus, value);
  } else if (strcmp(key, "cflags") == 0) {
    lb_gen_strings_split(&target->cflags, value);
  } else if (strcmp(key, "isas") == 0) {
    lb_gen_strings_split(&target->isas, value);
  } else if (strncmp(key, "cflags.", 7) == 0 && key[7]) {
    size_t index = target->isa_flag_names.count;
    lb_gen_strings_push(&target->isa_flag_names, key + 7);
    target->isa_flags = lb_gen_realloc(target->isa_flags, (index + 1) * sizeof *target->isa_flags);
    memset(&target->isa_flags[index], 0, sizeof target->isa_flags[index]);
    lb_gen_strings_split(&target->isa_flags[index], value);
  } else if (strcmp(key, "arch") == 0) {
    target->arch = lb_gen_strdup(value);
  } else if (strncmp(key, "vregs.", 6) == 0 && key[6]) {
    char *end;
    unsigned long count = strtoul(value, &end, 10);
    if (!*value || *end || count < 1 || count > 64) {
      return lb_gen_error_at(path, line, "%s must be a register count in 1..64", key);
    }
    size_t index = target->vreg_isas.count;
    lb_gen_strings_push(&target->vreg_isas, key + 6);
    target->vregs = lb_gen_realloc(target->vregs, (index + 1) * sizeof *target->vregs);
    target->vregs[index] = (unsigned)count;
  } else if (strcmp(key, "qemu") == 0) {
    target->qemu = lb_gen_strdup(value);
  } else if (strcmp(key, "toolchain") == 0) {
    target->toolchain = lb_gen_strdup(value);
  } else {
    return lb_gen_error_at(path, line, "unknown key '%s' in target description", key);
  }
  return NULL;
}

static char *parse_lines(lb_gen_target *target, const char *path, char *content) {
  int line = 0;
  for (char *text = content; text;) {
    char *end = strchr(text, '\n');
    if (end) {
      *end = '\0';
    }
    line++;
    char *hash = strchr(text, '#');
    if (hash) {
      *hash = '\0';
    }
    char *body = strip(text);
    if (*body) {
      char *equals = strchr(body, '=');
      if (!equals) {
        return lb_gen_error_at(path, line, "expected 'key = value'");
      }
      *equals = '\0';
      char *error = set_key(target, path, line, strip(body), strip(equals + 1));
      if (error) {
        return error;
      }
    }
    text = end ? end + 1 : NULL;
  }
  return NULL;
}

static char *check_keys(const lb_gen_target *target, const char *path, const char *name) {
  if (!target->name || strcmp(target->name, name) != 0) {
    return lb_gen_error("%s: 'name' must be %s", path, name);
  }
  if (!target->triple || !*target->triple) {
    return lb_gen_error("%s: 'triple' is missing", path);
  }
  if (target->cpus.count == 0) {
    return lb_gen_error("%s: 'cpus' is missing", path);
  }
  if (target->isas.count == 0) {
    return lb_gen_error("%s: 'isas' is missing", path);
  }
  if (!target->arch || !*target->arch) {
    return lb_gen_error("%s: 'arch' is missing", path);
  }
  return NULL;
}

char *lb_gen_target_parse(const char *path, const char *name, const char *text, size_t length,
                          lb_gen_target **target) {
  *target = lb_gen_alloc(sizeof **target);
  char *error = lb_gen_check_text(path, text, length);
  if (!error) {
    char *content = lb_gen_strndup(text, length);
    error = parse_lines(*target, path, content);
    lb_gen_free(content);
  }
  return error ? error : check_keys(*target, path, name);
}

lb_gen_target *lb_gen_target_load(const char *dir, const char *name) {
  char *path = lb_gen_format("%s/%s.target", dir, name);
  size_t length;
  char *content = strchr(name, '/') ? NULL : lb_gen_read_file(path, &length);
  if (!content) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "unknown target '%s' (no %s; see --list-targets)", name, path);
  }
  lb_gen_target *target;
  char *error = lb_gen_target_parse(path, name, content, length, &target);
  if (error) {
    lb_gen_exit_with(LB_GEN_EXIT_INPUT, error);
  }
  lb_gen_free(content);
  lb_gen_free(path);
  return target;
}

const lb_gen_strings *lb_gen_target_isa_flags(const lb_gen_target *target, const char *isa) {
  static const lb_gen_strings none = {NULL, 0};
  for (size_t i = 0; i < target->isa_flag_names.count; i++) {
    if (strcmp(target->isa_flag_names.items[i], isa) == 0) {
      return &target->isa_flags[i];
    }
  }
  return &none;
}

unsigned lb_gen_target_vregs(const lb_gen_target *target, const char *isa) {
  for (size_t i = 0; i < target->vreg_isas.count; i++) {
    if (strcmp(target->vreg_isas.items[i], isa) == 0) {
      return target->vregs[i];
    }
  }
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_words(const lb_gen_strings *words) {
  for (size_t i = 0; i < words->count; i++) {
    printf("%s%s", i ? " " : "", words->items[i]);
  }
}

void lb_gen_target_list(const char *dir) {
  DIR *folder = opendir(dir);
  if (!folder) {
    lb_gen_fail(LB_GEN_EXIT_INPUT, "cannot read the targets folder %s", dir);
  }
  lb_gen_strings names = {0};
  const struct dirent *entry;
  while ((entry = readdir(folder))) {
    size_t length = strlen(entry->d_name);
    if (length > 7 && strcmp(entry->d_name + length - 7, ".target") == 0) {
      char *name = lb_gen_strndup(entry->d_name, length - 7);
      lb_gen_strings_push(&names, name);
      lb_gen_free(name);
    }
  }
  closedir(folder);
  qsort(names.items, names.count, sizeof *names.items, compare_names);
  for (size_t i = 0; i < names.count; i++) {
    const lb_gen_target *target = lb_gen_target_load(dir, names.items[i]);
    printf("%s\t%s\tcpus: ", target->name, target->triple);
    print_words(&target->cpus);
    printf("\tisas: ");
    print_words(&target->isas);
    printf("\n");
  }
}
