/* What the conv2d and dense tests share: the tally they print, output buffers with a guard, the
 * comparison of an operator's output (sums, requantized codes or float) with the reference sums,
 * the requantization scenarios both operators run, and the two-thread run. */
#ifndef LOWBIT_TEST_OPERATOR_CHECK_H
#define LOWBIT_TEST_OPERATOR_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/operators.h"
#include "operands.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lb_test_tally {
  size_t passed, failed;
} lb_test_tally;

void lb_test_record(lb_test_tally *t, int ok);
/* Prints "N passed, M failed" (scripts/count-cases.sh reads it); the exit status of the test. */
int lb_test_finish(const lb_test_tally *t);

/* 1 when K * max|a| * max|w| exceeds INT32_MAX: then the sums must be int64, whatever the runtime
 * says. Worked out from the encodings, not from the runtime's bound. */
int lb_test_sums_need_int64(lb_operand a, lb_operand w, size_t k);

/* Bytes of one output element: the sum type, the requantized operand's element, or a float. */
size_t lb_test_output_bytes(lb_output_kind kind, lb_out_type sums, const lb_requantize *rq);

/* count elements of `bytes` and a guard after them, every byte LB_TEST_SENTINEL; free() it. */
#define LB_TEST_SENTINEL 0xa5
void *lb_test_output_alloc(size_t count, size_t bytes);
/* 1 when the guard after count elements still holds the sentinel. */
int lb_test_guard_intact(const void *buffer, size_t count, size_t bytes);
/* 1 when every byte of the n bytes is the sentinel. */
int lb_test_untouched(const void *buffer, size_t n);

/* What an operator was asked to write. */
typedef struct lb_test_output {
  lb_output_kind kind;
  lb_out_type sums;                 /* the type of the exact sums */
  const lb_requantize *requantize;  /* LB_OUTPUT_CODES */
  const lb_float_output *float_out; /* LB_OUTPUT_FLOAT */
} lb_test_output;

/* 1 when each of rows x out_c outputs equals what the reference sums give (float: within the
 * tolerance of lb_ref_float_close); else prints `what` and the first difference. */
int lb_test_compare(const lb_test_output *out, size_t rows, size_t out_c, const int64_t *sums,
                    const void *got, const char *what);

/* The expected output bytes of the reference sums; free() it. NULL when out of memory. */
void *lb_test_expected(const lb_test_output *out, size_t rows, size_t out_c, const int64_t *sums);

/* Requantization scenarios, per channel, for sums of about 2^sum_bits in magnitude. */
#define LB_TEST_MAX_CHANNELS 16
typedef struct lb_test_requant_case {
  const char *name;
  lb_requantize rq; /* points into the arrays below: fill in place, never copy */
  int32_t multiplier[LB_TEST_MAX_CHANNELS];
  int8_t shift[LB_TEST_MAX_CHANNELS];
  int32_t bias[LB_TEST_MAX_CHANNELS];
  int need_ties;  /* the data must put sums exactly on .5, of both signs */
  int need_clamp; /* the data must reach both clamp ends */
} lb_test_requant_case;

#define LB_TEST_REQUANT_CASES 7
/* Fills cases[0 .. LB_TEST_REQUANT_CASES): ties, bias and zero point, saturation, ReLU6, 16-bit,
 * a narrow 12-bit clamp, 1-bit; out_c <= LB_TEST_MAX_CHANNELS. Ties need small sums
 * (sum_bits <= 12); they are skipped (need_ties 0, still run) above that. */
void lb_test_requant_cases(lb_test_requant_case *cases, size_t out_c, unsigned sum_bits,
                           uint64_t *rng);

/* 1 when the reference sums reach what the case needs (ties, clamp ends), so that a test never
 * claims a coverage its data did not give; else prints why. */
int lb_test_requant_covered(const lb_test_requant_case *c, size_t rows, size_t out_c,
                            const int64_t *sums);

/* Float output scales of about 2^-sum_bits, per channel, and biases. */
typedef struct lb_test_float_case {
  lb_float_output fo; /* points into the arrays below */
  float scale[LB_TEST_MAX_CHANNELS];
  float bias[LB_TEST_MAX_CHANNELS];
} lb_test_float_case;
void lb_test_float_case_fill(lb_test_float_case *c, size_t out_c, unsigned sum_bits, int with_bias,
                             uint64_t *rng);

/* Runs `run` from two threads at once, `iterations` times each, thread t on input[t] into
 * output[t]; every run must return LB_OK and give expected[t] (bytes bytes). 1 when all did. */
typedef lb_status (*lb_test_run_fn)(const void *op, const void *input, void *output);
int lb_test_two_threads(lb_test_run_fn run, const void *op, const void *const input[2],
                        void *const output[2], const void *const expected[2], size_t bytes,
                        int iterations);

#ifdef __cplusplus
}
#endif

#endif
