#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include "operator_check.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_reference.h"

/* Guard elements after an output: enough for any write one tile too far. */
#define GUARD_ELEMENTS 64

void lb_test_record(lb_test_tally *t, int ok) {
  if (ok) {
    t->passed++;
  } else {
    t->failed++;
  }
}

int lb_test_finish(const lb_test_tally *t) {
  printf("%zu passed, %zu failed\n", t->passed, t->failed);
  return t->failed == 0 && t->passed > 0 ? 0 : 1;
}

static int64_t max_magnitude(lb_operand op) {
  const int64_t lo = -lb_test_min_value(op), hi = lb_test_max_value(op);
  return lo > hi ? lo : hi;
}

int lb_test_sums_need_int64(lb_operand a, lb_operand w, size_t k) {
  return (double)k * (double)max_magnitude(a) * (double)max_magnitude(w) > (double)INT32_MAX;
}

size_t lb_test_output_bytes(lb_output_kind kind, lb_out_type sums, const lb_requantize *rq) {
  switch (kind) {
  case LB_OUTPUT_SUMS: return sums == LB_OUT_INT32 ? sizeof(int32_t) : sizeof(int64_t);
  case LB_OUTPUT_CODES: return lb_test_elem_bytes(rq->out);
  case LB_OUTPUT_FLOAT: return sizeof(float);
  }
  return 0;
}

void *lb_test_output_alloc(size_t count, size_t bytes) {
  const size_t n = (count + GUARD_ELEMENTS) * bytes;
  void *buffer = malloc(n);
  if (buffer != NULL) {
    memset(buffer, LB_TEST_SENTINEL, n);
  }
  return buffer;
}

int lb_test_untouched(const void *buffer, size_t n) {
  const unsigned char *p = buffer;
  for (size_t i = 0; i < n; i++) {
    if (p[i] != LB_TEST_SENTINEL) {
      return 0;
    }
  }
  return 1;
}

int lb_test_guard_intact(const void *buffer, size_t count, size_t bytes) {
  return lb_test_untouched((const unsigned char *)buffer + count * bytes, GUARD_ELEMENTS * bytes);
}

static int64_t requantized(const lb_requantize *rq, int64_t sum, size_t oc) {
  return lb_ref_requantize(sum, rq->multiplier[oc], rq->shift[oc],
                           rq->bias != NULL ? rq->bias[oc] : 0, rq->zero_point, rq->clamp_min,
                           rq->clamp_max);
}

int lb_test_compare(const lb_test_output *out, size_t rows, size_t out_c, const int64_t *sums,
                    const void *got, const char *what) {
  const size_t count = rows * out_c;
  for (size_t i = 0; i < count; i++) {
    const size_t oc = i % out_c;
    int64_t value = 0, want = sums[i];
    switch (out->kind) {
    case LB_OUTPUT_SUMS:
      value = out->sums == LB_OUT_INT32 ? ((const int32_t *)got)[i] : ((const int64_t *)got)[i];
      break;
    case LB_OUTPUT_CODES:
      lb_test_decode(out->requantize->out, got, i, 1, &value);
      want = requantized(out->requantize, sums[i], oc);
      break;
    case LB_OUTPUT_FLOAT: {
      const float f = ((const float *)got)[i];
      const float bias = out->float_out->bias != NULL ? out->float_out->bias[oc] : 0.0f;
      if (!lb_ref_float_close(f, sums[i], out->float_out->scale[oc], bias)) {
        fprintf(stderr,
                "FAIL %s: output %zu (pixel %zu, channel %zu) is %.9g, expected %.9g (sum %" PRId64
                ")\n",
                what, i, i / out_c, oc, (double)f,
                lb_ref_float_output(sums[i], out->float_out->scale[oc], bias), sums[i]);
        return 0;
      }
      continue;
    }
    }
    if (value != want) {
      fprintf(stderr,
              "FAIL %s: output %zu (pixel %zu, channel %zu) is %" PRId64 ", expected %" PRId64
              " (sum %" PRId64 ")\n",
              what, i, i / out_c, oc, value, want, sums[i]);
      return 0;
    }
  }
  return 1;
}

void *lb_test_expected(const lb_test_output *out, size_t rows, size_t out_c, const int64_t *sums) {
  const size_t count = rows * out_c;
  const size_t bytes = lb_test_output_bytes(out->kind, out->sums, out->requantize);
  if (out->kind == LB_OUTPUT_FLOAT) {
    return NULL; /* a float output has a tolerance, not one expected byte pattern */
  }
  unsigned char *e = malloc(count * bytes);
  for (size_t i = 0; e != NULL && i < count; i++) {
    const int64_t v =
        out->kind == LB_OUTPUT_SUMS ? sums[i] : requantized(out->requantize, sums[i], i % out_c);
    switch (bytes) {
    case 1: e[i] = (unsigned char)v; break;
    case 2: ((uint16_t *)(void *)e)[i] = (uint16_t)v; break;
    case 4: ((int32_t *)(void *)e)[i] = (int32_t)v; break;
    default: ((int64_t *)(void *)e)[i] = v; break;
    }
  }
  return e;
}

static int64_t random_in(uint64_t *rng, int64_t lo, int64_t hi) {
  return lo + (int64_t)(lb_test_random(rng) % (uint64_t)(hi - lo + 1));
}

static int8_t shift_for(int shift) {
  return (int8_t)(shift < -31 ? -31 : shift > 127 ? 127 : shift);
}

/* One scenario: output operand and clamp, zero point, target size of the scaled sums in bits. */
typedef struct scenario {
  const char *name;
  lb_operand out;
  int32_t clamp_min, clamp_max, zero_point;
  int result_bits;    /* sums scaled to about 2^result_bits */
  int32_t bias_range; /* 0: bias NULL */
  int need_clamp;
} scenario;

static const scenario scenarios[LB_TEST_REQUANT_CASES - 1] = {
    {"bias and zero point", {8, LB_UNSIGNED}, 0, 255, 128, 6, 40, 0},
    {"saturation", {8, LB_SIGNED}, -128, 127, 0, 10, 0, 1},
    {"ReLU6", {4, LB_UNSIGNED}, 0, 6, 0, 3, 0, 1},
    {"16-bit", {16, LB_SIGNED}, -32768, 32767, -5, 13, 1000, 0},
    {"narrow 12-bit clamp", {12, LB_SIGNED}, -1000, 1500, 3, 11, 100, 1},
    {"1-bit", {1, LB_UNSIGNED}, 0, 1, 0, 0, 0, 1},
};

/* Multipliers and shifts that put many small sums exactly on .5: 0.5, 0.75 and 0.625 in Q31 with
 * shifts that divide by 1 to 8, and one negative shift (a left shift, never a tie). */
static const struct {
  int32_t multiplier;
  int shift;
} tie_scales[8] = {{1 << 30, 0}, {1 << 30, 1}, {3 << 29, 0}, {1 << 30, 2},
                   {5 << 28, 1}, {1 << 30, 3}, {3 << 29, 2}, {1 << 30, -1}};

void lb_test_requant_cases(lb_test_requant_case *cases, size_t out_c, unsigned sum_bits,
                           uint64_t *rng) {
  lb_test_requant_case *t = &cases[0];
  memset(t, 0, sizeof *t);
  t->name = "ties";
  t->rq = (lb_requantize){{16, LB_SIGNED}, t->multiplier, t->shift, NULL, 0, -32768, 32767};
  for (size_t c = 0; c < out_c; c++) {
    t->multiplier[c] = tie_scales[c % 8].multiplier;
    t->shift[c] = (int8_t)tie_scales[c % 8].shift;
  }
  t->need_ties = sum_bits <= 12;
  for (size_t s = 0; s < LB_TEST_REQUANT_CASES - 1; s++) {
    const scenario *sc = &scenarios[s];
    lb_test_requant_case *r = &cases[s + 1];
    memset(r, 0, sizeof *r);
    r->name = sc->name;
    r->rq = (lb_requantize){
        sc->out,        r->multiplier, r->shift,     sc->bias_range ? r->bias : NULL,
        sc->zero_point, sc->clamp_min, sc->clamp_max};
    r->need_clamp = sc->need_clamp;
    for (size_t c = 0; c < out_c; c++) {
      /* Multipliers across [2^30, 2^31): scale in [0.5, 1), so the shift sets the size. */
      r->multiplier[c] = (int32_t)random_in(rng, INT64_C(1) << 30, (INT64_C(1) << 31) - 1);
      r->shift[c] = shift_for((int)sum_bits - sc->result_bits + (int)random_in(rng, -1, 1));
      r->bias[c] = (int32_t)random_in(rng, -sc->bias_range, sc->bias_range);
    }
  }
}

int lb_test_requant_covered(const lb_test_requant_case *c, size_t rows, size_t out_c,
                            const int64_t *sums) {
  size_t ties_up = 0, ties_down = 0, low = 0, high = 0;
  for (size_t i = 0; i < rows * out_c; i++) {
    const size_t oc = i % out_c;
    const int64_t q = requantized(&c->rq, sums[i], oc);
    low += q == c->rq.clamp_min;
    high += q == c->rq.clamp_max;
    const uint64_t magnitude = sums[i] < 0 ? (uint64_t)0 - (uint64_t)sums[i] : (uint64_t)sums[i];
    const int n = 31 + c->rq.shift[oc];
    if (magnitude < (UINT64_C(1) << 32) && n >= 1 && n <= 63) {
      const uint64_t p = magnitude * (uint64_t)c->rq.multiplier[oc]; /* < 2^63 */
      if ((p & ((UINT64_C(1) << n) - 1)) == UINT64_C(1) << (n - 1)) {
        ties_up += sums[i] > 0;
        ties_down += sums[i] < 0;
      }
    }
  }
  if (c->need_ties && (ties_up == 0 || ties_down == 0)) {
    fprintf(stderr, "FAIL requantize %s: the data gave %zu positive and %zu negative ties\n",
            c->name, ties_up, ties_down);
    return 0;
  }
  if (c->need_clamp && (low == 0 || high == 0)) {
    fprintf(stderr,
            "FAIL requantize %s: the data reached clamp_min %zu times, clamp_max %zu times\n",
            c->name, low, high);
    return 0;
  }
  return 1;
}

void lb_test_float_case_fill(lb_test_float_case *c, size_t out_c, unsigned sum_bits, int with_bias,
                             uint64_t *rng) {
  c->fo = (lb_float_output){c->scale, with_bias ? c->bias : NULL};
  for (size_t oc = 0; oc < out_c; oc++) {
    const float unit = (float)random_in(rng, 1 << 20, (1 << 21) - 1) / (float)(1 << 21);
    const float sign = lb_test_random(rng) & 1 ? -1.0f : 1.0f;
    c->scale[oc] = sign * unit / (float)((uint64_t)1 << (sum_bits < 60 ? sum_bits : 60));
    c->bias[oc] = (float)random_in(rng, -1000, 1000) / 100.0f;
  }
}

typedef struct runner {
  lb_test_run_fn run;
  const void *op, *input, *expected;
  void *output;
  size_t bytes;
  int iterations, ok;
  pthread_barrier_t *start;
} runner;

static void *run_thread(void *arg) {
  runner *r = arg;
  pthread_barrier_wait(r->start); /* both threads inside the operator at the same time */
  r->ok = 1;
  for (int i = 0; i < r->iterations && r->ok; i++) {
    memset(r->output, LB_TEST_SENTINEL, r->bytes);
    const lb_status st = r->run(r->op, r->input, r->output);
    r->ok = st == LB_OK && memcmp(r->output, r->expected, r->bytes) == 0;
    if (!r->ok) {
      fprintf(stderr, "FAIL concurrent run %d: %s\n", i,
              st == LB_OK ? "wrong output" : lb_status_string(st));
    }
  }
  return NULL;
}

int lb_test_two_threads(lb_test_run_fn run, const void *op, const void *const input[2],
                        void *const output[2], const void *const expected[2], size_t bytes,
                        int iterations) {
  pthread_barrier_t start;
  if (pthread_barrier_init(&start, NULL, 2) != 0) {
    return 0;
  }
  runner r[2];
  pthread_t thread[2];
  int started = 0;
  for (int t = 0; t < 2; t++) {
    r[t] = (runner){run, op, input[t], expected[t], output[t], bytes, iterations, 0, &start};
  }
  if (pthread_create(&thread[0], NULL, run_thread, &r[0]) == 0) {
    started = 1;
    run_thread(&r[1]); /* this thread is the second runner */
    pthread_join(thread[0], NULL);
  }
  pthread_barrier_destroy(&start);
  return started && r[0].ok && r[1].ok;
}
