/* Requantization as gemmlowp defines it (a fixed-point multiplier and a shift per channel), but
 * exact for int64 sums too: the product of a 64-bit magnitude and a 31-bit multiplier needs 95
 * bits, which armv7 has no type for, so it is formed from 32-bit halves in two 64-bit words. */
#include "requantize.h"

#include "codes.h"

/* A 128-bit unsigned value as two 64-bit words. */
typedef struct lb_u128 {
  uint64_t high, low;
} lb_u128;

static lb_u128 lb_multiply_64x32(uint64_t x, uint32_t y) {
  const uint64_t low_product = (x & 0xffffffffu) * y; /* < 2^64 */
  const uint64_t high_product = (x >> 32) * y;        /* weighs 2^32 */
  lb_u128 product = {.high = high_product >> 32, .low = low_product + (high_product << 32)};
  product.high += product.low < low_product;
  return product;
}

/* round(value / 2^n), ties up, for 0 <= n < 128 and value < 2^127. */
static lb_u128 lb_shift_rounding(lb_u128 value, unsigned n) {
  if (n == 0) {
    return value;
  }
  const lb_u128 half =
      n <= 64 ? (lb_u128){0, (uint64_t)1 << (n - 1)} : (lb_u128){(uint64_t)1 << (n - 65), 0};
  const uint64_t low = value.low + half.low;
  value.high += half.high + (low < value.low);
  value.low = low;
  if (n >= 64) {
    return (lb_u128){0, value.high >> (n - 64)};
  }
  return (lb_u128){value.high >> n, value.low >> n | value.high << (64 - n)};
}

int64_t lb_requantize_scale(int64_t sum, int32_t multiplier, int shift) {
  const unsigned n = (unsigned)(31 + shift);
  /* |sum| * multiplier < 2^63 * 2^31 = 2^94: from 95 bits of shift on, every result rounds to 0. */
  if (n >= 95) {
    return 0;
  }
  const uint64_t magnitude = sum < 0 ? (uint64_t)0 - (uint64_t)sum : (uint64_t)sum;
  const lb_u128 rounded = lb_shift_rounding(lb_multiply_64x32(magnitude, (uint32_t)multiplier), n);
  const int64_t scaled = rounded.high != 0 || rounded.low > (uint64_t)LB_REQUANTIZE_SATURATION
                             ? LB_REQUANTIZE_SATURATION
                             : (int64_t)rounded.low;
  return sum < 0 ? -scaled : scaled;
}

int32_t lb_requantize_code(const lb_requantize *rq, size_t channel, int64_t sum) {
  int64_t value = lb_requantize_scale(sum, rq->multiplier[channel], rq->shift[channel]) +
                  (rq->bias != NULL ? rq->bias[channel] : 0) + rq->zero_point;
  if (rq->out.encoding == LB_BIPOLAR) {
    value = value >= 0 ? 1 : -1;
  }
  return (int32_t)(value < rq->clamp_min   ? rq->clamp_min
                   : value > rq->clamp_max ? rq->clamp_max
                                           : value);
}

static int lb_clamp_is_valid(const lb_requantize *rq) {
  const lb_operand out = rq->out;
  if (rq->clamp_min > rq->clamp_max) {
    return 0;
  }
  switch (out.encoding) {
  case LB_BIPOLAR:
    return (rq->clamp_min == -1 || rq->clamp_min == 1) &&
           (rq->clamp_max == -1 || rq->clamp_max == 1);
  case LB_SIGNED:
    return rq->clamp_min >= -((int32_t)1 << (out.bits - 1)) &&
           rq->clamp_max <= ((int32_t)1 << (out.bits - 1)) - 1;
  case LB_UNSIGNED: return rq->clamp_min >= 0 && rq->clamp_max <= ((int32_t)1 << out.bits) - 1;
  }
  return 0;
}

int lb_requantize_is_valid(const lb_requantize *rq, size_t out_c) {
  if (!lb_operand_is_valid(rq->out) || rq->multiplier == NULL || rq->shift == NULL ||
      !lb_clamp_is_valid(rq)) {
    return 0;
  }
  for (size_t oc = 0; oc < out_c; oc++) {
    if (rq->multiplier[oc] < ((int32_t)1 << 30) || rq->shift[oc] < -31) {
      return 0;
    }
  }
  return 1;
}
