/* libFuzzer harness of lowbit-train's config reader (runtime/train/cli/config.c). A config that
 * parses is checked, and its canonical text must parse again into the same text; an input with a
 * NUL byte goes through the file reader, which must refuse it naming the file and line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lbt_config config, again;
  char err[1024] = "";
  if (memchr(data, '\0', size)) {
    const char *path = lb_fuzz_path("fuzz.cfg");
    lb_fuzz_write(path, data, size, 0);
    lbt_config_defaults(&config);
    if (lbt_config_load(&config, path, err, sizeof err) || !strstr(err, "fuzz.cfg:")) {
      abort();
    }
    return 0;
  }
  char *text = malloc(size + 1);
  if (!text) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  lbt_config_defaults(&config);
  if (lbt_config_parse(&config, text, "fuzz.cfg", err, sizeof err)) {
    (void)lbt_config_check(&config, "fuzz.cfg", err, sizeof err);
    char *canonical = lbt_config_text(&config);
    if (canonical) {
      lbt_config_defaults(&again);
      if (!lbt_config_parse(&again, canonical, "canonical", err, sizeof err)) {
        abort();
      }
      char *twice = lbt_config_text(&again);
      if (twice && strcmp(canonical, twice) != 0) {
        abort();
      }
      free(twice);
    }
    free(canonical);
  } else if (strncmp(err, "fuzz.cfg:", 9) != 0) {
    abort();
  }
  free(text);
  return 0;
}
