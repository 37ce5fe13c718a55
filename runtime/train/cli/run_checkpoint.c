/* lowbit-train's checkpoints (run_checkpoint.h). */
#include "run_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_CONFIG "lowbit-train.config"
#define SECTION_EPOCH "lowbit-train.epoch"
#define SECTION_STATE "engine.state"

int lbt_checkpoint_save(const char *path, const char *config_text, const lb_train_model *model,
                        const lbt_epoch_sums *sums, char *err, size_t n) {
  size_t bytes = lb_train_model_state_bytes(model);
  void *state = malloc(bytes ? bytes : 1);
  if (!state) {
    snprintf(err, n, "%s: out of memory for the engine's state (%zu bytes)", path, bytes);
    return 0;
  }
  lb_train_model_save_state(model, state, bytes);
  lb_checkpoint_writer *w = NULL;
  lb_io_status s = lb_checkpoint_begin(path, &w, err, n);
  if (s == LB_IO_OK) {
    s = lb_checkpoint_add_section(w, SECTION_CONFIG, config_text, strlen(config_text), err, n);
  }
  if (s == LB_IO_OK) {
    s = lb_checkpoint_add_section(w, SECTION_EPOCH, sums, sizeof *sums, err, n);
  }
  if (s == LB_IO_OK) {
    s = lb_checkpoint_add_section(w, SECTION_STATE, state, bytes, err, n);
  }
  if (w) {
    /* commit removes the temporary file itself when an earlier section failed */
    lb_io_status c = lb_checkpoint_commit(w, s == LB_IO_OK ? err : NULL, n);
    s = s == LB_IO_OK ? c : s;
  }
  free(state);
  return s == LB_IO_OK;
}

int lbt_checkpoint_open_run(const char *path, lb_checkpoint_reader **reader, char **config_text,
                            char *err, size_t n) {
  *reader = NULL, *config_text = NULL;
  lb_checkpoint_reader *r = NULL;
  if (lb_checkpoint_open(path, &r, err, n) != LB_IO_OK) {
    return 0;
  }
  const void *data = NULL;
  size_t bytes = 0;
  if (lb_checkpoint_find(r, SECTION_CONFIG, &data, &bytes, err, n) != LB_IO_OK) {
    lb_checkpoint_close(r);
    return 0;
  }
  char *text = malloc(bytes + 1);
  if (!text) {
    snprintf(err, n, "%s: out of memory", path);
    lb_checkpoint_close(r);
    return 0;
  }
  if (bytes) {
    memcpy(text, data, bytes);
  }
  text[bytes] = '\0';
  if (strlen(text) != bytes) {
    snprintf(err, n, "%s: the config section holds a zero byte", path);
    free(text);
    lb_checkpoint_close(r);
    return 0;
  }
  *reader = r, *config_text = text;
  return 1;
}

int lbt_checkpoint_restore(const lb_checkpoint_reader *reader, const char *path,
                           lb_train_model *model, lbt_epoch_sums *sums, char *err, size_t n) {
  if (lb_checkpoint_read(reader, SECTION_EPOCH, sums, sizeof *sums, err, n) != LB_IO_OK) {
    return 0;
  }
  const void *data = NULL;
  size_t bytes = 0;
  if (lb_checkpoint_find(reader, SECTION_STATE, &data, &bytes, err, n) != LB_IO_OK) {
    return 0;
  }
  size_t need = lb_train_model_state_bytes(model);
  if (bytes != need || lb_train_model_load_state(model, data, bytes) != LB_OK) {
    snprintf(err, n, "%s: the engine state holds %zu bytes, its model needs %zu", path, bytes,
             need);
    return 0;
  }
  return 1;
}
