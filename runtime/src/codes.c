/* Operand values to codes: the offset and shift that bring a value range into a code format. */
#include <string.h>

#include "codes.h"

int lb_operand_is_valid(lb_operand op) {
  if (op.bits < 1 || op.bits > LB_MAX_BITS) {
    return 0;
  }
  switch (op.encoding) {
  case LB_UNSIGNED:
  case LB_SIGNED: return 1;
  case LB_BIPOLAR: return op.bits == 1;
  }
  return 0;
}

unsigned lb_operand_planes(lb_operand op) { return op.encoding == LB_BIPOLAR ? 1 : op.bits; }

static int64_t lb_operand_min(lb_operand op) {
  switch (op.encoding) {
  case LB_SIGNED: return -((int64_t)1 << (op.bits - 1));
  case LB_BIPOLAR: return -1;
  case LB_UNSIGNED: break;
  }
  return 0;
}

static int64_t lb_operand_max(lb_operand op) {
  switch (op.encoding) {
  case LB_SIGNED: return ((int64_t)1 << (op.bits - 1)) - 1;
  case LB_BIPOLAR: return 1;
  case LB_UNSIGNED: break;
  }
  return ((int64_t)1 << op.bits) - 1;
}

/* The shift is 1 only for bipolar values, where v - offset is 0 or 2: never a negative shift. */
static void lb_codes_set_range(lb_operand op, int64_t offset, unsigned shift,
                               lb_operand_codes *codes) {
  codes->offset = (int32_t)offset;
  codes->shift = shift;
  codes->min_code = (lb_operand_min(op) - offset) >> shift;
  codes->max_code = (lb_operand_max(op) - offset) >> shift;
}

/* A plane p of a code is bit p of its two's complement; a signed code's top bit weighs negative. */
static void lb_codes_set_planes(lb_operand op, lb_operand_codes *codes) {
  codes->planes = lb_operand_planes(op);
  for (unsigned p = 0; p < codes->planes; p++) {
    codes->plane_weight[p] = (int64_t)1 << p;
  }
  if (op.encoding == LB_SIGNED) {
    codes->plane_weight[codes->planes - 1] = -codes->plane_weight[codes->planes - 1];
  }
}

/* Signed code formats: values as they are when they fit, else centred by an offset (unsigned
 * 8-bit in int8 gets offset 128). */
static int lb_codes_centre(lb_operand op, unsigned format_bits, lb_operand_codes *codes) {
  const int64_t lowest = -((int64_t)1 << (format_bits - 1));
  const int64_t highest = ((int64_t)1 << (format_bits - 1)) - 1;
  const int64_t min = lb_operand_min(op), max = lb_operand_max(op);
  if (min >= lowest && max <= highest) {
    lb_codes_set_range(op, 0, 0, codes);
    return 1;
  }
  if (max - min > highest - lowest) {
    return 0;
  }
  lb_codes_set_range(op, min - lowest, 0, codes);
  return 1;
}

int lb_operand_codes_for(int format, lb_operand op, lb_operand_codes *codes) {
  memset(codes, 0, sizeof *codes);
  switch (format) {
  case LB_CODE_BITPLANES:
    if (op.encoding == LB_BIPOLAR) {
      lb_codes_set_range(op, -1, 1, codes);
    } else {
      lb_codes_set_range(op, 0, 0, codes);
    }
    lb_codes_set_planes(op, codes);
    return 1;
  case LB_CODE_U8:
    if (op.encoding == LB_BIPOLAR) {
      lb_codes_set_range(op, -1, 1, codes);
    } else {
      lb_codes_set_range(op, lb_operand_min(op), 0, codes);
    }
    return codes->max_code <= UINT8_MAX;
  case LB_CODE_S8: return lb_codes_centre(op, 8, codes);
  case LB_CODE_S16: return lb_codes_centre(op, 16, codes);
  }
  return 0;
}

uint64_t lb_codes_max_abs(const lb_operand_codes *codes) {
  const uint64_t low = (uint64_t)(codes->min_code < 0 ? -codes->min_code : codes->min_code);
  const uint64_t high = (uint64_t)(codes->max_code < 0 ? -codes->max_code : codes->max_code);
  return low > high ? low : high;
}
