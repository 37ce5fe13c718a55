#include "quantize.h"

#include <math.h>
#include <string.h>

int32_t lb_test_quantize(float x, float scale, int32_t zero_point, lb_operand op) {
  if (op.encoding == LB_BIPOLAR) {
    return isnan(x) || x >= 0.0f ? 1 : -1;
  }
  const int32_t min = (int32_t)lb_test_min_value(op), max = (int32_t)lb_test_max_value(op);
  const float t = isnan(x) ? 0.0f : x / scale;
  const float low = (float)(min - zero_point), high = (float)(max - zero_point);
  const int32_t v = (int32_t)rintf(t < low ? low : t > high ? high : t) + zero_point;
  return v < min ? min : v > max ? max : v;
}

float lb_test_random_float(float scale, int32_t zero_point, lb_operand op, uint64_t *rng) {
  const uint64_t r = lb_test_random(rng);
  const int64_t min = lb_test_min_value(op), max = lb_test_max_value(op);
  const float steps = (float)((int64_t)(r % (uint64_t)(max - min + 5)) + min - 2 - zero_point);
  switch ((r >> 32) % 4) {
  case 0: return (steps + 0.5f) * scale;
  case 1: return steps * scale;
  case 2: return (r >> 40) % 64 == 0 ? NAN : (steps + (float)((r >> 20) % 1000) / 1000.0f) * scale;
  default: return (steps - 0.5f) * scale;
  }
}

void lb_test_store_value(void *elements, size_t i, int32_t v, lb_operand op) {
  if (lb_test_elem_bytes(op) == 1) {
    ((unsigned char *)elements)[i] = (unsigned char)v;
  } else {
    const uint16_t bits = (uint16_t)v;
    memcpy((unsigned char *)elements + 2 * i, &bits, sizeof bits);
  }
}
