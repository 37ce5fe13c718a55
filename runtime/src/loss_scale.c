/* Static and dynamic loss scaling with a rising minimum (docs/design.md, section 19). */
#include "lowbit/update.h"

enum { MIN_LOG2 = -126, MAX_LOG2 = 127 };

static int log2_is_valid(int e) { return e >= MIN_LOG2 && e <= MAX_LOG2; }

lb_status lb_loss_scale_init(lb_loss_scale *state, const lb_loss_scale_config *c) {
  if (state == NULL || c == NULL || !log2_is_valid(c->log2_scale)) {
    return LB_INVALID_ARGUMENT;
  }
  if (c->mode == LB_LOSS_SCALE_DYNAMIC) {
    if (!log2_is_valid(c->max_log2) || !log2_is_valid(c->min_log2) ||
        !log2_is_valid(c->floor_cap_log2) || c->min_log2 > c->log2_scale ||
        c->log2_scale > c->max_log2 || c->growth_interval == 0 || c->min_log2 > c->floor_cap_log2 ||
        c->floor_cap_log2 > c->max_log2 ||
        (c->floor_interval > 0 && (c->floor_step == 0 || c->floor_step > 253))) {
      return LB_INVALID_ARGUMENT;
    }
  } else if (c->mode != LB_LOSS_SCALE_STATIC) {
    return LB_INVALID_ARGUMENT;
  }
  *state = (lb_loss_scale){.config = *c, .log2_scale = c->log2_scale, .min_log2 = c->min_log2};
  return LB_OK;
}

lb_status lb_loss_scale_update(lb_loss_scale *state, int clean, int *apply) {
  if (state == NULL || apply == NULL || (clean != 0 && clean != 1)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_loss_scale_config *c = &state->config;
  const int dynamic = c->mode == LB_LOSS_SCALE_DYNAMIC;
  state->step++;
  *apply = clean;
  if (clean) {
    state->clean_steps++;
    if (dynamic && state->clean_steps == c->growth_interval) {
      state->log2_scale += state->log2_scale < c->max_log2;
      state->clean_steps = 0;
    }
  } else {
    state->skipped++;
    state->clean_steps = 0;
    if (dynamic) {
      state->log2_scale -= state->log2_scale > state->min_log2;
    }
  }
  if (dynamic && c->floor_interval > 0 && state->step % c->floor_interval == 0) {
    /* floor_step <= 253 and both bounds in -126..127: no overflow. */
    const int raised = state->min_log2 + (int)c->floor_step;
    state->min_log2 = raised < c->floor_cap_log2 ? raised : c->floor_cap_log2;
    state->log2_scale = state->log2_scale > state->min_log2 ? state->log2_scale : state->min_log2;
  }
  return LB_OK;
}

float lb_loss_scale_value(const lb_loss_scale *state) {
  if (state == NULL) {
    return 0.0f;
  }
  float scale = 1.0f;
  for (int i = 0; i < state->log2_scale; i++) {
    scale *= 2.0f;
  }
  for (int i = 0; i > state->log2_scale; i--) {
    scale *= 0.5f;
  }
  return scale;
}
