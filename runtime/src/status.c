/* Messages for lb_status values. */
#include "lowbit/lowbit.h"

const char *lb_status_string(lb_status status) {
  switch (status) {
  case LB_OK: return "success";
  case LB_INVALID_ARGUMENT:
    return "invalid argument: bits outside 1..16, bipolar with more than 1 bit, a zero size, a "
           "NULL pointer, a row stride below the row length or a result too large for int64";
  case LB_NO_KERNEL: return "no kernel built into liblowbit runs this configuration on this CPU";
  case LB_OUT_OF_MEMORY: return "out of memory for the packed operands";
  case LB_BAD_GRADIENT:
    return "a gradient or optimizer state is NaN, infinite or beyond the range of the update: "
           "nothing was written";
  }
  return "unknown lb_status value";
}
