/* Precision schedules and the BitOPs counter (lowbit/train.h, REFERENCE.md section 6). */
#pragma STDC FP_CONTRACT OFF

#include <math.h>

#include "lowbit/train.h"
#include "train_math.h"

unsigned lb_schedule_fw_bits(const lb_precision_schedule *schedule, uint64_t t) {
  if (!schedule || schedule->kind != LB_SCHEDULE_CYCLIC) {
    return 0;
  }
  const lb_precision_schedule *s = schedule;
  if (s->fw_min < 2 || s->fw_min > s->fw_max || s->fw_max > 16 || s->cycles == 0 ||
      s->total_steps == 0) {
    return 0;
  }
  uint64_t period = s->total_steps / s->cycles;
  if (period == 0) {
    period = 1;
  }
  /* cos(pi u + pi) = -cos(pi u), u = (t mod P) / P */
  double u = (double)(t % period) / (double)period;
  double c = -lb_train_cospi(u);
  double b = (double)s->fw_min + (double)(s->fw_max - s->fw_min) * (1.0 + c) / 2.0;
  return (unsigned)floor(b + 0.5);
}

void lb_bitops_add(lb_bitops_counter *counter, double macs, unsigned fw_bits, unsigned bw_bits) {
  if (!counter) {
    return;
  }
  double fw = fw_bits, bw = bw_bits;
  counter->macs += macs;
  counter->bitops += macs * (fw * fw + 2.0 * fw * bw);
}

double lb_bitops_relative(const lb_bitops_counter *counter, unsigned fw_bits, unsigned bw_bits) {
  if (!counter || counter->macs == 0) {
    return 0;
  }
  double fw = fw_bits, bw = bw_bits;
  return counter->bitops / (counter->macs * (fw * fw + 2.0 * fw * bw));
}
